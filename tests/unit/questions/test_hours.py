"""Office-hours arithmetic across nights, weekends, DST changes and DST-free zones."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from linli.questions.hours import add_office_time, is_office_time, office_time_between
from linli.questions.policy import deadlines
from linli.questions.settings import OfficeHours, QuestionSettings, parse_workdays

SH, BER, NY = "Asia/Shanghai", "Europe/Berlin", "America/New_York"
DAILY = OfficeHours()  # 08:00-20:00 every day
WEEKDAYS = OfficeHours(workdays=frozenset(range(5)))
M = timedelta(minutes=1)


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))  # type: ignore[misc]


@pytest.mark.parametrize(
    ("tz", "hours", "start", "amount", "expected"),
    [
        # inside office hours: plain addition (2026-03-02 is a Monday)
        (SH, DAILY, (2026, 3, 2, 10, 0), 30 * M, (2026, 3, 2, 10, 30)),
        # ends exactly at closing time
        (SH, DAILY, (2026, 3, 2, 19, 30), 30 * M, (2026, 3, 2, 20, 0)),
        # crosses the night: 10 minutes today, 20 tomorrow
        (SH, DAILY, (2026, 3, 2, 19, 50), 30 * M, (2026, 3, 3, 8, 20)),
        # asked at night / before opening: due the next morning
        (SH, DAILY, (2026, 3, 2, 23, 0), 30 * M, (2026, 3, 3, 8, 30)),
        (SH, DAILY, (2026, 3, 3, 3, 0), 30 * M, (2026, 3, 3, 8, 30)),
        (SH, DAILY, (2026, 3, 2, 20, 0), 30 * M, (2026, 3, 3, 8, 30)),
        # longer than one office day: 13 h from opening is 09:00 the day after
        (SH, DAILY, (2026, 3, 2, 8, 0), 13 * 60 * M, (2026, 3, 3, 9, 0)),
        # weekends off: Friday evening -> Monday morning; Saturday -> Monday
        (SH, WEEKDAYS, (2026, 3, 6, 19, 45), 30 * M, (2026, 3, 9, 8, 15)),
        (SH, WEEKDAYS, (2026, 3, 7, 10, 0), 30 * M, (2026, 3, 9, 8, 30)),
        (SH, WEEKDAYS, (2026, 3, 8, 23, 59), 2 * 60 * M, (2026, 3, 9, 10, 0)),
        # weekends on (the default): Saturday counts
        (SH, DAILY, (2026, 3, 7, 10, 0), 30 * M, (2026, 3, 7, 10, 30)),
        # only the weekend works
        (SH, OfficeHours(workdays=frozenset({5, 6})), (2026, 3, 2, 10, 0), 30 * M,
         (2026, 3, 7, 8, 30)),
        # Berlin, spring forward on Sunday 2026-03-29: evening CET -> morning CEST
        (BER, DAILY, (2026, 3, 28, 19, 50), 30 * M, (2026, 3, 29, 8, 20)),
        # Berlin, fall back on Sunday 2026-10-25: evening CEST -> morning CET
        (BER, DAILY, (2026, 10, 24, 19, 50), 30 * M, (2026, 10, 25, 8, 20)),
        # New York, spring forward on Sunday 2026-03-08; and fall back on 2026-11-01
        (NY, DAILY, (2026, 3, 7, 19, 50), 30 * M, (2026, 3, 8, 8, 20)),
        (NY, WEEKDAYS, (2026, 10, 30, 19, 50), 30 * M, (2026, 11, 2, 8, 20)),
        # zero: the next moment the office is open
        (SH, DAILY, (2026, 3, 2, 23, 0), timedelta(0), (2026, 3, 3, 8, 0)),
        (SH, DAILY, (2026, 3, 2, 9, 0), timedelta(0), (2026, 3, 2, 9, 0)),
    ],
)
def test_add_office_time(
    tz: str, hours: OfficeHours, start: tuple[int, ...], amount: timedelta,
    expected: tuple[int, ...],
) -> None:
    got = add_office_time(local(tz, *start), amount, hours, tz)
    assert got == local(tz, *expected)
    assert got.utcoffset() == timedelta(0)  # always handed back in UTC


def test_dst_night_is_an_hour_shorter_in_real_time() -> None:
    # Same wall-clock times, different real durations: the result is right in UTC.
    asked = local(BER, 2026, 3, 28, 19, 50)
    due = add_office_time(asked, 30 * M, DAILY, BER)
    assert due - asked == timedelta(hours=11, minutes=30)  # 12 h 30 min on the wall clock
    asked = local(BER, 2026, 10, 24, 19, 50)
    due = add_office_time(asked, 30 * M, DAILY, BER)
    assert due - asked == timedelta(hours=13, minutes=30)


def test_office_window_across_a_dst_jump_counts_real_time() -> None:
    # Night-shift office 00:00-06:00: on 2026-03-29 in Berlin it lasts 5 real hours.
    night = OfficeHours(start=time(0, 0), end=time(6, 0))
    opens = local(BER, 2026, 3, 29, 0, 0)
    closes = local(BER, 2026, 3, 29, 6, 0)
    assert office_time_between(opens, closes, night, BER) == timedelta(hours=5)
    assert add_office_time(opens, timedelta(hours=5), night, BER) == closes
    assert add_office_time(opens, timedelta(hours=5, minutes=30), night, BER) == local(
        BER, 2026, 3, 30, 0, 30
    )
    # and 7 real hours on the day the clocks go back
    assert office_time_between(
        local(BER, 2026, 10, 25, 0, 0), local(BER, 2026, 10, 25, 6, 0), night, BER
    ) == timedelta(hours=7)


@pytest.mark.parametrize(
    ("tz", "start", "end", "hours", "expected"),
    [
        (SH, (2026, 3, 2, 19, 0), (2026, 3, 3, 9, 0), DAILY, timedelta(hours=2)),
        (SH, (2026, 3, 2, 9, 0), (2026, 3, 2, 9, 0), DAILY, timedelta(0)),
        (SH, (2026, 3, 6, 12, 0), (2026, 3, 9, 12, 0), WEEKDAYS, timedelta(hours=12)),
        (SH, (2026, 3, 2, 0, 0), (2026, 3, 9, 0, 0), DAILY, timedelta(hours=7 * 12)),
        (NY, (2026, 3, 7, 0, 0), (2026, 3, 9, 0, 0), DAILY, timedelta(hours=24)),
    ],
)
def test_office_time_between(
    tz: str, start: tuple[int, ...], end: tuple[int, ...], hours: OfficeHours,
    expected: timedelta,
) -> None:
    assert office_time_between(local(tz, *start), local(tz, *end), hours, tz) == expected


def test_add_and_between_agree() -> None:
    start = local(NY, 2026, 3, 6, 17, 23)
    for minutes in (0, 1, 59, 400, 721, 1500, 5000):
        due = add_office_time(start, minutes * M, WEEKDAYS, NY)
        assert office_time_between(start, due, WEEKDAYS, NY) == minutes * M


def test_is_office_time() -> None:
    assert is_office_time(local(SH, 2026, 3, 2, 8, 0), DAILY, SH)
    assert not is_office_time(local(SH, 2026, 3, 2, 20, 0), DAILY, SH)
    assert not is_office_time(local(SH, 2026, 3, 7, 12, 0), WEEKDAYS, SH)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        add_office_time(datetime(2026, 3, 2, 9, 0), M, DAILY, SH)  # noqa: DTZ001 - on purpose
    with pytest.raises(ValueError):
        OfficeHours(start=time(20, 0), end=time(8, 0))
    with pytest.raises(ValueError):
        OfficeHours(workdays=frozenset())
    with pytest.raises(ValueError):
        QuestionSettings(deadline=timedelta(hours=3), escalate_after=timedelta(hours=2))


def test_parse_workdays() -> None:
    assert parse_workdays("mon-fri") == frozenset(range(5))
    assert parse_workdays(["sat", "sun"]) == frozenset({5, 6})
    assert parse_workdays("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_workdays([0, 6]) == frozenset({0, 6})
    with pytest.raises(ValueError):
        parse_workdays(["someday"])


def test_deadlines_urgent_and_night() -> None:
    s = QuestionSettings()
    night = local(SH, 2026, 3, 2, 23, 0)
    normal = deadlines(night, False, s, SH)
    assert normal.due_at == local(SH, 2026, 3, 3, 8, 30)
    assert normal.escalate_at == local(SH, 2026, 3, 3, 10, 0)
    assert normal.expires_at == night + timedelta(days=7)
    urgent = deadlines(night, True, s, SH)
    assert urgent.due_at == night
    assert urgent.escalate_at == night + timedelta(minutes=15)
