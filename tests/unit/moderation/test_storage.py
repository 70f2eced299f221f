"""Moderation repositories on SQLite and PostgreSQL: restrictions and warnings."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from linli.common.clock import FakeClock
from linli.common.ids import RoomID, UserID
from linli.moderation.model import RestrictionKind, RoomPower, SetPowerLevel
from linli.storage.db import Database
from linli.storage.repos.moderation import ModerationRepository
from tests.unit.moderation.world import OFFICER, ROOM, build_world


async def test_restrictions_round_trip_and_lift_once(db: Database, clock: FakeClock) -> None:
    world = await build_world(db, clock)
    repo = ModerationRepository(db, clock)
    ends = clock.now() + timedelta(hours=2)
    stored = await repo.add_restriction(
        compound_id=world.compound.id, room_id=RoomID(ROOM), user_id=UserID("@a:hs"),
        kind=RestrictionKind.MUTE, imposed_by=UserID(OFFICER), reason="理由",
        ends_at=ends, previous_level=None, muted_level=-1,
    )
    found = await repo.active(ROOM, "@a:hs", RestrictionKind.MUTE)
    assert found == stored and found.ends_at == ends and found.active
    assert await repo.active(ROOM, "@a:hs", RestrictionKind.BAN) is None
    assert await repo.active("!other:hs", "@a:hs", RestrictionKind.MUTE) is None

    lifted = await repo.lift(stored.id, OFFICER)
    assert lifted is not None and lifted.lifted_at == clock.now() and lifted.lifted_by == OFFICER
    assert await repo.lift(stored.id, OFFICER) is None
    assert await repo.active(ROOM, "@a:hs", RestrictionKind.MUTE) is None
    assert await repo.claim_due(ends + timedelta(days=1), "@bot:hs") == []


async def test_claim_due_hands_each_restriction_out_once(db: Database, clock: FakeClock) -> None:
    """Three services racing on the same database lift every mute exactly once."""
    world = await build_world(db, clock)
    service = world.service()
    for i in range(20):
        await service.mute(
            OFFICER, f"@u{i}:hs", world.compound.id, timedelta(minutes=1 + i % 3), "", RoomPower()
        )
    clock.advance(timedelta(minutes=3))
    results = await asyncio.gather(*(world.service().due() for _ in range(3)))
    lifts = [e for effects in results for e in effects if isinstance(e, SetPowerLevel)]
    assert sorted(e.user_id for e in lifts) == sorted(f"@u{i}:hs" for i in range(20))


async def test_claim_due_works_in_batches(db: Database, clock: FakeClock) -> None:
    world = await build_world(db, clock)
    repo = ModerationRepository(db, clock)
    for i in range(5):
        await repo.add_restriction(
            compound_id=world.compound.id, room_id=RoomID(ROOM), user_id=UserID(f"@b{i}:hs"),
            kind=RestrictionKind.MUTE, imposed_by=UserID(OFFICER), reason="",
            ends_at=clock.now() + timedelta(seconds=i), muted_level=-1,
        )
    later = clock.now() + timedelta(minutes=1)
    first = await repo.claim_due(later, "@bot:hs", limit=3)
    second = await repo.claim_due(later, "@bot:hs", limit=3)
    assert [r.user_id for r in first] == ["@b0:hs", "@b1:hs", "@b2:hs"]
    assert [r.user_id for r in second] == ["@b3:hs", "@b4:hs"]
    assert all(r.lifted_by == "@bot:hs" and r.lifted_at == later for r in first + second)


async def test_open_warnings_window_and_escalation(db: Database, clock: FakeClock) -> None:
    world = await build_world(db, clock)
    repo = ModerationRepository(db, clock)
    cid = world.compound.id
    old = await repo.add_warning(cid, UserID("@a:hs"), UserID(OFFICER), "一")
    clock.advance(timedelta(days=2))
    w2 = await repo.add_warning(cid, UserID("@a:hs"), UserID(OFFICER), "二")
    await repo.add_warning(cid, UserID("@other:hs"), UserID(OFFICER), "别人")
    since = clock.now() - timedelta(days=1)
    assert [w.id for w in await repo.open_warnings(cid, "@a:hs", since)] == [w2.id]
    everything = clock.now() - timedelta(days=30)
    assert [w.id for w in await repo.open_warnings(cid, "@a:hs", everything)] == [old.id, w2.id]
    await repo.add_restriction(
        compound_id=cid, room_id=RoomID(ROOM), user_id=UserID("@a:hs"),
        kind=RestrictionKind.MUTE, imposed_by=UserID(OFFICER), reason="",
        escalate_warnings=[old.id],
    )
    assert [w.id for w in await repo.open_warnings(cid, "@a:hs", everything)] == [w2.id]



async def test_count_active_by_kind_in_one_query(db: Database, clock: FakeClock) -> None:
    world = await build_world(db, clock)
    repo = ModerationRepository(db, clock)
    assert await repo.count_active() == {RestrictionKind.MUTE: 0, RestrictionKind.BAN: 0}
    made = []
    for i, kind in enumerate([RestrictionKind.MUTE] * 3 + [RestrictionKind.BAN]):
        made.append(await repo.add_restriction(
            compound_id=world.compound.id, room_id=RoomID(ROOM), user_id=UserID(f"@c{i}:hs"),
            kind=kind, imposed_by=UserID(OFFICER), reason="",
        ))
    await repo.lift(made[0].id, OFFICER)
    assert await repo.count_active() == {RestrictionKind.MUTE: 2, RestrictionKind.BAN: 1}
