"""Fire times from APScheduler 3.x triggers, for the broadcasts domain's ``FireTimes`` port.

Only the triggers are used, as pure functions of (schedule, instant): no scheduler runs here,
so the caller's clock decides what "now" is and tests move time by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from linli.broadcasts.model import Schedule, ScheduleKind
from linli.broadcasts.schedule import parse_cron

_APS_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_TICK = timedelta(microseconds=1)


def crontab_for_apscheduler(expr: str) -> str:
    """Rewrite the weekday field with names: APScheduler 3.x numbers weekdays from Monday = 0
    (its documented historical mismatch), crontab from Sunday = 0."""
    spec = parse_cron(expr)
    fields = spec.expr.split(" ")
    if spec.weekdays is not None:
        fields[4] = ",".join(_APS_DAYS[d] for d in sorted(spec.weekdays))
    return " ".join(fields)


class ApschedulerFireTimes:
    """Implements broadcasts.schedule.FireTimes with DateTrigger, CronTrigger.from_crontab and
    IntervalTrigger."""

    def trigger(self, schedule: Schedule) -> BaseTrigger:
        tz = ZoneInfo(schedule.timezone)
        if schedule.kind is ScheduleKind.ONCE:
            if schedule.run_at is None:
                raise ValueError("a one-off schedule needs run_at")
            return DateTrigger(run_date=schedule.run_at.astimezone(tz), timezone=tz)
        if schedule.kind is ScheduleKind.CRON:
            if schedule.cron is None:
                raise ValueError("a cron schedule needs an expression")
            return CronTrigger.from_crontab(crontab_for_apscheduler(schedule.cron), timezone=tz)
        if schedule.kind is ScheduleKind.INTERVAL:
            if schedule.interval is None or schedule.start_at is None:
                raise ValueError("an interval schedule needs an interval and a start")
            return IntervalTrigger(
                seconds=int(schedule.interval.total_seconds()),
                start_date=schedule.start_at.astimezone(tz),
                end_date=schedule.end_at.astimezone(tz) if schedule.end_at else None,
                timezone=tz,
            )
        raise ValueError(f"no fire times for {schedule.kind} schedules")

    def next_fire(self, schedule: Schedule, after: datetime) -> datetime | None:
        if schedule.kind is ScheduleKind.NOW:
            return None
        trigger = self.trigger(schedule)
        # Triggers answer "at or after now"; the port means "strictly after".
        fire: datetime | None = trigger.get_next_fire_time(None, after + _TICK)
        if fire is None:
            return None
        fire = fire.astimezone(UTC)
        if fire <= after:
            return None  # a DateTrigger's run date already passed
        if schedule.end_at is not None and fire > schedule.end_at:
            return None
        return fire
