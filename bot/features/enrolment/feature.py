"""Enrolment tracking: the latest figures per compound (for ``/metrics`` and the dashboard's
overview) and one snapshot per compound and local day (coverage over time).

Figures are computed by ``VerificationService.enrolment`` a few compounds per tick, so a
district of 2,000 compounds never costs one burst of 6,000 queries, and a metrics scrape reads
memory only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from linli.bot.commands.router import Command
from linli.bot.web.metrics import Sample
from linli.common.clock import Clock
from linli.common.events import ChatEvent
from linli.common.ids import CompoundId
from linli.community.model import Compound, Directory
from linli.enrolment.model import local_day
from linli.enrolment.service import SnapshotService
from linli.verification.model import EnrolmentFigures, EnrolmentReport
from linli.verification.service import VerificationService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedFigures:
    total: EnrolmentFigures
    by_building: dict[str, EnrolmentFigures]
    at: datetime


class EnrolmentTracker:
    """Enrolment reports from the verification service, with the compound-level figures of the
    latest one kept per compound (never the flat lists or member ids: they stay in the
    database)."""

    def __init__(self, service: VerificationService, clock: Clock) -> None:
        self.service = service
        self.clock = clock
        self._cache: dict[CompoundId, CachedFigures] = {}

    async def report(self, compound: Compound) -> EnrolmentReport:
        """A fresh full report (figures, pending members, unenrolled flats)."""
        report = await self.service.enrolment(compound)
        self._cache[compound.id] = CachedFigures(
            report.total, dict(report.by_building), self.clock.now()
        )
        return report

    def cached(self, compound_id: CompoundId) -> CachedFigures | None:
        return self._cache.get(compound_id)

    async def figures(
        self, compounds: Sequence[Compound], max_age: timedelta
    ) -> dict[CompoundId, CachedFigures]:
        """Figures per compound, recomputing those missing or older than ``max_age``."""
        now = self.clock.now()
        out: dict[CompoundId, CachedFigures] = {}
        for compound in compounds:
            hit = self._cache.get(compound.id)
            if hit is None or now - hit.at > max_age:
                await self.report(compound)
                hit = self._cache[compound.id]
            out[compound.id] = hit
        return out

    def retain(self, compound_ids: Iterable[CompoundId]) -> None:
        """Forget compounds that no longer exist."""
        keep = set(compound_ids)
        for cid in [c for c in self._cache if c not in keep]:
            del self._cache[cid]

    def all_cached(self) -> dict[CompoundId, CachedFigures]:
        return dict(self._cache)


class EnrolmentFeature:
    """Refreshes the figures of due compounds on each tick and writes each compound's snapshot
    once per local day (the first refresh after the compound's midnight)."""

    name = "enrolment"

    def __init__(
        self,
        tracker: EnrolmentTracker,
        snapshots: SnapshotService,
        directory: Callable[[], Directory],
        refresh: timedelta = timedelta(minutes=15),
        compounds_per_tick: int = 50,
    ) -> None:
        self.tracker = tracker
        self.snapshots = snapshots
        self.directory = directory
        self.refresh = refresh
        self.compounds_per_tick = compounds_per_tick
        # Day of the last snapshot written per compound. Lost on restart, which only means
        # today's row is written again: the repository replaces a day's row.
        self._snapshot_day: dict[CompoundId, date] = {}
        self.snapshots_written = 0
        self.refresh_failures = 0

    def commands(self) -> Iterable[Command]:
        return []

    async def start(self) -> None:
        return None

    async def on_event(self, event: ChatEvent, env: Any) -> None:
        return None

    def _due(self, compound: Compound, now: datetime) -> bool:
        hit = self.tracker.cached(compound.id)
        if hit is None or now - hit.at >= self.refresh:
            return True
        return self._snapshot_day.get(compound.id) != local_day(now, compound.timezone)

    async def tick(self, now: datetime) -> None:
        compounds = list(self.directory().compounds.values())
        self.tracker.retain(c.id for c in compounds)

        def age(c: Compound) -> datetime:
            hit = self.tracker.cached(c.id)
            return hit.at if hit is not None else datetime.min.replace(tzinfo=now.tzinfo)

        due = sorted((c for c in compounds if self._due(c, now)), key=lambda c: (age(c), c.id))
        batch: list[tuple[CompoundId, str, EnrolmentFigures]] = []
        days: dict[CompoundId, date] = {}
        for compound in due[: self.compounds_per_tick]:
            try:
                report = await self.tracker.report(compound)
            except Exception:
                self.refresh_failures += 1
                log.exception("enrolment figures of compound %d failed", compound.id)
                continue
            day = local_day(now, compound.timezone)
            if self._snapshot_day.get(compound.id) != day:
                batch.append((compound.id, compound.timezone, report.total))
                days[compound.id] = day
        if batch:
            written = await self.snapshots.record_today(batch)
            self._snapshot_day.update(days)
            self.snapshots_written += written
            log.info("enrolment snapshots written for %d compounds", written)

    async def metrics(self) -> list[Sample]:
        directory = self.directory()
        samples: list[Sample] = []
        for cid, hit in sorted(self.tracker.all_cached().items()):
            compound = directory.compounds.get(cid)
            if compound is None:
                continue
            station = directory.stations.get(compound.station_id)
            labels = {"compound": compound.slug, "station": station.slug if station else ""}
            f = hit.total
            samples += [
                Sample("linli_enrolment_households", f.households,
                       "Registered households (with at least one active person)", "gauge",
                       labels),
                Sample("linli_enrolment_households_covered", f.households_enrolled,
                       "Households with at least one verified member", "gauge", labels),
                Sample("linli_enrolment_coverage_ratio",
                       f.households_enrolled / f.households if f.households else 0.0,
                       "Share of households with at least one verified member (0 to 1)",
                       "gauge", labels),
                Sample("linli_enrolment_households_over_cap", f.over_cap_households,
                       "Households with more verified members than the cap", "gauge", labels),
            ]
            for state, count in (("verified", f.verified_members),
                                 ("pending", f.pending_members), ("locked", f.locked_members)):
                samples.append(Sample("linli_enrolment_members", count,
                                      "Members of compound rooms by verification state",
                                      "gauge", {**labels, "state": state}))
            samples.append(Sample("linli_enrolment_figures_age_seconds",
                                  round((self.tracker.clock.now() - hit.at).total_seconds(), 3),
                                  "Age of the enrolment figures reported here", "gauge", labels))
        samples.append(Sample("linli_enrolment_snapshots_written_total", self.snapshots_written,
                              "Daily enrolment snapshot rows written", "counter"))
        samples.append(Sample("linli_enrolment_refresh_failures_total", self.refresh_failures,
                              "Enrolment figure refreshes that failed", "counter"))
        return samples
