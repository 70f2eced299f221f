"""Sync batches pipelined: the sync loop fetches the next batch while earlier batches' events
are still handled, so one slow event (a direct room opened on a saturated homeserver) holds
back only its room and the people it concerns, not every room of the batches behind it. Each
room's order and each person's order hold across batches; a batch's token is stored only once
it and every batch before it are done; a failure starts again from the stored token and
handles nothing twice; shutdown stores only a complete prefix."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from linli.bot.matrix.gateway import Unreachable
from linli.bot.runtime.lanes import Batch, Pipeline
from linli.bot.runtime.sync import SYNC_TOKEN
from linli.common.clock import FakeClock
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository
from linli.storage.repos.community import CommunityRepository
from tests.unit.runtime.test_concurrent_handling import (
    DM,
    OTHER,
    Recorder,
    join,
    msg,
    until,
)
from tests.unit.runtime.test_event_path import BOT, ROOM, make_bot

THIRD = "!zhuyuan:test"


def pipeline(handle: Recorder, committed: list[str], bound: int = 8,
             stopping: Any = lambda: False) -> Pipeline:
    async def commit(batch: Batch) -> None:
        committed.append(batch.token)

    return Pipeline(handle, commit, bound, stopping, BOT, "!")


async def test_order_per_room_and_per_person_holds_across_batches() -> None:
    handle = Recorder()
    handle.gates["$join"] = asyncio.Event()
    committed: list[str] = []
    pipe = pipeline(handle, committed)
    pipe.submit([(ROOM, join("$join", 10))], "t1")
    await until(lambda: "start $join" in handle.log)
    # The next batch: the room's next event, the resident's code in the direct room, an
    # unrelated room. Only the unrelated room goes on while the join is handled.
    pipe.submit([(ROOM, msg("$next", 20, sender="@neighbour:test")), (DM, msg("$code", 30)),
                 (OTHER, msg("$other", 40, sender="@other:test"))], "t2")
    pipe.submit([(DM, msg("$code2", 50))], "t3")
    await until(lambda: "end $other" in handle.log)
    await asyncio.sleep(0.05)
    assert "start $next" not in handle.log and "start $code" not in handle.log
    assert committed == []  # the first batch is not done: nothing is stored
    handle.gates["$join"].set()
    await pipe.drain()
    assert handle.index("end $join") < handle.index("start $next")
    assert handle.index("end $join") < handle.index("start $code")
    assert handle.index("end $code") < handle.index("start $code2")
    assert committed == ["t1", "t2", "t3"]
    assert pipe.queued == 0 and not pipe.queued_ids


async def test_tokens_are_committed_in_order_once_everything_before_is_done() -> None:
    handle = Recorder()
    handle.gates["$slow"] = asyncio.Event()
    committed: list[str] = []
    pipe = pipeline(handle, committed)
    pipe.submit([(ROOM, msg("$slow", 10))], "t1")
    pipe.submit([], "t2")  # a quiet batch waits its turn too
    pipe.submit([(OTHER, msg("$quick", 20, sender="@other:test"))], "t3")
    await until(lambda: "end $quick" in handle.log)
    await asyncio.sleep(0.02)
    assert committed == []
    handle.gates["$slow"].set()
    await pipe.drain()
    assert committed == ["t1", "t2", "t3"]


async def test_shutdown_stores_only_a_complete_prefix() -> None:
    handle = Recorder()
    handle.gates["$a"] = asyncio.Event()
    handle.gates["$c"] = asyncio.Event()
    committed: list[str] = []
    stop = False
    pipe = pipeline(handle, committed, stopping=lambda: stop)
    pipe.submit([(ROOM, msg("$a", 10))], "t1")
    pipe.submit([(OTHER, msg("$b", 20, sender="@b:test"))], "t2")
    pipe.submit([(THIRD, msg("$c", 30, sender="@c:test"))], "t3")
    pipe.submit([(ROOM, msg("$d", 40, sender="@d:test"))], "t4")  # behind $a in its room
    await until(lambda: "end $b" in handle.log and "start $c" in handle.log)
    stop = True
    draining = asyncio.create_task(pipe.drain())
    await asyncio.sleep(0.02)
    assert not draining.done()  # waits for the events in flight
    handle.gates["$a"].set()
    handle.gates["$c"].set()
    await draining
    assert "start $d" not in handle.log
    assert committed == ["t1", "t2", "t3"]  # not t4: its event was not handled


async def test_a_failure_pauses_and_commits_only_what_is_complete() -> None:
    handle = Recorder()
    handle.gates["$a"] = asyncio.Event()
    handle.fail["$b"] = Unreachable("send", "refused")
    committed: list[str] = []
    pipe = pipeline(handle, committed)
    pipe.submit([(ROOM, msg("$a", 10))], "t1")
    pipe.submit([(OTHER, msg("$b", 20, sender="@b:test"))], "t2")
    await until(lambda: pipe.failed.is_set())
    pipe.submit([(THIRD, msg("$c", 30, sender="@c:test"))], "t3")  # fetched meanwhile
    handle.gates["$a"].set()
    try:
        await pipe.drain()
    except Unreachable:
        pass
    else:
        raise AssertionError("the failure is raised")
    assert "end $a" in handle.log and "start $c" not in handle.log
    assert committed == ["t1"]


def response(next_batch: str, timeline: dict[str, list[Any]]) -> Any:
    join_rooms = {room: SimpleNamespace(
        timeline=SimpleNamespace(events=events, limited=False, prev_batch=None), state=[])
        for room, events in timeline.items()}
    return SimpleNamespace(next_batch=next_batch, rooms=SimpleNamespace(
        invite={}, leave={}, join=join_rooms))


async def sync_loop_bot(db: Database, clock: FakeClock, tmp_path: Path,
                        responses: dict[str, Any]) -> tuple[Any, Any, list[str], Recorder]:
    """The bot's own sync loop and event path over a fake homeserver: ``responses`` by the
    token they are fetched with; other tokens wait like a long poll with nothing new."""
    bot, gateway, _ = await make_bot(db, clock, tmp_path)
    community = CommunityRepository(db, clock)
    station = await community.station("xinhua")
    await community.create_compound(slug="lanyuan", name="兰园", station_id=station.id,
                                    room_id=OTHER)
    bot.config = bot.config.model_copy(update={"matrix": bot.config.matrix.model_copy(
        update={"reconnect_max_delay": timedelta(milliseconds=50)})})
    sinces: list[str] = []

    async def sync_call(since: str | None, initial: bool = False) -> Any:
        sinces.append(str(since))
        if since in responses:
            return responses[since]
        await asyncio.Event().wait()

    bot._sync_call = sync_call
    recorder = Recorder()
    real_handle = bot.handle

    async def handle(room_id: str, event: Any) -> None:
        recorder.log.append(f"start {event.event_id}")
        if event.event_id in recorder.gates:
            await recorder.gates[event.event_id].wait()
        await real_handle(room_id, event)
        recorder.log.append(f"end {event.event_id}")

    bot.handle = handle
    await BotStateRepository(db, clock).set(SYNC_TOKEN, "s0")
    return bot, gateway, sinces, recorder


async def test_a_later_batch_is_handled_while_an_earlier_slow_event_runs(
    db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    """The sync loop does not wait for the slowest event of a batch before the next sync:
    another room's event of the next batch is handled meanwhile; the stored token stays the
    one before the slow event until it is done."""
    bot, _, sinces, recorder = await sync_loop_bot(db, clock, tmp_path, {
        "s0": response("s1", {ROOM: [msg("$slow", 10)]}),
        "s1": response("s2", {OTHER: [msg("$quick", 20, sender="@n:test")]}),
    })
    recorder.gates["$slow"] = asyncio.Event()
    state = BotStateRepository(db, clock)
    loop = asyncio.create_task(bot._sync_loop())
    try:
        await until(lambda: "end $quick" in recorder.log)
        assert "end $slow" not in recorder.log
        assert await state.done_events(["$quick", "$slow"]) == {"$quick"}
        assert await state.get(SYNC_TOKEN) == "s0"
        recorder.gates["$slow"].set()
        await until(lambda: "end $slow" in recorder.log)
        for _ in range(200):
            if await state.get(SYNC_TOKEN) == "s2":
                break
            await asyncio.sleep(0.005)
        assert await state.get(SYNC_TOKEN) == "s2"
        assert sinces[:3] == ["s0", "s1", "s2"]
    finally:
        bot.stop_event.set()
        recorder.gates["$slow"].set()
        await loop


async def test_a_failure_starts_again_from_the_token_before_it_and_repeats_nothing(
    db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    bot, gateway, sinces, recorder = await sync_loop_bot(db, clock, tmp_path, {
        "s0": response("s1", {ROOM: [msg("$a1", 10, sender="@a:test")]}),
        "s1": response("s2", {OTHER: [msg("$b1", 20, sender="@b:test")],
                              ROOM: [msg("$a2", 21, sender="@a:test")]}),
        "s2": response("s3", {OTHER: [msg("$b2", 30, sender="@b:test")]}),
    })
    real_send = gateway.send_text
    failed = []

    async def send(room_id: str, body: str, *a: Any, **k: Any) -> str:
        if room_id == OTHER and not failed:
            failed.append(room_id)
            raise Unreachable("send", "refused")
        return await real_send(room_id, body, *a, **k)

    gateway.send_text = send
    gateway.sent = []
    state = BotStateRepository(db, clock)
    loop = asyncio.create_task(bot._sync_loop())
    try:
        for _ in range(1000):
            if await state.get(SYNC_TOKEN) == "s3":
                break
            await asyncio.sleep(0.01)
        assert await state.get(SYNC_TOKEN) == "s3"
    finally:
        bot.stop_event.set()
        await loop
    assert bot.stats.handling_failures == 1
    # Batch s1's failure: fetched again from s1 (batch s0 was done and stored), not from s0.
    again = sinces.index("s1", sinces.index("s1") + 1)
    assert "s0" not in sinces[again:]
    # Each event's two messages went out once: $a2 (done before the failure or after) and
    # $b1 (rolled back, then handled) were not repeated; $a1 was not handled again.
    assert [room for room, _, _ in gateway.sent].count(ROOM) == 4
    assert [room for room, _, _ in gateway.sent].count(OTHER) == 4
    assert recorder.log.count("end $a1") == 1 and recorder.log.count("end $a2") == 1
    assert await state.done_events(["$a1", "$a2", "$b1", "$b2"]) == {"$a1", "$a2", "$b1",
                                                                     "$b2"}


async def test_shutdown_of_the_loop_stores_only_a_complete_prefix(
    db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    bot, _, _, recorder = await sync_loop_bot(db, clock, tmp_path, {
        "s0": response("s1", {ROOM: [msg("$slow", 10)]}),
        "s1": response("s2", {OTHER: [msg("$quick", 20, sender="@n:test")]}),
        "s2": response("s3", {ROOM: [msg("$behind", 30, sender="@n2:test")]}),
    })
    recorder.gates["$slow"] = asyncio.Event()
    state = BotStateRepository(db, clock)
    loop = asyncio.create_task(bot._sync_loop())
    await until(lambda: "end $quick" in recorder.log)
    await asyncio.sleep(0.05)  # the third batch is queued behind $slow
    bot.stop_event.set()
    await asyncio.sleep(0.02)
    assert not loop.done()  # waits for the event in flight
    recorder.gates["$slow"].set()
    await loop
    assert "start $behind" not in recorder.log
    assert await state.get(SYNC_TOKEN) == "s2"  # batches s0 and s1 done; s2's event was not
