"""Schedules as people type them, checked with clear errors, and the port that computes fire
times (implemented with APScheduler's triggers in bot/features/broadcasts/fire_times.py; the
domain does not import APScheduler).

Cron strings are the five standard crontab fields (minute hour day-of-month month weekday,
weekday 0 or 7 = Sunday, names like ``mon`` allowed). They are validated here, field by field,
so an officer learns which field is wrong. Restricting both day-of-month and weekday is
refused: classic cron ORs them, APScheduler ANDs them, and a bulletin must not fire on days
nobody expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from linli.broadcasts.model import Schedule, ScheduleKind
from linli.common.durations import parse_duration
from linli.common.errors import DomainError

MIN_INTERVAL = timedelta(minutes=1)


class FireTimes(Protocol):
    """Computes fire times; pure (no running scheduler), so tests control time."""

    def next_fire(self, schedule: Schedule, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (aware UTC), or None if there is none
        (a past one-off, an end date reached). Raises ValueError for a schedule the trigger
        library refuses."""
        ...


# --- time zones and times ---------------------------------------------------------------------


def parse_timezone(name: str) -> str:
    value = name.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError("broadcasts.error.unknown_timezone", value=value[:64]) from None
    return value


def parse_local_time(text: str, tz: str) -> datetime:
    """``2026-12-01T09:00`` or ``2026-12-01 09:00`` in ``tz`` (an explicit offset wins)."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DomainError("broadcasts.error.bad_time", value=value[:40]) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(UTC)


def parse_end(text: str, tz: str) -> datetime:
    """An end date: a date means the end of that local day; a date and time is exact."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise DomainError("broadcasts.error.bad_time", value=value) from None
        next_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(tz))
        return next_midnight.astimezone(UTC) - timedelta(microseconds=1)
    return parse_local_time(value, tz)


def parse_interval(text: str) -> timedelta:
    value = text.strip()
    if value.startswith("-") or re.fullmatch(r"0+\s*\D*", value):
        raise DomainError("broadcasts.error.interval_not_positive", value=value[:40])
    delta = parse_duration(value)
    if delta < MIN_INTERVAL:
        raise DomainError("broadcasts.error.interval_too_short", value=value[:40])
    return delta


# --- cron ---------------------------------------------------------------------------------------

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _Field:
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _Field(0, 59),
    _Field(0, 23),
    _Field(1, 31),
    _Field(1, 12, _MONTHS, 1),
    _Field(0, 7, _DAYS, 0),
)


@dataclass(frozen=True)
class CronSpec:
    """The expanded fields of a crontab expression; weekdays in crontab numbering (0 = Sunday,
    7 folded into 0), None where the field is ``*``."""

    expr: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None


def _value(token: str, spec: _Field, expr: str, position: int, part: str) -> int:
    low = token.lower()
    if spec.names and low in spec.names:
        return spec.names.index(low) + spec.name_base
    if not token.isdigit():
        raise DomainError(
            "broadcasts.error.cron_field", value=expr, position=position, part=part,
            low=spec.low, high=spec.high,
        )
    number = int(token)
    if not spec.low <= number <= spec.high:
        raise DomainError(
            "broadcasts.error.cron_field", value=expr, position=position, part=part,
            low=spec.low, high=spec.high,
        )
    return number


def _expand(part: str, spec: _Field, expr: str, position: int) -> frozenset[int] | None:
    if part in ("*", "?"):
        return None
    values: set[int] = set()
    for item in part.split(","):
        error = DomainError(
            "broadcasts.error.cron_field", value=expr, position=position, part=part,
            low=spec.low, high=spec.high,
        )
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise error
            step = int(step_text)
        if base in ("*", "?"):
            start, stop = spec.low, spec.high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _value(first, spec, expr, position, part)
            stop = _value(last, spec, expr, position, part)
            if start > stop:
                raise error
        else:
            start = _value(base, spec, expr, position, part)
            stop = spec.high if step_text else start
        values.update(range(start, stop + 1, step))
    return frozenset(values)


def parse_cron(text: str) -> CronSpec:
    expr = " ".join(text.split())
    parts = expr.split(" ") if expr else []
    if len(parts) != 5:
        raise DomainError("broadcasts.error.cron_fields", value=expr[:80], count=len(parts))
    expanded = [
        _expand(p, f, expr, i + 1) for i, (p, f) in enumerate(zip(parts, _FIELDS, strict=True))
    ]
    minutes, hours, days, months, weekdays = expanded
    if weekdays is not None:
        weekdays = frozenset(d % 7 for d in weekdays)
    if days is not None and weekdays is not None:
        raise DomainError("broadcasts.error.cron_day_and_weekday", value=expr)
    return CronSpec(
        expr=expr,
        minutes=minutes if minutes is not None else frozenset(range(60)),
        hours=hours if hours is not None else frozenset(range(24)),
        days=days,
        months=months,
        weekdays=weekdays,
    )


# --- whole schedules ----------------------------------------------------------------------------


def once(run_at: datetime, tz: str, now: datetime) -> Schedule:
    if run_at <= now:
        raise DomainError("broadcasts.error.once_in_past", when=_show(run_at, tz))
    return Schedule(ScheduleKind.ONCE, timezone=tz, run_at=run_at)


def cron(expr: str, tz: str, now: datetime, end_at: datetime | None = None) -> Schedule:
    spec = parse_cron(expr)
    if end_at is not None and end_at <= now:
        raise DomainError("broadcasts.error.end_in_past", end=_show(end_at, tz))
    return Schedule(ScheduleKind.CRON, timezone=tz, cron=spec.expr, end_at=end_at)


def interval(
    every: timedelta,
    tz: str,
    now: datetime,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
) -> Schedule:
    if every <= timedelta(0):
        raise DomainError("broadcasts.error.interval_not_positive", value=str(every))
    start = start_at if start_at is not None else now + every
    if start_at is not None and start_at <= now:
        raise DomainError("broadcasts.error.once_in_past", when=_show(start_at, tz))
    if end_at is not None and end_at < start:
        raise DomainError(
            "broadcasts.error.end_before_start", end=_show(end_at, tz), start=_show(start, tz)
        )
    return Schedule(
        ScheduleKind.INTERVAL, timezone=tz, interval=every, start_at=start, end_at=end_at
    )


def with_end(schedule: Schedule, end_at: datetime | None, now: datetime) -> Schedule:
    """Attach an end date to a parsed schedule, refusing one before its start."""
    if end_at is None:
        return schedule
    tz = schedule.timezone
    if end_at <= now:
        raise DomainError("broadcasts.error.end_in_past", end=_show(end_at, tz))
    start = schedule.run_at or schedule.start_at
    if start is not None and end_at < start:
        raise DomainError(
            "broadcasts.error.end_before_start", end=_show(end_at, tz), start=_show(start, tz)
        )
    return Schedule(
        schedule.kind, timezone=tz, run_at=schedule.run_at, cron=schedule.cron,
        interval=schedule.interval, start_at=schedule.start_at, end_at=end_at,
    )


def first_fire(schedule: Schedule, now: datetime, fire_times: FireTimes) -> datetime:
    """The first fire time after ``now``; a schedule that never fires is an error."""
    try:
        first = fire_times.next_fire(schedule, now)
    except ValueError:
        raise DomainError("broadcasts.error.cron_invalid", value=schedule.cron or "") from None
    if first is None:
        raise DomainError("broadcasts.error.never_fires")
    return first


def _show(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
