"""A tick of the periodic work costs a fixed number of SQL statements, whatever the number of
compounds and members it handles: counted with SQLAlchemy's ``before_cursor_execute`` for a
small district and a larger one, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from linli.common.clock import FakeClock
from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.community.model import Compound
from linli.moderation.model import RestrictionKind
from linli.questions.model import NewQuestion
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.moderation import ModerationRepository
from linli.storage.repos.questions import QuestionRepository
from linli.verification.model import EffectKind
from tests.unit.moderation.world import build_world
from tests.unit.verification.fixtures import make_world

H = timedelta(hours=1)


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def statements_of(db: Database, work: Callable[[], Awaitable[object]]) -> int:
    with counting(db) as statements:
        await work()
    return len(statements)


async def test_a_verification_tick_costs_the_same_for_2_or_12_compounds(
    db: Database, clock: FakeClock
) -> None:
    """Every kind of due work at once in every compound: members to remove (grace over),
    members to remind, adopted members to ask. A small district and one six times larger,
    with three times more members per compound, cost the same number of statements."""
    w = await make_world(db, clock)
    community = CommunityRepository(db, clock)
    station_id = w.compound.station_id

    async def district(prefix: str, size: int) -> list[Compound]:
        return [await community.create_compound(
            slug=f"{prefix}{i}", name=f"{prefix}{i}", station_id=station_id,
            room_id=f"!{prefix}{i}:hs") for i in range(size)]

    small, large = await district("s", 2), await district("l", 12)
    sizes = {"s": 2, "l": 6}  # members of each kind per compound

    def users(compound: Compound, kind: str) -> list[UserID]:
        return [UserID(f"@{kind}{i}-{compound.slug}:hs") for i in range(sizes[compound.slug[0]])]

    for c in small + large:
        for u in users(c, "early"):
            await w.service.on_join(c, u)
    clock.advance(24 * H)
    for c in small + large:
        for u in users(c, "late"):
            await w.service.on_join(c, u)
        await w.service.adopt(c, users(c, "adopted"))
    clock.advance(49 * H)  # early: grace over; late: 23 h left, the 24 h reminder is due

    results: dict[str, list[Any]] = {}

    async def tick(name: str, compounds: list[Compound]) -> None:
        async with db.unit_of_work():  # as the runtime runs it
            results[name] = await w.service.due_work(compounds)

    counts = {name: await statements_of(db, lambda n=name, c=cs: tick(n, c))  # type: ignore[misc]
              for name, cs in (("small", small), ("large", large))}
    for name, compounds in (("small", small), ("large", large)):
        per_kind = sizes[compounds[0].slug[0]] * len(compounds)
        effects = results[name]
        assert sum(e.kind is EffectKind.KICK for e in effects) == per_kind
        assert sum(e.key == "verification.dm.reminder" for e in effects) == per_kind
        assert sum(e.key == "verification.dm.prompt_adopted" for e in effects) == per_kind
    assert counts["small"] == counts["large"], counts
    entries = await w.audit.recent(limit=1000, action="verification.remove")
    assert len(entries) == 2 * 2 + 12 * 6  # every removal audited
    # Nothing is due any more: the next tick is cheap and hands out nothing.
    async with db.unit_of_work():
        assert await w.service.due_work(small + large) == []


async def test_ending_mutes_costs_the_same_for_3_or_30_of_them(
    db: Database, clock: FakeClock
) -> None:
    world = await build_world(db, clock)
    repo = ModerationRepository(db, clock)
    service = world.service()

    async def mutes(prefix: str, n: int) -> None:
        for i in range(n):
            await repo.add_restriction(
                compound_id=world.compound.id, room_id=RoomID(world.compound.room_id or ""),
                user_id=UserID(f"@{prefix}{i}:hs"), kind=RestrictionKind.MUTE,
                imposed_by=UserID("@wang:hs"), reason="", ends_at=clock.now() + H,
                previous_level=0, muted_level=-1,
            )

    await mutes("a", 3)
    clock.advance(2 * H)
    few = await statements_of(db, service.due)
    await mutes("b", 30)
    clock.advance(2 * H)
    many = await statements_of(db, service.due)
    assert few == many, (few, many)
    audit = [e for e in await service.audit.recent(limit=100)  # type: ignore[attr-defined]
             if e.action == "auto_unmute"]
    assert len(audit) == 33


async def test_a_scoped_tick_costs_the_same_for_a_scope_of_2_or_12_compounds(
    db: Database, clock: FakeClock
) -> None:
    """A process of several ends the mutes, and finds the due questions, of the compounds it
    owns: the scope is one bind parameter of one statement, whatever its size, and what lies
    outside it is left alone."""
    world = await build_world(db, clock)
    community = CommunityRepository(db, clock)
    repo = ModerationRepository(db, clock)
    questions = QuestionRepository(db, clock)
    service = world.service()
    compounds = [await community.create_compound(
        slug=f"c{i}", name=f"c{i}", station_id=world.station.id, room_id=f"!c{i}:hs")
        for i in range(20)]
    for c in compounds:
        for i in range(2):
            await repo.add_restriction(
                compound_id=c.id, room_id=RoomID(c.room_id or ""), user_id=UserID(f"@m{i}:hs"),
                kind=RestrictionKind.MUTE, imposed_by=UserID("@wang:hs"), reason="",
                ends_at=clock.now() + H, previous_level=0, muted_level=-1,
            )
            await questions.add(NewQuestion(
                compound_id=c.id, room_id=RoomID(c.room_id or ""), event_id=EventID(f"$q{i}"),
                asker=UserID(f"@a{i}:hs"), asker_flat=None, text="?", topic="other",
                urgent=False, asked_at=clock.now(), due_at=clock.now() + H,
                escalate_at=clock.now() + 2 * H, expires_at=clock.now() + 9 * H,
            ), clock.now() + H)
    clock.advance(2 * H)
    small = frozenset(c.id for c in compounds[:2])
    large = frozenset(c.id for c in compounds[2:14])
    found: dict[str, list[Any]] = {}

    async def due(name: str, scope: frozenset[CompoundId]) -> None:
        async with db.unit_of_work():  # as the runtime runs it
            found[name] = await service.due(compound_ids=scope)
            found[f"{name} questions"] = await questions.due(clock.now(), 500, scope)

    counts = {name: await statements_of(db, lambda n=name, s=scope: due(n, s))  # type: ignore[misc]
              for name, scope in (("small", small), ("large", large))}
    assert counts["small"] == counts["large"], counts
    lifted = [e for e in await service.audit.recent(limit=100)  # type: ignore[attr-defined]
              if e.action == "auto_unmute"]
    assert sorted(e.compound_id for e in lifted) == sorted([*small, *large] * 2)
    for name, scope in (("small", small), ("large", large)):
        assert {q.compound_id for q in found[f"{name} questions"]} == scope
        assert len(found[f"{name} questions"]) == 2 * len(scope)
    # The compounds of no scope here (another process's) keep their mutes and questions.
    rest = frozenset(c.id for c in compounds[14:])
    assert len(await repo.active_in_compounds(list(rest), RestrictionKind.MUTE)) == 2 * len(rest)
    assert len(await questions.due(clock.now(), 500, rest)) == 2 * len(rest)
