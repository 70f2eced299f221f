"""Interval fire times never end a series because of float rounding in APScheduler 3."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from linli.bot.features.broadcasts.fire_times import ApschedulerFireTimes
from linli.broadcasts.model import Schedule, ScheduleKind


def test_interval_series_continues_from_any_start_instant() -> None:
    rng = random.Random(7)
    fire_times = ApschedulerFireTimes()
    for _ in range(200):
        start = datetime(2026, 11, 28, 20, 0, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(0, 86400), microseconds=rng.randrange(0, 1_000_000)
        )
        schedule = Schedule(kind=ScheduleKind.INTERVAL, timezone="Asia/Shanghai",
                            interval=timedelta(minutes=10), start_at=start)
        at = start
        for _ in range(30):
            nxt = fire_times.next_fire(schedule, at)
            assert nxt is not None, f"series ended after {at} (start {start})"
            assert timedelta(minutes=9, seconds=59) < nxt - at <= timedelta(minutes=10, seconds=1)
            at = nxt
