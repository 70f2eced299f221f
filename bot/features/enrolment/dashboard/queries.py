"""The dashboard's read model: everything its pages, API and CSV files show, read from the
enrolment tracker, the registry, the daily snapshots, the questions and the audit table. No
HTTP and no HTML here; the routes decide who may ask and what is audited."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli.bot.features.enrolment.feature import CachedFigures, EnrolmentTracker
from linli.bot.features.enrolment.reporting import snapshots_table
from linli.bot.tables import Cell, Table
from linli.common.clock import Clock
from linli.common.errors import DomainError
from linli.community.model import Compound, Directory
from linli.enrolment.ports import SnapshotStore
from linli.questions import stats
from linli.questions.model import FlagLevel, FlagStatus, Question
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.questions import QuestionRepository
from linli.storage.repos.verification import VerificationRepository
from linli.verification.model import EnrolmentReport, PersonRole

OPEN_LIMIT = 200
TREND_WEEKS = 8
QFIG = ("asked", "answered", "answered_percent", "median", "p90", "within_deadline_percent",
        "good_percent")


@dataclass(frozen=True)
class VisitFlat:
    """One un-enrolled flat of the visit sheet and the people registered there."""

    building: str
    unit: str
    flat: str
    people: tuple[tuple[str, PersonRole], ...]  # (full name, role)
    has_code: bool


@dataclass(frozen=True)
class QuestionFigures:
    """Response times of one week (and the weeks before it) over the visible compounds."""

    week: str
    start: datetime
    end: datetime
    tz: str
    open_total: int
    open: Table
    total: tuple[Cell, ...]
    compounds: Table
    staff: Table
    weeks: Table

    def part(self, name: str) -> Table:
        table: Table = getattr(self, name)
        return table


class DashboardQueries:
    def __init__(
        self, *, tracker: EnrolmentTracker, registry: VerificationRepository,
        snapshots: SnapshotStore, questions: QuestionRepository, audit: AuditRepository,
        clock: Clock, default_timezone: str, overview_max_age: timedelta,
    ) -> None:
        self.tracker = tracker
        self.registry = registry
        self.snapshots = snapshots
        self.questions = questions
        self.audit = audit
        self.clock = clock
        self.default_timezone = default_timezone
        self.overview_max_age = overview_max_age

    # ---- enrolment ---------------------------------------------------------------------------
    async def overview(self, compounds: Sequence[Compound]
                       ) -> list[tuple[Compound, CachedFigures]]:
        """Each compound's figures, recomputed when older than the overview's maximum age."""
        figures = await self.tracker.figures(compounds, self.overview_max_age)
        return [(c, figures[c.id]) for c in compounds]

    async def report(self, compound: Compound) -> EnrolmentReport:
        """A fresh full report: figures, waiting accounts, flats with nobody enrolled."""
        return await self.tracker.report(compound)

    async def snapshot_series(self, compound: Compound, days: int) -> Table:
        start = (self.clock.now() - timedelta(days=days)).date()
        series = await self.snapshots.series([compound.id], start=start)
        return snapshots_table(series.get(compound.id, []))

    async def visits(self, compound: Compound, building: str | None) -> list[VisitFlat]:
        """Un-enrolled households with the names and roles of the people registered there (no
        phone numbers, no notes), optionally for one building."""
        report = await self.tracker.report(compound)
        units = [u for u in report.unenrolled if building is None or u.building == building]
        wanted = {(u.building, u.unit, flat) for u in units for flat in u.flats}
        with_code = await self.registry.households_with_live_code(compound.id)
        people: dict[tuple[str, str, str], list[tuple[str, PersonRole]]] = {}
        has_code: dict[tuple[str, str, str], bool] = {}
        for entry in await self.registry.registry(compound.id):
            hh = entry.household
            key = (hh.building, hh.unit, hh.flat)
            if key not in wanted:
                continue
            people.setdefault(key, []).append((entry.person.name, entry.person.role))
            has_code[key] = hh.id in with_code
        return [
            VisitFlat(u.building, u.unit, flat, tuple(people.get((u.building, u.unit, flat), ())),
                      has_code.get((u.building, u.unit, flat), False))
            for u in units for flat in u.flats
        ]

    # ---- questions ---------------------------------------------------------------------------
    async def question_figures(self, compounds: Sequence[Compound], week: str | None,
                               directory: Directory) -> QuestionFigures:
        """Open questions and the response-time figures of ``week`` (default: this week);
        DomainError for a week that cannot be read."""
        ids = [c.id for c in compounds]
        names = {c.id: c.name for c in compounds}
        tz = compounds[0].timezone if compounds else self.default_timezone
        now = self.clock.now()
        try:
            resolved = stats.resolve_week(week, now, tz)
        except ValueError:
            raise DomainError("dash.error.week") from None
        start, end = stats.week_bounds(resolved, tz)
        open_, open_total = await self.questions.open_in_compounds(ids, OPEN_LIMIT)
        asked = await self.questions.asked_between(ids, start, end) if ids else []
        trend_start = start - timedelta(weeks=TREND_WEEKS - 1)
        history = await self.questions.asked_between(ids, trend_start, end) if ids else []
        staff_names: dict[str, str] = {
            str(g.user_id): g.display_name for g in directory.grants if g.display_name
        }
        open_rows: list[tuple[Cell, ...]] = [
            (names.get(q.compound_id, str(q.compound_id)), q.topic, q.urgent, q.asked_at,
             now - q.asked_at, q.due_at, _flag_level(q), q.link)
            for q in open_
        ]
        by_compound = stats.by_compound(asked, now)
        by_staff = stats.by_staff(asked, now)
        by_week = stats.by_week(history, tz, now)
        return QuestionFigures(
            week=resolved,
            start=start,
            end=end,
            tz=tz,
            open_total=open_total,
            open=Table("qopen", ("compound", "topic", "urgent", "asked_at", "waiting",
                                 "due_at", "flagged", "link"), open_rows),
            total=figures_row(stats.figures(asked, now)),
            compounds=Table("qcompounds", ("compound", *QFIG), [
                (names.get(c.id, c.slug), *figures_row(by_compound[c.id]))
                for c in compounds if c.id in by_compound
            ]),
            staff=Table("qstaff", ("staff", *QFIG), [
                (staff_names.get(str(k), str(k)), *figures_row(f))
                for k, f in sorted(by_staff.items(), key=lambda kv: str(kv[0]))
            ]),
            weeks=Table("qweeks", ("week", *QFIG), [
                (str(k), *figures_row(f)) for k, f in sorted(by_week.items(), key=lambda kv:
                                                             str(kv[0]))
            ]),
        )

    # ---- audit -------------------------------------------------------------------------------
    async def audit_log(self, limit: int, station_ids: set[int] | None, action: str | None,
                        directory: Directory) -> Table:
        """The newest audit entries, within the stations given (None: all)."""
        entries = await self.audit.recent(limit, station_ids=station_ids, action=action)
        slugs: dict[int, str] = {c.id: c.slug for c in directory.compounds.values()}
        rows: list[tuple[Cell, ...]] = [
            (e.at, e.actor, e.action, e.target,
             slugs.get(e.compound_id) if e.compound_id is not None else None,
             json.dumps(e.details, ensure_ascii=False, sort_keys=True) if e.details else None)
            for e in entries
        ]
        return Table("audit", ("at", "actor", "action", "target", "compound", "details"), rows)


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100.0 * share, 1)


def figures_row(f: stats.Figures) -> tuple[Cell, ...]:
    return (f.asked, f.answered, _pct(f.answered_share), f.median, f.p90,
            _pct(f.within_share), _pct(f.good_share))


def _flag_level(q: Question) -> str | None:
    for level in (FlagLevel.ESCALATION, FlagLevel.FLAG):
        flag = q.flag(level)
        if flag is not None and flag.status is not FlagStatus.SKIPPED:
            return level.value
    return None



