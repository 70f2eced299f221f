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
from linli.common.ids import RoomID, UserID
from linli.community.model import Compound
from linli.moderation.model import RestrictionKind
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.moderation import ModerationRepository
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
