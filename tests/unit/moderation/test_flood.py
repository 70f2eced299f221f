"""Flood control: the pure sliding window, and muting once through the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli.common.clock import FakeClock
from linli.moderation.flood import FloodControl, FloodGuard
from linli.moderation.model import Report, RoomPower, SetPowerLevel, TellUser
from linli.storage.db import Database
from tests.unit.moderation.world import (
    ADMIN,
    BOT,
    OFFICER,
    OFFICERS_ROOM,
    PROPERTY,
    RESIDENT,
    ROOM,
    SETTINGS,
    build_world,
)

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def seconds(*offsets: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in offsets]


@pytest.mark.parametrize(
    ("times", "trips"),
    [
        # 5 allowed within 30 s; the 6th trips, once
        (seconds(0, 1, 2, 3, 4), []),
        (seconds(0, 1, 2, 3, 4, 5), [5]),
        (seconds(0, 1, 2, 3, 4, 5, 6, 7, 8), [5]),
        # steady talkers never trip: at most 5 in any 30 s
        (seconds(*range(0, 300, 7)), []),
        # a burst that straddles the window's edge does not count old messages
        (seconds(0, 1, 2, 31, 32, 33, 34), []),
        (seconds(0, 1, 2, 29, 29.5, 29.9), [5]),
        # after the cool-down (10 min) a new burst trips again
        (seconds(0, 1, 2, 3, 4, 5, 700, 701, 702, 703, 704, 705), [5, 11]),
        # within the cool-down further bursts are ignored
        (seconds(0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 104, 105), [5]),
    ],
)
def test_guard_trips_once_per_burst(times: list[datetime], trips: list[int]) -> None:
    guard = FloodGuard(5, timedelta(seconds=30), timedelta(minutes=10))
    tripped = [i for i, at in enumerate(times) if guard.observe(ROOM, RESIDENT, at) is not None]
    assert tripped == trips


def test_guard_counts_each_user_in_each_room_apart() -> None:
    guard = FloodGuard(2, timedelta(seconds=30), timedelta(minutes=10))
    at = seconds(0, 1, 2)
    assert [guard.observe("!a:hs", "@x:hs", t) for t in at[:2]] == [None, None]
    assert guard.observe("!b:hs", "@x:hs", at[2]) is None
    assert guard.observe("!a:hs", "@y:hs", at[2]) is None
    assert guard.observe("!a:hs", "@x:hs", at[2]) == 3


def test_guard_memory_is_bounded() -> None:
    guard = FloodGuard(5, timedelta(seconds=30), timedelta(minutes=10), max_tracked=100)
    for i in range(10_000):
        guard.observe(ROOM, f"@u{i}:hs", T0 + timedelta(milliseconds=i))
    assert len(guard) == 100
    # idle windows go as time passes, without any cap being reached
    guard.observe(ROOM, "@late:hs", T0 + timedelta(hours=1))
    assert len(guard) == 1


def test_guard_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        FloodGuard(0, timedelta(seconds=30), timedelta(minutes=1))


async def test_flooding_member_is_muted_once_and_officers_told(
    db: Database, clock: FakeClock
) -> None:
    world = await build_world(db, clock)
    service = world.service()
    control = FloodControl(service, lambda: world.directory, SETTINGS)  # 5 per 30 s
    power = RoomPower(10, 0, 10)
    outcomes = [
        await control.on_message(ROOM, RESIDENT, at, power) for at in seconds(*range(20))
    ]
    acting = [o for o in outcomes if o.effects]
    assert len(acting) == 1 and outcomes.index(acting[0]) == 5
    effects = acting[0].effects
    assert effects[0] == SetPowerLevel(ROOM, RESIDENT, 9)
    assert isinstance(effects[1], TellUser) and effects[1].key == "moderation.notice.flood"
    assert isinstance(effects[2], Report) and effects[2].room_id == OFFICERS_ROOM
    assert effects[2].key == "moderation.report.flood_mute" and effects[2].params["count"] == 6

    # a restart forgets the windows; the stored mute still prevents a second one
    fresh = FloodControl(world.service(), lambda: world.directory, SETTINGS)
    again = [await fresh.on_message(ROOM, RESIDENT, at, power) for at in seconds(*range(30, 40))]
    assert all(not o.effects for o in again)
    assert len(await service.active_mutes(world.compound.id)) == 1

    clock.advance(SETTINGS.flood_mute)
    assert (await service.due())[0] == SetPowerLevel(ROOM, RESIDENT, 10, only_if_level=9)


@pytest.mark.parametrize("sender", [OFFICER, PROPERTY, ADMIN, BOT])
async def test_staff_and_the_bot_are_exempt(db: Database, clock: FakeClock, sender: str) -> None:
    world = await build_world(db, clock)
    control = FloodControl(world.service(), lambda: world.directory, SETTINGS)
    for at in seconds(*range(50)):
        assert not (await control.on_message(ROOM, sender, at, RoomPower())).effects
    assert len(control.guard) == 0


async def test_rooms_that_are_not_compounds_are_ignored(db: Database, clock: FakeClock) -> None:
    world = await build_world(db, clock)
    control = FloodControl(world.service(), lambda: world.directory, SETTINGS)
    for at in seconds(*range(50)):
        assert not (await control.on_message(OFFICERS_ROOM, RESIDENT, at, RoomPower())).effects


async def test_observe_then_mute_is_on_message_in_two_steps(
    db: Database, clock: FakeClock
) -> None:
    """The edge counts in memory and reads the room's power levels only on a trip."""
    world = await build_world(db, clock)
    control = FloodControl(world.service(), lambda: world.directory, SETTINGS)
    counts = [control.observe(ROOM, RESIDENT, at) for at in seconds(*range(8))]
    assert counts == [None] * 5 + [6, None, None]
    assert [control.observe(ROOM, s, T0) for s in (OFFICER, BOT)] == [None, None]
    assert control.observe(OFFICERS_ROOM, RESIDENT, T0) is None
    outcome = await control.mute(ROOM, RESIDENT, 6, RoomPower(1, 0, 1))
    assert outcome.effects[0] == SetPowerLevel(ROOM, RESIDENT, 0)
    assert not (await control.mute(ROOM, RESIDENT, 6, RoomPower(1, 0, 1))).effects
    assert not (await control.mute(OFFICERS_ROOM, RESIDENT, 6, RoomPower())).effects
