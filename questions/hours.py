"""Office-hours arithmetic: "30 minutes of office time after 19:50" is 08:20 next morning.

Pure functions over aware datetimes. Windows are built per local date in the compound's zone
and converted to UTC, so days of 23 or 25 hours (DST) come out right: only wall-clock office
time counts, and a window that a DST jump shortens is shorter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from linli.questions.settings import OfficeHours

_MAX_DAYS = 800  # a deadline further than this in office time is a configuration error


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    # Round-trip through UTC so a wall time inside a DST gap becomes a real instant.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def windows(start: datetime, hours: OfficeHours, tz: str) -> Iterator[tuple[datetime, datetime]]:
    """Office windows in UTC, in order, from the local day of ``start`` (minus one) onward."""
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date() - timedelta(days=1)
    for _ in range(_MAX_DAYS):
        if day.weekday() in hours.workdays:
            opens, closes = _local(day, hours.start, zone), _local(day, hours.end, zone)
            if closes > opens:
                yield opens, closes
        day += timedelta(days=1)


def add_office_time(start: datetime, amount: timedelta, hours: OfficeHours, tz: str) -> datetime:
    """The instant when ``amount`` of office time has passed since ``start``.

    With ``amount`` zero this is the next moment the office is open (``start`` itself inside
    office hours). Raises ValueError if the office never opens within ~two years.
    """
    if start.tzinfo is None:
        raise ValueError("add_office_time needs an aware datetime")
    if amount < timedelta(0):
        raise ValueError("office time cannot be negative")
    cursor = start.astimezone(UTC)
    remaining = amount
    for opens, closes in windows(cursor, hours, tz):
        if closes <= cursor:
            continue
        begin = max(opens, cursor)
        if begin + remaining <= closes:
            return begin + remaining
        remaining -= closes - begin
        cursor = closes
    raise ValueError("office hours never open: check questions.workdays")


def office_time_between(start: datetime, end: datetime, hours: OfficeHours, tz: str) -> timedelta:
    """How much office time lies between two instants (zero if ``end`` is not after ``start``)."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    for opens, closes in windows(start, hours, tz):
        if opens >= end:
            break
        lo, hi = max(opens, start), min(closes, end)
        if hi > lo:
            total += hi - lo
    return total


def is_office_time(when: datetime, hours: OfficeHours, tz: str) -> bool:
    return add_office_time(when, timedelta(0), hours, tz) == when.astimezone(UTC)
