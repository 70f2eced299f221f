"""Daily enrolment snapshots, so coverage can be drawn over time.

The figures come from verification's enrolment report; this module only stores one row per
compound and local day (the compound's own time zone decides what "today" is).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from linli.common.clock import Clock
from linli.common.ids import CompoundId

if TYPE_CHECKING:
    from linli.storage.repos.moderation import SnapshotRepository


@dataclass(frozen=True)
class EnrolmentFigures:
    """One compound's numbers at one moment."""

    households: int
    covered: int
    verified_members: int
    pending: int

    def __post_init__(self) -> None:
        if min(self.households, self.covered, self.verified_members, self.pending) < 0:
            raise ValueError("enrolment figures cannot be negative")

    @property
    def coverage(self) -> float:
        """Share of households with at least one verified member (0.0 to 1.0)."""
        return self.covered / self.households if self.households else 0.0


@dataclass(frozen=True)
class EnrolmentSnapshot:
    compound_id: CompoundId
    day: date
    figures: EnrolmentFigures
    taken_at: datetime


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


class SnapshotService:
    def __init__(self, repo: SnapshotRepository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def record_today(
        self, figures: Iterable[tuple[CompoundId, str, EnrolmentFigures]]
    ) -> int:
        """Write today's row for each (compound id, compound time zone, figures); run it as
        often as you like: a later run the same day replaces that day's numbers."""
        now = self.clock.now()
        by_day: dict[date, dict[CompoundId, EnrolmentFigures]] = {}
        for compound_id, timezone, numbers in figures:
            by_day.setdefault(local_day(now, timezone), {})[compound_id] = numbers
        written = 0
        for day, rows in by_day.items():
            written += await self.repo.write(day, rows, now)
        return written
