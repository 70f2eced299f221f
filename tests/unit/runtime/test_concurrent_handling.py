"""Rooms handled concurrently: rooms side by side within a bound, each room in order, what a
person did in one room before what they do next in another (a join before the code sent in
the direct room), a failure pausing the batch without losing what finished, shutdown waiting
for the events in flight; periodic work in tasks of its own; units of work of one process
taking turns on SQLite and running side by side on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nio import RoomMemberEvent, RoomMessageText
from sqlalchemy import event as sa_event

from linli.bot.commands.router import Command
from linli.bot.matrix.gateway import Unreachable
from linli.bot.runtime import EventEnv
from linli.bot.runtime.lanes import causal_order, people, plan, run
from linli.bot.runtime.sync import SYNC_TOKEN
from linli.common.clock import FakeClock
from linli.common.events import ChatEvent
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository
from linli.storage.repos.community import CommunityRepository
from tests.unit.runtime.test_event_path import BOT, ROOM, make_bot

DM = "!dm-resident:test"
OTHER = "!lanyuan:test"
RESIDENT = "@resident:test"


def msg(event_id: str, ts: int, sender: str = RESIDENT, body: str = "hello") -> RoomMessageText:
    return RoomMessageText.from_dict({
        "type": "m.room.message", "event_id": event_id, "sender": sender,
        "origin_server_ts": ts, "content": {"msgtype": "m.text", "body": body},
    })


def join(event_id: str, ts: int, user: str = RESIDENT) -> RoomMemberEvent:
    return RoomMemberEvent.from_dict({
        "type": "m.room.member", "event_id": event_id, "sender": user, "state_key": user,
        "origin_server_ts": ts, "content": {"membership": "join"},
    })


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met in time")


class Recorder:
    """A handle function that records starts and ends, waits as told and fails as told."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.running = 0
        self.peak = 0
        self.gates: dict[str, asyncio.Event] = {}
        self.fail: dict[str, Exception] = {}
        self.delay = 0.01

    async def __call__(self, room_id: str, event: Any) -> None:
        eid = event.event_id
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.log.append(f"start {eid}")
        try:
            if eid in self.gates:
                await self.gates[eid].wait()
            else:
                await asyncio.sleep(self.delay)
            if eid in self.fail:
                raise self.fail[eid]
        finally:
            self.running -= 1
        self.log.append(f"end {eid}")

    def index(self, entry: str) -> int:
        return self.log.index(entry)


def lanes_of(rooms: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    return plan(causal_order(rooms), BOT, "!")


async def test_rooms_are_handled_side_by_side_and_each_room_in_order() -> None:
    rooms = [(f"!room{i}:test", [msg(f"$r{i}e{j}", 10 * j + i, sender=f"@u{i}:test")
                                 for j in range(4)]) for i in range(5)]
    handle = Recorder()
    assert await run(lanes_of(rooms), handle, bound=5, stopping=lambda: False)
    assert handle.peak == 5  # every room at once
    for i in range(5):
        mine = [e for e in handle.log if e.endswith(tuple(f"$r{i}e{j}" for j in range(4)))]
        # One room: one event after the other, in the room's order, never two at once.
        assert mine == [f"{what} $r{i}e{j}" for j in range(4) for what in ("start", "end")]


async def test_the_bound_is_respected() -> None:
    rooms = [(f"!room{i}:test", [msg(f"$e{i}", i, sender=f"@u{i}:test")]) for i in range(12)]
    handle = Recorder()
    assert await run(lanes_of(rooms), handle, bound=3, stopping=lambda: False)
    assert handle.peak == 3
    assert len([e for e in handle.log if e.startswith("end")]) == 12


async def test_a_join_is_done_before_the_code_sent_in_the_direct_room() -> None:
    """The direct room is listed first and the join is slow: the code waits for the join's
    unit of work; an unrelated room goes on meanwhile."""
    rooms = [
        (DM, [msg("$code", 30)]),
        (ROOM, [join("$join", 10), msg("$question", 40, sender="@other:test")]),
        (OTHER, [msg("$unrelated", 20, sender="@neighbour:test")]),
    ]
    handle = Recorder()
    handle.gates["$join"] = asyncio.Event()
    task = asyncio.create_task(run(lanes_of(rooms), handle, bound=8, stopping=lambda: False))
    await until(lambda: "end $unrelated" in handle.log)
    assert "start $code" not in handle.log  # waiting for the join
    handle.gates["$join"].set()
    assert await task
    assert handle.index("end $join") < handle.index("start $code")
    assert handle.index("end $join") < handle.index("start $question")


def test_whom_an_event_concerns() -> None:
    assert people(msg("$m", 1), BOT, "!") == {RESIDENT}
    assert people(join("$j", 1), BOT, "!") == {RESIDENT}
    kick = RoomMemberEvent.from_dict({
        "type": "m.room.member", "event_id": "$k", "sender": BOT, "state_key": RESIDENT,
        "origin_server_ts": 1, "content": {"membership": "leave"},
    })
    assert people(kick, BOT, "!") == {RESIDENT}  # the bot's kick concerns the resident
    verify = msg("$v", 1, sender="@officer:test", body="!verify @resident:test 3-2-501 张三")
    assert people(verify, BOT, "!") == {"@officer:test", RESIDENT}
    chat = msg("$c", 1, sender="@officer:test", body="hello @resident:test")
    assert people(chat, BOT, "!") == {"@officer:test"}  # only commands name people
    # The bot's own messages concern nobody: a fan-out coming back chains no rooms.
    assert people(msg("$own", 1, sender=BOT, body="!x @resident:test"), BOT, "!") == set()


async def test_an_officers_command_about_a_resident_comes_before_what_they_do_next() -> None:
    rooms = [
        (ROOM, [msg("$after", 20)]),
        ("!officers:test", [msg("$verify", 10, sender="@officer:test",
                                body="!verify @resident:test 3-2-501 张三")]),
    ]
    handle = Recorder()
    assert await run(lanes_of(rooms), handle, bound=8, stopping=lambda: False)
    assert handle.index("end $verify") < handle.index("start $after")


async def test_a_failure_pauses_the_batch_and_what_finished_stays_finished() -> None:
    rooms = [
        (ROOM, [join("$join", 10), msg("$later-in-room", 50, sender="@other:test")]),
        (DM, [msg("$code", 30)]),  # depends on the failed join: not started
        (OTHER, [msg("$slow", 11, sender="@neighbour:test"),
                 msg("$not-started", 60, sender="@neighbour:test")]),
    ]
    handle = Recorder()
    handle.gates["$slow"] = asyncio.Event()
    handle.gates["$join"] = asyncio.Event()
    handle.fail["$join"] = Unreachable("send", "refused")
    task = asyncio.create_task(run(lanes_of(rooms), handle, bound=8, stopping=lambda: False))
    await until(lambda: "start $slow" in handle.log and "start $join" in handle.log)
    handle.gates["$join"].set()  # fails while $slow is in flight
    await asyncio.sleep(0.02)
    assert not task.done()  # waits for the event in flight
    handle.gates["$slow"].set()
    with pytest.raises(Unreachable):
        await task
    assert "end $slow" in handle.log  # finished, not lost
    for never in ("$code", "$later-in-room", "$not-started"):
        assert f"start {never}" not in handle.log


async def test_shutdown_waits_for_the_events_in_flight_and_starts_no_more() -> None:
    rooms = [
        (ROOM, [msg("$first", 10), msg("$second", 20)]),
        (OTHER, [msg("$other", 15, sender="@neighbour:test")]),
    ]
    handle = Recorder()
    handle.gates["$first"] = asyncio.Event()
    handle.gates["$other"] = asyncio.Event()
    stopping = False
    task = asyncio.create_task(run(lanes_of(rooms), handle, bound=8, stopping=lambda: stopping))
    await until(lambda: "start $other" in handle.log and "start $first" in handle.log)
    stopping = True
    handle.gates["$other"].set()
    await asyncio.sleep(0.02)
    assert not task.done()
    handle.gates["$first"].set()
    assert await task is False  # not everything was handled: the token is not stored
    assert handle.log.count("end $first") == 1 and "end $other" in handle.log
    assert "start $second" not in handle.log


async def test_a_batch_with_a_failing_room_keeps_the_other_rooms_done_and_retries(
    db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    """Through the bot's own event path: a passing failure in one room rolls back that event
    only; the other room's events are done; the token is stored only once every event is."""
    bot, gateway, _ = await make_bot(db, clock, tmp_path)
    community = CommunityRepository(db, clock)
    station = await community.station("xinhua")
    await community.create_compound(slug="lanyuan", name="兰园", station_id=station.id,
                                    room_id=OTHER)
    state = BotStateRepository(db, clock)
    real_send = gateway.send_text

    async def send(room_id: str, body: str, *a: Any, **k: Any) -> str:
        if room_id == ROOM and failing:
            await asyncio.sleep(0.02)  # the other room is in flight meanwhile
            raise Unreachable("send", "refused")
        return await real_send(room_id, body, *a, **k)

    gateway.send_text = send  # type: ignore[method-assign]
    failing = True

    def response() -> Any:
        timeline = {ROOM: [msg("$a1", 10), msg("$a2", 30)],
                    OTHER: [msg("$b1", 11, sender="@n:test"), msg("$b2", 12, sender="@n:test")]}
        join_rooms = {room: SimpleNamespace(
            timeline=SimpleNamespace(events=events, limited=False, prev_batch=None), state=[])
            for room, events in timeline.items()}
        return SimpleNamespace(next_batch="s2", rooms=SimpleNamespace(
            invite={}, leave={}, join=join_rooms))

    await state.set(SYNC_TOKEN, "s1")
    with pytest.raises(Unreachable):
        await bot.process(response(), "s1")
    done = await state.done_events(["$a1", "$a2", "$b1", "$b2"])
    # $b1 was in flight when $a1 failed: done. $b2 came after the failure on SQLite (units
    # take turns) and is left for the retry; on PostgreSQL it finished before.
    assert {"$b1"} <= done <= {"$b1", "$b2"}
    assert await state.get("decided:$a1") is None  # rolled back with its unit
    assert await state.get(SYNC_TOKEN) == "s1"
    failing = False
    gateway.sent = []
    await bot.process(response(), "s1")
    assert await state.done_events(["$a1", "$a2", "$b1", "$b2"]) == {"$a1", "$a2", "$b1", "$b2"}
    # Only what had not been done: the failed room's two events (each sends two messages).
    assert [room for room, _, _ in gateway.sent].count(ROOM) == 4
    assert len(gateway.sent) == 4 + 2 * (len(done) == 1)
    assert await state.get(SYNC_TOKEN) == "s2"


class SlowTick:
    """A feature whose periodic work waits until told (a 2,000-room fan-out)."""

    def __init__(self, name: str, gate: asyncio.Event | None = None) -> None:
        self.name = name
        self.gate = gate
        self.ticks = 0
        self.finished = 0

    def commands(self) -> Iterable[Command]:
        return []

    async def start(self) -> None:
        return None

    async def on_event(self, event: ChatEvent, env: EventEnv) -> None:
        return None

    async def tick(self, now: datetime) -> None:
        self.ticks += 1
        if self.gate is not None:
            await self.gate.wait()
        self.finished += 1


async def test_periodic_work_runs_in_tasks_of_its_own_and_shutdown_waits_for_it(
    sqlite_db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    bot, _, _ = await make_bot(sqlite_db, clock, tmp_path)
    bot.config = bot.config.model_copy(update={"bot": bot.config.bot.model_copy(
        update={"tick_interval": bot.config.bot.tick_interval / 1000})})
    gate = asyncio.Event()
    fanout, reminders = SlowTick("broadcasts", gate), SlowTick("verification")
    bot.add_feature(fanout)
    bot.add_feature(reminders)
    bot._tasks = bot._periodic_tasks()
    await until(lambda: reminders.ticks >= 3)  # reminders go on while the fan-out runs
    assert fanout.ticks == 1 and fanout.finished == 0
    stopping = asyncio.create_task(bot.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waits for the fan-out in flight
    gate.set()
    await stopping
    assert fanout.finished == 1


async def test_units_of_one_process_take_turns_on_sqlite_without_database_locked(
    sqlite_db: Database, clock: FakeClock,
) -> None:
    """Each unit holds SQLite's write lock across a slow effect; together they hold it far
    longer than SQLite's busy timeout (made short here), and none fails."""
    await sqlite_db.engine.dispose()
    sa_event.listen(sqlite_db.engine.sync_engine, "connect",
                    lambda conn, _: conn.execute("PRAGMA busy_timeout=50"))
    state = BotStateRepository(sqlite_db, clock)

    async def unit(n: int) -> None:
        async with sqlite_db.unit_of_work():
            await state.mark_done(f"$e{n}")
            await asyncio.sleep(0.03)  # an effect on the homeserver
            async with sqlite_db.transaction():  # nested: a savepoint, same turn
                await state.set(f"k{n}", "v")

    async def plain(n: int) -> None:  # a write outside any unit (a bulletin's ledger)
        await asyncio.sleep(0.01 * n)
        # Nested in the same task: the same turn, no deadlock.
        async with sqlite_db.transaction(), sqlite_db.transaction():
            await state.set(f"plain{n}", "v")

    await asyncio.gather(*(unit(n) for n in range(8)), *(plain(n) for n in range(4)))
    assert await state.done_events([f"$e{n}" for n in range(8)]) == {f"$e{n}" for n in range(8)}
    assert [await state.get(f"plain{n}") for n in range(4)] == ["v"] * 4


async def test_units_run_side_by_side_on_postgresql(pg_db: Database, clock: FakeClock) -> None:
    """On PostgreSQL units of work run side by side (SQLite's take turns: the test above)."""
    db = pg_db
    state = BotStateRepository(db, clock)
    inside = 0
    peak = 0

    async def unit(n: int) -> None:
        nonlocal inside, peak
        async with db.unit_of_work():
            inside += 1
            peak = max(peak, inside)
            await state.mark_done(f"$e{n}")
            await asyncio.sleep(0.05)
            inside -= 1

    await asyncio.gather(*(unit(n) for n in range(4)))
    assert peak == 4
    assert len(await state.done_events([f"$e{n}" for n in range(4)])) == 4


async def test_the_sync_filter_lazy_loads_members_and_keeps_membership_events(
    sqlite_db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    bot, _, _ = await make_bot(sqlite_db, clock, tmp_path)
    for initial in (True, False):
        room = bot.sync_filter(initial)["room"]
        assert room["state"]["lazy_load_members"] is True
        assert room["timeline"]["lazy_load_members"] is True
        # Membership events still arrive in the timeline: no type filter drops them.
        assert "types" not in room["timeline"] and "not_types" not in room["timeline"]
