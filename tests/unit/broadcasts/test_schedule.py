"""Schedule parsing (good and bad, with clear errors) and fire times from APScheduler's
triggers across time zones, DST and end dates."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from linli.bot.features.broadcasts.fire_times import ApschedulerFireTimes, crontab_for_apscheduler
from linli.broadcasts import schedule as sched
from linli.broadcasts.commands import parse_add, parse_schedule_words
from linli.broadcasts.model import Schedule, ScheduleKind, TargetKind
from linli.common.errors import DomainError
from linli.common.ids import CompoundId, RoomID, StationId
from linli.community.model import Compound, Directory, Station

PACKAGE = Path(__file__).resolve().parents[3] / "broadcasts"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
SH = "Asia/Shanghai"
FIRE = ApschedulerFireTimes()


def _directory() -> Directory:
    stations = [Station(StationId(1), "xinhua", "新华派出所")]
    compounds = [
        Compound(CompoundId(1), "meiyuan", "梅园小区", StationId(1), RoomID("!a:hs")),
        Compound(CompoundId(2), "taoyuan", "桃园小区", StationId(1), RoomID("!b:hs"),
                 timezone="Europe/Berlin"),
    ]
    return Directory(stations, compounds, [])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- parsing: good -------------------------------------------------------------------------------


def test_parse_add_cron_series_with_end_and_station_target() -> None:
    draft = parse_add(
        'station:xinhua cron "0 9 * * 1" until 2026-06-30 series | 防诈骗 | 一 || 二 || 三',
        _directory(), NOW, SH,
    )
    assert draft.target.kind is TargetKind.STATION and draft.target.station_id == 1
    assert draft.schedule.kind is ScheduleKind.CRON
    assert draft.schedule.cron == "0 9 * * 1"
    # mixed zones in the station (Shanghai and Berlin): the configured default is used
    assert draft.schedule.timezone == SH
    assert draft.schedule.end_at == utc(2026, 6, 30, 16, 0) - timedelta(microseconds=1)
    assert draft.text.title == "防诈骗" and draft.text.bodies == ("一", "二", "三")


@pytest.mark.parametrize(
    ("spec", "kind", "tz", "check"),
    [
        ("meiyuan once 2026-03-05 09:00 | t | b", ScheduleKind.ONCE, SH,
         lambda s: s.run_at == utc(2026, 3, 5, 1, 0)),
        ("meiyuan once 2026-03-05T09:00 | t | b", ScheduleKind.ONCE, SH,
         lambda s: s.run_at == utc(2026, 3, 5, 1, 0)),
        ("taoyuan once 2026-03-05T09:00 | t | b", ScheduleKind.ONCE, "Europe/Berlin",
         lambda s: s.run_at == utc(2026, 3, 5, 8, 0)),
        ("meiyuan once 2026-03-05T09:00 tz UTC | t | b", ScheduleKind.ONCE, "UTC",
         lambda s: s.run_at == utc(2026, 3, 5, 9, 0)),
        ("meiyuan every 7d | t | b", ScheduleKind.INTERVAL, SH,
         lambda s: s.interval == timedelta(days=7) and s.start_at == NOW + timedelta(days=7)),
        ("meiyuan every 12h from 2026-03-03 08:00 | t | b", ScheduleKind.INTERVAL, SH,
         lambda s: s.start_at == utc(2026, 3, 3, 0, 0)),
        ("meiyuan,taoyuan cron 0 9 * * mon-fri | t | b", ScheduleKind.CRON, SH,
         lambda s: s.cron == "0 9 * * mon-fri"),
    ],
)
def test_parse_add_schedules(spec: str, kind: ScheduleKind, tz: str, check: object) -> None:
    draft = parse_add(spec, _directory(), NOW, SH)
    assert draft.schedule.kind is kind
    assert draft.schedule.timezone == tz
    assert check(draft.schedule)  # type: ignore[operator]


def test_body_may_hold_bars_and_markdown() -> None:
    draft = parse_add("all once 2026-03-05T09:00 | T | a | b **c**", _directory(), NOW, SH)
    assert draft.text.bodies == ("a | b **c**",)


# --- parsing: bad, each with its own clear error -------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "key", "params"),
    [
        ('all cron "0 25 * * *" | t | b', "broadcasts.error.cron_field",
         {"position": 2, "part": "25", "low": 0, "high": 23}),
        ('all cron "0 9 * *" | t | b', "broadcasts.error.cron_fields", {"count": 4}),
        ('all cron "0 9 1 * 1" | t | b', "broadcasts.error.cron_day_and_weekday", {}),
        ('all cron "x 9 * * *" | t | b', "broadcasts.error.cron_field", {"position": 1}),
        ('all cron "0 9 * * 8" | t | b', "broadcasts.error.cron_field", {"position": 5}),
        ('all cron "*/0 9 * * *" | t | b', "broadcasts.error.cron_field", {"position": 1}),
        ('all cron "0 9 * 13 *" | t | b', "broadcasts.error.cron_field", {"position": 4}),
        ('all cron "0 17-9 * * *" | t | b', "broadcasts.error.cron_field", {"position": 2}),
        ('all cron "0 9 L * *" | t | b', "broadcasts.error.cron_field", {"position": 3}),
        ("all once 2020-01-01T09:00 | t | b", "broadcasts.error.once_in_past",
         {"when": "2020-01-01 09:00"}),
        ("all once 2026-03-02T08:59 | t | b", "broadcasts.error.once_in_past", {}),
        ("all once 2026-13-01T09:00 | t | b", "broadcasts.error.bad_time", {}),
        ("all once tomorrow | t | b", "broadcasts.error.bad_time", {"value": "tomorrow"}),
        ("all every 0d | t | b", "broadcasts.error.interval_not_positive", {}),
        ("all every -5m | t | b", "broadcasts.error.interval_not_positive", {}),
        ("all every 30s | t | b", "broadcasts.error.interval_too_short", {}),
        ("all every 5x | t | b", "error.invalid_duration", {}),
        ("all once 2026-04-01T09:00 tz Mars/Olympus | t | b",
         "broadcasts.error.unknown_timezone", {"value": "Mars/Olympus"}),
        ("all every 7d from 2026-04-01T09:00 until 2026-03-20 | t | b",
         "broadcasts.error.end_before_start", {}),
        ('all cron "0 9 * * 1" until 2026-01-01 | t | b', "broadcasts.error.end_in_past", {}),
        ("all weekly 9:00 | t | b", "broadcasts.error.bad_schedule_kind", {"value": "weekly"}),
        ("all once 2026-04-01T09:00 loudly | t | b", "broadcasts.error.unexpected_word", {}),
        ("all once 2026-04-01T09:00 | only a title", "broadcasts.error.usage_add", {}),
        ("all once 2026-04-01T09:00 | t | 你好 {compnd}", "broadcasts.error.unknown_placeholder",
         {"name": "{compnd}"}),
        ("all once 2026-04-01T09:00 series | t | one tip", "broadcasts.error.series_needs_tips",
         {}),
        ("nowhere once 2026-04-01T09:00 | t | b", "error.no_compound", {"slug": "nowhere"}),
        ("station:nope once 2026-04-01T09:00 | t | b", "error.no_station", {"slug": "nope"}),
    ],
)
def test_parse_add_refuses_with_clear_errors(
    spec: str, key: str, params: dict[str, object]
) -> None:
    with pytest.raises(DomainError) as info:
        parse_add(spec, _directory(), NOW, SH)
    assert info.value.key == key
    for name, value in params.items():
        assert info.value.params[name] == value


def test_every_error_key_has_a_message() -> None:
    from linli.common.i18n import catalogue

    MESSAGES = catalogue("broadcasts")

    source = "".join(
        p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py")
    )
    used = set(__import__("re").findall(r'"(broadcasts\.[a-z_.]+)"', source))
    assert used - set(MESSAGES) == set()


def test_schedule_that_never_fires_is_refused() -> None:
    never = sched.cron("0 0 30 2 *", SH, NOW)  # 30 February
    with pytest.raises(DomainError) as info:
        sched.first_fire(never, NOW, FIRE)
    assert info.value.key == "broadcasts.error.never_fires"
    ended = sched.with_end(sched.cron("0 9 1 * *", SH, NOW), utc(2026, 3, 20), NOW)
    with pytest.raises(DomainError):
        sched.first_fire(ended, NOW, FIRE)


# --- fire times ----------------------------------------------------------------------------------


def _cron(expr: str, tz: str, end: datetime | None = None) -> Schedule:
    return Schedule(ScheduleKind.CRON, timezone=tz, cron=expr, end_at=end)


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # crontab weekday numbering: 1 = Monday, 0 and 7 = Sunday (APScheduler 3 differs)
        (_cron("0 9 * * 1", SH), NOW, utc(2026, 3, 9, 1, 0)),
        (_cron("0 9 * * 1", SH), NOW - timedelta(seconds=1), NOW),
        (_cron("0 9 * * 0", SH), NOW, utc(2026, 3, 8, 1, 0)),
        (_cron("0 9 * * 7", SH), NOW, utc(2026, 3, 8, 1, 0)),
        (_cron("0 9 * * 5-7", SH), NOW, utc(2026, 3, 6, 1, 0)),
        (_cron("0 9 * * */3", SH), NOW, utc(2026, 3, 4, 1, 0)),  # sun, wed, sat
        (_cron("0 9 * * sun", SH), NOW, utc(2026, 3, 8, 1, 0)),
        # Berlin switches to summer time on 2026-03-29: 08:30 local is 06:30 UTC after it
        (_cron("30 8 * * mon-fri", "Europe/Berlin"), utc(2026, 3, 27, 8, 0),
         utc(2026, 3, 30, 6, 30)),
        (_cron("30 8 * * mon-fri", "Europe/Berlin"), utc(2026, 3, 26, 8, 0),
         utc(2026, 3, 27, 7, 30)),
        # New York switches on 2026-03-08
        (_cron("0 9 * * *", "America/New_York"), utc(2026, 3, 7, 15, 0),
         utc(2026, 3, 8, 13, 0)),
        # end dates
        (_cron("0 9 * * 1", SH, end=utc(2026, 3, 8)), NOW, None),
        (_cron("0 9 * * 1", SH, end=utc(2026, 3, 9, 1, 0)), NOW, utc(2026, 3, 9, 1, 0)),
        # once
        (Schedule(ScheduleKind.ONCE, timezone=SH, run_at=utc(2026, 3, 5, 1)), NOW,
         utc(2026, 3, 5, 1)),
        (Schedule(ScheduleKind.ONCE, timezone=SH, run_at=utc(2026, 3, 5, 1)),
         utc(2026, 3, 5, 1), None),
        # interval: absolute steps from the start, across DST too
        (Schedule(ScheduleKind.INTERVAL, timezone=SH, interval=timedelta(days=7),
                  start_at=utc(2026, 3, 3, 1)), NOW, utc(2026, 3, 3, 1)),
        (Schedule(ScheduleKind.INTERVAL, timezone=SH, interval=timedelta(days=7),
                  start_at=utc(2026, 3, 3, 1)), utc(2026, 3, 3, 1), utc(2026, 3, 10, 1)),
        (Schedule(ScheduleKind.INTERVAL, timezone=SH, interval=timedelta(days=7),
                  start_at=utc(2026, 3, 3, 1)), utc(2026, 3, 4), utc(2026, 3, 10, 1)),
        (Schedule(ScheduleKind.INTERVAL, timezone="Europe/Berlin", interval=timedelta(hours=24),
                  start_at=utc(2026, 3, 28, 8)), utc(2026, 3, 28, 8), utc(2026, 3, 29, 8)),
        (Schedule(ScheduleKind.INTERVAL, timezone=SH, interval=timedelta(days=7),
                  start_at=utc(2026, 3, 3, 1), end_at=utc(2026, 3, 9)), utc(2026, 3, 3, 1),
         None),
        (Schedule(ScheduleKind.NOW, timezone=SH), NOW, None),
    ],
)
def test_fire_times(schedule: Schedule, after: datetime, expected: datetime | None) -> None:
    fire = FIRE.next_fire(schedule, after)
    assert fire == expected
    if fire is not None:
        assert fire.tzinfo is not None and fire.utcoffset() == timedelta(0)


def test_crontab_weekdays_are_rewritten_for_apscheduler() -> None:
    assert crontab_for_apscheduler("0 9 * * 1") == "0 9 * * mon"
    assert crontab_for_apscheduler("0 9 * * 0-2") == "0 9 * * sun,mon,tue"
    assert crontab_for_apscheduler("*/15 8-18 * * *") == "*/15 8-18 * * *"


def test_parse_schedule_words_and_end_of_day() -> None:
    s = parse_schedule_words("cron", "0 9 * * 1", SH, NOW, until="2026-03-09")
    assert s.end_at is not None
    assert FIRE.next_fire(s, NOW) == utc(2026, 3, 9, 1, 0)  # the end day is included
    assert FIRE.next_fire(s, utc(2026, 3, 9, 1, 0)) is None


def test_domain_packages_do_not_import_matrix_or_scheduler_libraries() -> None:
    forbidden = {"nio", "aiohttp", "apscheduler"}
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path} imports {name}"
