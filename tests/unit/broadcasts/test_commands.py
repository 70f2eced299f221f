"""Bulletin commands, permissions, rendering, and the broadcast repository on both back-ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli.broadcasts.model import (
    BulletinKind,
    OccurrenceOutcome,
    RoomTarget,
    Schedule,
    ScheduleKind,
    Target,
    Text,
)
from linli.broadcasts.render import check_placeholders, render_bulletin, render_lines
from linli.broadcasts.targets import may_target, parse_target
from linli.common.clock import FakeClock
from linli.common.errors import DomainError, NotFound, PermissionDenied
from linli.common.ids import CompoundId, EventID, RoomID, StationId, UserID
from linli.storage.db import Database
from linli.storage.repos.broadcasts import BroadcastRepository
from tests.unit.broadcasts.world import (
    COMPOUND_OFFICER,
    DISTRICT_ADMIN,
    OFFICER,
    OTHER_OFFICER,
    PROPERTY,
    RESIDENT,
    STATION_ADMIN,
    make_world,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        (OFFICER, "station:xinhua", True),
        (OFFICER, "c00,c01", True),
        (OFFICER, "east", False),  # another station's compound
        (OFFICER, "c00,east", False),
        (OFFICER, "all", False),
        (COMPOUND_OFFICER, "c00", True),
        (COMPOUND_OFFICER, "c01", False),
        (COMPOUND_OFFICER, "station:xinhua", False),  # a compound grant is not the station
        (STATION_ADMIN, "station:xinhua", True),
        (STATION_ADMIN, "station:dongcheng", False),
        (STATION_ADMIN, "all", False),
        (DISTRICT_ADMIN, "all", True),
        (DISTRICT_ADMIN, "station:dongcheng", True),
        (OTHER_OFFICER, "east", True),
        (OTHER_OFFICER, "c00", False),
        (PROPERTY, "c00", False),  # staff, but not an officer
        (RESIDENT, "c00", False),
        (None, "all", True),  # the operator at the CLI
    ],
)
async def test_who_may_target_what(
    sqlite_db: Database, clock: FakeClock, actor: UserID | None, target: str, allowed: bool
) -> None:
    world = await make_world(sqlite_db, clock)
    assert may_target(world.directory, actor, parse_target(target, world.directory)) is allowed


async def test_adding_for_another_station_is_refused(
    sqlite_db: Database, clock: FakeClock
) -> None:
    world = await make_world(sqlite_db, clock)
    with pytest.raises(PermissionDenied) as info:
        await world.commands().add(OFFICER, "east once 2026-03-03T09:00 | t | b")
    assert info.value.key == "broadcasts.error.not_allowed"
    assert await world.store.list_bulletins(None) == []


# --- commands and their rendered replies ---------------------------------------------------------


async def test_list_show_preview_and_translate(sqlite_db: Database, clock: FakeClock) -> None:
    world = await make_world(sqlite_db, clock)
    commands = world.commands()
    added = await commands.add(
        OFFICER,
        'station:xinhua cron "0 9 * * 1" until 2026-06-30 series | 防诈骗 | '
        "{compound}：不要转账 || {officer}：不要点链接",
        world.station_id,
    )
    added_text = render_lines(world.translator, "zh-CN", added.lines)
    assert "#1" in added_text and "新华派出所辖区全部小区" in added_text
    assert "2026-03-09 09:00" in added_text

    listing = render_lines(
        world.translator, "en", (await commands.list(OFFICER, world.station_id)).lines
    )
    assert "Bulletins (1)" in listing
    assert "cron “0 9 * * 1” (Asia/Shanghai), until 2026-06-30 23:59" in listing
    # the other station's officers do not see it
    other = await commands.list(OTHER_OFFICER, world.other_station_id)
    assert [line.key for line in other.lines] == ["broadcasts.list.empty"]
    with pytest.raises(NotFound):
        await commands.show(OTHER_OFFICER, 1, world.other_station_id)

    shown = render_lines(
        world.translator, "zh-CN", (await commands.show(OFFICER, 1, world.station_id)).lines
    )
    assert "进行中" in shown and "共 2 条提示，下次发送第 1 条" in shown

    preview = await commands.preview(OFFICER, 1, world.station_id)
    assert preview.preview is not None
    assert preview.preview.body == "防诈骗\n\n小区00：不要转账"

    await commands.translate(
        OFFICER, 1, "en | Anti-fraud | {compound}: never transfer || {officer}: no links",
        world.station_id,
    )
    with pytest.raises(DomainError) as info:
        await commands.translate(OFFICER, 1, "en | Anti-fraud | only one", world.station_id)
    assert info.value.key == "broadcasts.error.series_length"
    bulletin = await world.store.get_bulletin(1)
    assert bulletin is not None
    assert bulletin.translations["en"].bodies == (
        "{compound}: never transfer", "{officer}: no links"
    )
    shown = render_lines(
        world.translator, "en", (await commands.show(DISTRICT_ADMIN, 1, None)).lines
    )
    assert "Other language versions: en" in shown
    # rooms speaking Chinese keep the Chinese text
    chinese = await commands.preview(DISTRICT_ADMIN, 1, None, compound_slug="c01")
    assert chinese.preview is not None and chinese.preview.body.startswith("防诈骗")


async def test_english_compounds_get_the_english_version(
    sqlite_db: Database, clock: FakeClock
) -> None:
    world = await make_world(sqlite_db, clock)
    commands = world.commands()
    await commands.add(OTHER_OFFICER, "east once 2026-03-03T09:00 | 消防 | {compound}防火")
    await commands.translate(OTHER_OFFICER, 1, "en | Fire safety | {compound}: mind the fire")
    preview = await commands.preview(OTHER_OFFICER, 1, world.other_station_id)
    assert preview.preview is not None
    assert preview.preview.body == "Fire safety\n\nEast Court: mind the fire"


async def test_unknown_bulletin_numbers(sqlite_db: Database, clock: FakeClock) -> None:
    world = await make_world(sqlite_db, clock)
    with pytest.raises(NotFound) as info:
        await world.commands().pause(OFFICER, 42, world.station_id)
    assert info.value.params == {"id": 42}


async def test_resuming_a_past_one_off_says_it_is_finished(
    sqlite_db: Database, clock: FakeClock
) -> None:
    world = await make_world(sqlite_db, clock)
    commands = world.commands()
    await commands.add(OFFICER, "c00 once 2026-03-02T10:00 | t | b", world.station_id)
    await commands.pause(OFFICER, 1, world.station_id)
    clock.set(utc(2026, 3, 2, 3, 0))
    result = await commands.resume(OFFICER, 1, world.station_id)
    zh = render_lines(world.translator, "zh-CN", result.lines)
    en = render_lines(world.translator, "en", result.lines)
    assert zh == "公告 #1 已恢复，但它只发一次，发送时间 2026-03-02 10:00 已过，不会再发送。"
    assert en == ("Bulletin #1 resumed, but it posts only once and its time, 2026-03-02 10:00, "
                  "has passed: it will not be posted.")
    assert await world.service().tick() == []
    assert world.homeserver.posts == []


async def test_resuming_a_bulletin_past_its_end_date_names_the_date(
    sqlite_db: Database, clock: FakeClock
) -> None:
    world = await make_world(sqlite_db, clock)
    commands = world.commands()
    await commands.add(OFFICER, 'c00 cron "0 9 * * *" until 2026-03-04 | t | b',
                       world.station_id)
    await commands.pause(OFFICER, 1, world.station_id)
    clock.set(utc(2026, 3, 5, 3, 0))
    result = await commands.resume(OFFICER, 1, world.station_id)
    text = render_lines(world.translator, "zh-CN", result.lines)
    assert "（—）" not in text and "2026-03-04" in text, text
    assert "its end date" in render_lines(world.translator, "en", result.lines)


# --- rendering -----------------------------------------------------------------------------------


def test_placeholders_are_filled_and_escaped_in_html() -> None:
    values = {"compound": "<b>A&B</b>", "station": "S", "officer": "O", "date": "2026-03-02"}
    message = render_bulletin("{compound}", "Hello **{compound}** on {date} {other}", values)
    assert message.body == "<b>A&B</b>\n\nHello **<b>A&B</b>** on 2026-03-02 {other}"
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in message.formatted_body
    assert "<b>A" not in message.formatted_body


def test_raw_html_in_bodies_is_escaped() -> None:
    message = render_bulletin("", "<script>x</script>\n\n- one\n- two", {})
    assert "<script>" not in message.formatted_body
    assert "<li>one</li>" in message.formatted_body


def test_unknown_placeholders_are_refused_but_other_braces_pass() -> None:
    check_placeholders(Text("t", ("{compound} {date} {} {1} {no such}",)))
    with pytest.raises(DomainError):
        check_placeholders(Text("{titel}", ("b",)))


def test_series_body_rotation() -> None:
    text = Text("t", ("a", "b", "c"))
    assert [text.body_for(i) for i in range(7)] == ["a", "b", "c", "a", "b", "c", "a"]
    assert text.is_series and not Text("t", ("a",)).is_series


# --- the repository on SQLite and PostgreSQL -----------------------------------------------------


async def _bulletin(repo: BroadcastRepository, station_id: StationId, now: datetime) -> int:
    bulletin = await repo.create_bulletin(
        kind=BulletinKind.BULLETIN,
        text=Text("t", ("a", "b")),
        translations={"en": Text("T", ("A", "B"))},
        target=Target.compounds((CompoundId(1),)),
        schedule=Schedule(
            ScheduleKind.INTERVAL, interval=timedelta(hours=1), start_at=now,
            end_at=now + timedelta(days=1),
        ),
        created_by="@wang:hs",
        station_id=station_id,
        next_at=now + timedelta(hours=1),
        mention_room=False,
        now=now,
    )
    return bulletin.id


async def test_repository_round_trips_bulletins(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock)
    repo = world.store
    number = await _bulletin(repo, world.station_id, clock.now())
    bulletin = await repo.get_bulletin(number)
    assert bulletin is not None
    assert bulletin.text == Text("t", ("a", "b"))
    assert bulletin.translations == {"en": Text("T", ("A", "B"))}
    assert bulletin.target == Target.compounds((CompoundId(1),))
    assert bulletin.schedule.interval == timedelta(hours=1)
    assert bulletin.schedule.end_at == clock.now() + timedelta(days=1)
    assert await repo.next_wakeup() == clock.now() + timedelta(hours=1)
    assert await repo.due_bulletins(clock.now(), 10) == []
    assert [b.id for b in await repo.due_bulletins(clock.now() + timedelta(hours=1), 10)] == [
        number
    ]
    assert [b.id for b in await repo.list_bulletins({world.other_station_id})] == []
    await repo.update_bulletin(number, paused=True)
    assert await repo.next_wakeup() is None
    assert await repo.due_bulletins(clock.now() + timedelta(hours=2), 10) == []


async def test_repository_fire_is_decided_once(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock)
    repo = world.store
    number = await _bulletin(repo, world.station_id, clock.now())
    at = clock.now() + timedelta(hours=1)
    args = dict(
        expected_next_at=at, new_next_at=at + timedelta(hours=1), at=at,
        outcome=OccurrenceOutcome.FIRED, late=False, coalesced=0, now=at,
    )
    first = await repo.fire(number, **args)  # type: ignore[arg-type]
    again = await repo.fire(number, **args)  # type: ignore[arg-type]
    assert first is not None and first.series_index == 0
    assert again is None
    second = await repo.fire(
        number, expected_next_at=at + timedelta(hours=1), new_next_at=None,
        at=at + timedelta(hours=1), outcome=OccurrenceOutcome.FIRED, late=True, coalesced=2,
        now=at,
    )
    assert second is not None and second.series_index == 1 and second.coalesced == 2
    assert [o.id for o in await repo.open_occurrences(10)] == [first.id, second.id]
    assert await repo.complete_occurrence(first.id, at)
    assert not await repo.complete_occurrence(first.id, at)
    assert [o.id for o in await repo.open_occurrences(10)] == [second.id]


async def test_repository_ledger_claims(db: Database, clock: FakeClock) -> None:
    world = await make_world(db, clock)
    repo = world.store
    number = await _bulletin(repo, world.station_id, clock.now())
    now = clock.now()
    rooms = [
        (RoomTarget(RoomID(f"!r{i}:hs"), CompoundId(1), world.station_id), f"txn{i}")
        for i in range(3)
    ]
    await repo.create_deliveries(number, now, rooms, now)
    await repo.create_deliveries(number, now, rooms, now)  # idempotent
    rows = await repo.deliveries(number, now)
    assert [r.txn_id for r in rows] == ["txn0", "txn1", "txn2"]

    ttl = timedelta(seconds=60)
    assert await repo.claim(rows[0].id, "a", now + ttl, now)
    assert not await repo.claim(rows[0].id, "b", now + ttl, now)  # a holds it
    assert await repo.claim(rows[0].id, "a", now + ttl, now)  # a renews
    later = now + ttl + timedelta(seconds=1)
    assert await repo.claim(rows[0].id, "b", later + ttl, later)  # a's claim expired
    await repo.mark_delivered(rows[0].id, EventID("$e"), later)
    assert not await repo.claim(rows[0].id, "b", later + ttl, later)  # settled

    assert await repo.claim(rows[1].id, "a", now + ttl, now)
    await repo.mark_failed(rows[1].id, "M_FORBIDDEN", now)
    await repo.delete_bulletin(number, now)
    states = {r.txn_id: (r.state.value, r.attempts) for r in await repo.deliveries(number, now)}
    assert states == {
        "txn0": ("delivered", 3), "txn1": ("failed", 1), "txn2": ("skipped", 0)
    }
    with pytest.raises(NotFound):
        await repo.delete_bulletin(number, now)


async def test_repository_lease(db: Database, clock: FakeClock) -> None:
    repo = BroadcastRepository(db)
    now = clock.now()
    ttl = timedelta(seconds=60)
    assert await repo.acquire_lease("broadcasts", "a", now + ttl, now)
    assert not await repo.acquire_lease("broadcasts", "b", now + ttl, now)
    assert await repo.acquire_lease("other-shard", "b", now + ttl, now)
    later = now + ttl + timedelta(seconds=1)
    assert await repo.acquire_lease("broadcasts", "b", later + ttl, later)
    assert not await repo.acquire_lease("broadcasts", "a", later, later)
    await repo.release_lease("broadcasts", "b")
    assert await repo.acquire_lease("broadcasts", "a", later + ttl, later)


async def test_every_command_reply_renders_in_both_languages(
    sqlite_db: Database, clock: FakeClock
) -> None:
    world = await make_world(sqlite_db, clock)
    commands = world.commands()
    sid = world.station_id
    results = [
        await commands.add(OFFICER, "c00 every 7d until 2026-12-31 | t | b", sid),
        await commands.add(OFFICER, "c00 once 2026-03-05 09:00 | t2 | b2", sid),
        await commands.list(OFFICER, sid),
        await commands.show(OFFICER, 1, sid),
        await commands.preview(OFFICER, 1, sid),
        await commands.translate(OFFICER, 1, "en | T | B", sid),
        await commands.pause(OFFICER, 1, sid),
        await commands.list(OFFICER, sid),
        await commands.resume(OFFICER, 1, sid),
        await commands.delete(OFFICER, 1, sid),
        await commands.notice(OFFICER, "c00", "now"),
    ]
    for result in results:
        for locale in ("zh-CN", "en"):
            text = render_lines(world.translator, locale, result.lines)
            assert "{" not in text
            for report in result.reports:
                render_lines(world.translator, locale, (report.reply,))
    assert "en" in render_lines(world.translator, "en", results[5].lines)
