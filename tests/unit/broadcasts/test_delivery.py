"""The delivery ledger and fan-out on SQLite and PostgreSQL: exactly once across crashes and
racing processes, failures, rate limits, catch-up, series, urgent notices, the lease."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from linli.broadcasts.delivery import txn_id
from linli.broadcasts.model import DeliveryState, OccurrenceOutcome, Report
from linli.broadcasts.render import render_reply
from linli.common.clock import FakeClock
from linli.storage.db import Database
from tests.unit.broadcasts.world import (
    OFFICER,
    OFFICERS_ROOM,
    RESIDENT,
    Crash,
    FakeHomeserver,
    World,
    make_world,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def add(world: World, spec: str) -> int:
    result = await world.commands().add(OFFICER, spec, world.station_id)
    return int(result.lines[0].params["id"])


def one_report(reports: list[Report]) -> Report:
    assert len(reports) == 1, reports
    return reports[0]


async def test_once_bulletin_posts_each_room_once_with_placeholders(
    db: Database, clock: FakeClock
) -> None:
    world = await make_world(db, clock)
    number = await add(
        world,
        "station:xinhua once 2026-03-02T10:00 | 防诈骗 | "
        "{compound}的居民：{officer}提醒您 **注意**（{date}）",
    )
    service = world.service()
    assert await service.tick() == []
    assert await service.next_wakeup() == utc(2026, 3, 2, 2, 0)

    clock.set(utc(2026, 3, 2, 2, 0))
    reports = await service.tick()

    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}
    # Rooms are sent to concurrently, so look the first compound's post up by its room.
    message = next(m for r, m in world.homeserver.posts if r == world.rooms[0])
    assert message.body == "防诈骗\n\n小区00的居民：王警官提醒您 **注意**（2026-03-02）"
    assert "<strong>注意</strong>" in message.formatted_body
    assert "<p><strong>防诈骗</strong></p>" in message.formatted_body
    report = one_report(reports)
    assert report.room_id == OFFICERS_ROOM
    assert report.reply.key == "broadcasts.report"
    assert (report.reply.params["delivered"], report.reply.params["late"]) == (3, 0)
    line = render_reply(world.translator, "zh-CN", report.reply)
    assert "按时送达 3 个群" in line and "失败 0 个" in line

    rows = await world.store.deliveries(number, utc(2026, 3, 2, 2, 0))
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}
    assert all(r.event_id for r in rows)
    assert {r.txn_id for r in rows} == {
        txn_id(number, utc(2026, 3, 2, 2, 0), r) for r in world.rooms
    }

    clock.advance(timedelta(days=1))
    assert await service.tick() == []
    assert len(world.homeserver.posts) == 3
    bulletin = await world.store.get_bulletin(number)
    assert bulletin is not None and bulletin.next_at is None and bulletin.fired_count == 1


async def test_crash_mid_fan_out_and_restart_post_each_room_exactly_once(
    db: Database, clock: FakeClock
) -> None:
    world = await make_world(db, clock, rooms=5)
    number = await add(world, "station:xinhua once 2026-03-02T10:00 | 提示 | 正文")
    clock.set(utc(2026, 3, 2, 2, 0))
    world.homeserver.crash_after_posts = 3
    first = world.service("proc-a", max_concurrent_sends=1)
    try:
        await first.tick()
    except* Crash:
        pass
    else:  # pragma: no cover - the fake must crash
        pytest.fail("the first process should have crashed")
    assert len(world.homeserver.posts) == 3
    rows = await world.store.deliveries(number, utc(2026, 3, 2, 2, 0))
    assert [r.state for r in rows].count(DeliveryState.DELIVERED) == 2  # third never recorded

    # The restarted process (a new owner id) waits out the dead one's lease and claims.
    second = world.service("proc-b")
    assert await second.tick() == []
    assert len(world.homeserver.posts) == 3
    clock.advance(world.settings.lease_ttl + timedelta(seconds=1))
    reports = await second.tick()

    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}
    crashed = rows[2]
    assert world.homeserver.calls[crashed.txn_id] == 2  # resent with the same txn id
    report = one_report(reports)
    assert report.reply.params["delivered"] == 5
    rows = await world.store.deliveries(number, utc(2026, 3, 2, 2, 0))
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}
    assert await second.tick() == []
    assert len(world.homeserver.posts) == 5


async def test_two_processes_racing_do_not_double_send(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock, rooms=8)
    await add(world, "station:xinhua once 2026-03-02T10:00 | 提示 | 正文")
    now = utc(2026, 3, 2, 2, 0)
    clock.set(now)
    a = world.service("proc-a", max_concurrent_sends=4)
    b = world.service("proc-b", max_concurrent_sends=4)

    decided_a, decided_b = await asyncio.gather(a.due(now), b.due(now))
    assert len(decided_a) + len(decided_b) == 1  # one process decides the occurrence
    bulletin, occurrence = (decided_a or decided_b)[0]

    reports_a, reports_b = await asyncio.gather(
        a.fan_out(bulletin, occurrence), b.fan_out(bulletin, occurrence)
    )
    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}
    assert set(world.homeserver.calls.values()) == {1}  # claims: no txn was even sent twice
    assert len(reports_a) + len(reports_b) == 1


async def test_a_permanently_failing_room_is_reported_and_the_rest_delivered(
    db: Database, clock: FakeClock
) -> None:
    world = await make_world(db, clock)
    number = await add(world, "station:xinhua once 2026-03-02T10:00 | 提示 | 正文")
    world.homeserver.permanent.add(world.rooms[1])
    clock.set(utc(2026, 3, 2, 2, 0))
    service = world.service()

    report = one_report(await service.tick())

    assert world.homeserver.rooms_posted() == {world.rooms[0]: 1, world.rooms[2]: 1}
    assert report.reply.params["failed"] == 1
    assert "小区01" in render_reply(world.translator, "zh-CN", report.reply)
    rows = {r.room_id: r for r in await world.store.deliveries(number, utc(2026, 3, 2, 2, 0))}
    assert rows[world.rooms[1]].state is DeliveryState.FAILED
    assert rows[world.rooms[1]].error == "M_FORBIDDEN"
    assert world.homeserver.calls[rows[world.rooms[1]].txn_id] == 1  # not retried
    assert await service.tick() == []
    assert world.homeserver.calls[rows[world.rooms[1]].txn_id] == 1


async def test_rate_limit_waits_retry_after_then_delivers(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock)
    number = await add(world, "station:xinhua once 2026-03-02T10:00 | 提示 | 正文")
    world.homeserver.rate_limit_once.add(world.rooms[0])
    clock.set(utc(2026, 3, 2, 2, 0))

    report = one_report(await world.service().tick())

    assert world.sleeps == [7.0]
    assert report.reply.params["delivered"] == 3
    rows = await world.store.deliveries(number, utc(2026, 3, 2, 2, 0))
    assert world.homeserver.calls[rows[0].txn_id] == 2
    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}


async def test_temporary_failures_are_retried_then_given_up(
    db: Database, clock: FakeClock
) -> None:
    world = await make_world(db, clock)
    number = await add(world, "c00,c01 once 2026-03-02T10:00 | 提示 | 正文")
    world.homeserver.temporary.add(world.rooms[0])
    clock.set(utc(2026, 3, 2, 2, 0))

    report = one_report(await world.service(max_attempts=3).tick())

    assert world.sleeps == [2.0, 4.0]  # exponential backoff, through the injected sleep
    rows = {r.room_id: r for r in await world.store.deliveries(number, utc(2026, 3, 2, 2, 0))}
    assert world.homeserver.calls[rows[world.rooms[0]].txn_id] == 3
    assert rows[world.rooms[0]].state is DeliveryState.FAILED
    assert rows[world.rooms[0]].error == "gave up: timeout"
    assert rows[world.rooms[1]].state is DeliveryState.DELIVERED
    assert report.reply.params["failed"] == 1


async def test_catch_up_posts_the_latest_missed_occurrence_once_within_the_window(
    db: Database, clock: FakeClock
) -> None:
    world = await make_world(db, clock)
    number = await add(world, 'station:xinhua cron "0 * * * *" | 巡逻提示 | 正文')
    # Down from 09:00 to 12:30 (Shanghai): 10:00, 11:00 and 12:00 were missed.
    clock.set(utc(2026, 3, 2, 4, 30))

    report = one_report(await world.service().tick())

    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}
    [occurrence] = await world.store.occurrences(number)
    assert occurrence.at == utc(2026, 3, 2, 4, 0)
    assert occurrence.outcome is OccurrenceOutcome.FIRED
    assert occurrence.late and occurrence.coalesced == 2
    assert (report.reply.params["delivered"], report.reply.params["late"]) == (0, 3)
    assert "2" in render_reply(world.translator, "en", report.reply)
    bulletin = await world.store.get_bulletin(number)
    assert bulletin is not None and bulletin.next_at == utc(2026, 3, 2, 5, 0)


async def test_catch_up_skips_an_occurrence_missed_beyond_the_window(
    db: Database, clock: FakeClock
) -> None:
    world = await make_world(db, clock)
    number = await add(world, 'station:xinhua cron "0 9 * * *" | 每日提示 | 正文')
    clock.set(utc(2026, 3, 3, 3, 0))  # 11:00 the next day: 2 h after 09:00, window 1 h

    report = one_report(await world.service().tick())

    assert world.homeserver.posts == []
    [occurrence] = await world.store.occurrences(number)
    assert occurrence.outcome is OccurrenceOutcome.SKIPPED
    assert occurrence.at == utc(2026, 3, 3, 1, 0)
    assert report.room_id == OFFICERS_ROOM
    assert report.reply.key == "broadcasts.report.skipped"
    assert "1小时" in render_reply(world.translator, "zh-CN", report.reply)
    bulletin = await world.store.get_bulletin(number)
    assert bulletin is not None
    assert bulletin.next_at == utc(2026, 3, 4, 1, 0) and bulletin.fired_count == 0


async def test_a_long_outage_is_coalesced_into_one_late_post(
    db: Database, clock: FakeClock
) -> None:
    world = await make_world(db, clock)
    number = await add(world, 'station:xinhua cron "0 9 * * *" | 每日提示 | 正文')
    clock.set(utc(2026, 3, 6, 1, 20))  # three days down; today's 09:00 is 20 min ago

    await world.service().tick()

    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}
    [occurrence] = await world.store.occurrences(number)
    assert occurrence.at == utc(2026, 3, 6, 1, 0) and occurrence.coalesced == 3


async def test_catch_up_window_is_configurable(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock)
    number = await add(world, 'station:xinhua cron "0 9 * * *" | 每日提示 | 正文')
    clock.set(utc(2026, 3, 3, 3, 0))  # 2 h late

    await world.service(catch_up_window=timedelta(hours=3)).tick()

    [occurrence] = await world.store.occurrences(number)
    assert occurrence.outcome is OccurrenceOutcome.FIRED and occurrence.late
    assert len(world.homeserver.posts) == 3


async def test_a_series_posts_its_tips_in_turn(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock, rooms=1)
    await add(
        world,
        "c00 every 1d from 2026-03-03 09:00 series | 防诈骗 | 第一条 || 第二条 || 第三条",
    )
    service = world.service()
    for day in range(4):
        clock.set(utc(2026, 3, 3 + day, 1, 0))
        await service.tick()
    bodies = [message.body.split("\n\n")[1] for _, message in world.homeserver.posts]
    assert bodies == ["第一条", "第二条", "第三条", "第一条"]


async def test_urgent_notice_reaches_every_room_once(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock, rooms=20)
    commands = world.commands()

    result = await commands.notice(
        OFFICER, "station:xinhua", "燃气泄漏，请勿使用明火。", mention_room=True
    )

    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}
    _, message = world.homeserver.posts[0]
    assert message.mention_room
    assert message.body.startswith("【紧急通知】") and "燃气泄漏" in message.body
    [report] = result.reports
    assert report.reply.key == "broadcasts.report.notice"
    assert report.reply.params["delivered"] == 20
    assert await world.service().tick() == []  # nothing left to resume
    assert len(world.homeserver.posts) == 20
    listing = await commands.list(OFFICER, world.station_id)
    assert [line.key for line in listing.lines] == ["broadcasts.list.empty"]  # not a bulletin


async def test_one_scheduler_per_database(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock)
    a, b = world.service("proc-a"), world.service("proc-b")
    assert await a.hold_lease()
    assert not await b.hold_lease()
    clock.advance(timedelta(seconds=30))
    assert await a.hold_lease()  # renewed
    clock.advance(timedelta(seconds=45))
    assert not await b.hold_lease()  # still within the renewed lease
    await a.release()
    assert await b.hold_lease()
    clock.advance(world.settings.lease_ttl + timedelta(seconds=1))
    assert await a.hold_lease()  # b's lease expired


async def test_pause_resume_and_delete(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock)
    commands = world.commands()
    number = await add(world, 'station:xinhua cron "0 9 * * *" | 每日提示 | 正文')
    service = world.service()

    await commands.pause(OFFICER, number, world.station_id)
    clock.set(utc(2026, 3, 3, 1, 0))
    assert await service.tick() == []
    clock.set(utc(2026, 3, 3, 1, 30))
    result = await commands.resume(OFFICER, number, world.station_id)
    assert result.lines[0].key == "broadcasts.resumed"
    assert await service.tick() == []  # the paused morning is not posted late
    assert world.homeserver.posts == []

    clock.set(utc(2026, 3, 4, 1, 0))
    await service.tick()
    assert len(world.homeserver.posts) == 3

    await commands.delete(OFFICER, number, world.station_id)
    listing = await commands.list(OFFICER, world.station_id)
    assert [line.key for line in listing.lines] == ["broadcasts.list.empty"]
    clock.set(utc(2026, 3, 5, 1, 0))
    assert await service.tick() == []
    assert len(world.homeserver.posts) == 3


async def test_a_resident_cannot_run_bulletin_commands(db: Database, clock: FakeClock) -> None:
    from linli.common.errors import PermissionDenied

    world = await make_world(db, clock)
    number = await add(world, 'station:xinhua cron "0 9 * * *" | 每日提示 | 正文')
    commands = world.commands()
    calls = [
        commands.add(RESIDENT, "c00 once 2026-03-03T09:00 | t | b", world.station_id),
        commands.list(RESIDENT, world.station_id),
        commands.show(RESIDENT, number, world.station_id),
        commands.preview(RESIDENT, number, world.station_id),
        commands.pause(RESIDENT, number, world.station_id),
        commands.resume(RESIDENT, number, world.station_id),
        commands.delete(RESIDENT, number, world.station_id),
        commands.notice(RESIDENT, "c00", "hello"),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            await call
    assert world.homeserver.posts == []


class GatedHomeserver(FakeHomeserver):
    """Holds every send until the gate opens: a fan-out that is still under way."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def send(self, room_id, message, txn_id):  # type: ignore[no-untyped-def]
        self.waiting += 1
        await self.gate.wait()
        return await super().send(room_id, message, txn_id)


async def wait_for_sends(homeserver: GatedHomeserver, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        if homeserver.waiting >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {homeserver.waiting} sends started")


async def test_ticks_during_a_notice_fan_out_do_not_log_a_resumption(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A notice being sent normally is not an interrupted fan-out: the ticks that run beside
    it say nothing of resuming, and another process sending it is mentioned once, not on
    every tick."""
    world = await make_world(db, clock)
    homeserver = GatedHomeserver()
    world.homeserver = homeserver
    service = world.service("proc-a")
    commands = world.commands(service)
    bulletin, occurrence = await commands.prepare_notice(OFFICER, "station:xinhua", "停水通知")
    caplog.set_level("DEBUG", logger="linli.broadcasts")
    sending = asyncio.create_task(service.fan_out(bulletin, occurrence))
    await wait_for_sends(homeserver, 3)
    for _ in range(5):
        assert await service.tick() == []
        clock.advance(timedelta(seconds=5))
    assert not [r for r in caplog.records if "resum" in r.getMessage()], caplog.text

    other = world.service("proc-b")  # the CLI's `linli bulletins notice`, the bot beside it
    await service.release()
    for _ in range(5):
        assert await other.tick() == []
    info = [r for r in caplog.records if r.levelname == "INFO" and "left open" in r.getMessage()]
    assert len(info) == 1, caplog.text
    assert not [r for r in caplog.records if "resum" in r.getMessage()], caplog.text

    homeserver.gate.set()
    [report] = await sending
    assert report.reply.params["delivered"] == 3
    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}
