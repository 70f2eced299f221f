"""Enrolment's tables, shared by ``linli report enrolment``, the dashboard, its CSV export and
its JSON API: figures per compound and building, waiting accounts, flats with nobody enrolled,
coverage over time. How a table turns into text is ``linli.bot.tables``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from linli.bot.tables import Cell, Table
from linli.community.model import Compound, Directory
from linli.enrolment.model import EnrolmentSnapshot
from linli.verification.model import EnrolmentFigures, EnrolmentReport, MemberState, PendingMember

FIGURE_COLUMNS = (
    "households", "households_enrolled", "coverage_percent", "verified_members",
    "pending_members", "locked_members", "over_cap_households",
)
BUILDING_COLUMNS = (
    "building", "households", "households_enrolled", "coverage_percent", "verified_members",
    "over_cap_households",
)


def figure_cells(f: EnrolmentFigures) -> tuple[Cell, ...]:
    return (f.households, f.households_enrolled, f.coverage, f.verified_members,
            f.pending_members, f.locked_members, f.over_cap_households)


def compounds_table(
    rows: Iterable[tuple[Compound, EnrolmentFigures]], directory: Directory
) -> Table:
    """One row per compound, with its station."""
    out: list[tuple[Cell, ...]] = []
    for compound, f in rows:
        station = directory.stations.get(compound.station_id)
        out.append((compound.slug, compound.name, station.name if station else None,
                    *figure_cells(f)))
    return Table("compounds", ("slug", "compound", "station", *FIGURE_COLUMNS), out)


def add_figures(a: EnrolmentFigures, b: EnrolmentFigures) -> EnrolmentFigures:
    return EnrolmentFigures(
        households=a.households + b.households,
        households_enrolled=a.households_enrolled + b.households_enrolled,
        verified_members=a.verified_members + b.verified_members,
        pending_members=a.pending_members + b.pending_members,
        locked_members=a.locked_members + b.locked_members,
        over_cap_households=a.over_cap_households + b.over_cap_households,
    )


def sum_figures(figures: Iterable[EnrolmentFigures]) -> EnrolmentFigures:
    total = EnrolmentFigures()
    for f in figures:
        total = add_figures(total, f)
    return total


def buildings_table(by_building: Mapping[str, EnrolmentFigures]) -> Table:
    """Pending and locked members are counted per compound only: a member who has not
    verified is not yet tied to any household, so to no building."""
    return Table("buildings", BUILDING_COLUMNS, [
        (name, f.households, f.households_enrolled, f.coverage, f.verified_members,
         f.over_cap_households)
        for name, f in by_building.items()
    ])


def unenrolled_table(report: EnrolmentReport) -> Table:
    """Households with nobody verified, grouped by building and unit: flats only, no names."""
    return Table("unenrolled", ("building", "unit", "count", "flats"), [
        (u.building, u.unit or None, len(u.flats), tuple(u.flats)) for u in report.unenrolled
    ])


def pending_state(m: PendingMember, now: datetime) -> str:
    if m.state is MemberState.LOCKED and m.locked_until is not None and m.locked_until > now:
        return "locked"
    return "pending"


def pending_table(members: Sequence[PendingMember], now: datetime) -> Table:
    """Accounts waiting to verify and until when (their Matrix ids: no names, no phones)."""
    return Table("pending", ("user_id", "state", "deadline", "locked_until", "adopted"), [
        (m.user_id, pending_state(m, now), m.deadline,
         m.locked_until if pending_state(m, now) == "locked" else None, m.adopted)
        for m in members
    ])


def snapshots_table(series: Sequence[EnrolmentSnapshot]) -> Table:
    return Table("snapshots", ("day", "households", "households_enrolled", "coverage_percent",
                               "verified_members", "waiting_members"), [
        (s.day, s.figures.households, s.figures.households_enrolled, s.figures.coverage,
         s.figures.verified_members, s.figures.waiting_members)
        for s in series
    ])
