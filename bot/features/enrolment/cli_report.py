"""``linli report enrolment``: households, coverage, verified, pending, locked and over-cap
members per compound and building, the accounts waiting to verify, and the flats where nobody
is enrolled yet (grouped by building and unit, for door-to-door visits).

The report shows flats and Matrix ids, never residents' names or phone numbers. Each run is
written to the audit table, one entry per compound shown.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import TYPE_CHECKING, Any

from linli.bot.cli import CliContext, CliError, add_command
from linli.bot.features.enrolment.reporting import FIGURE_COLUMNS as FIGURES
from linli.bot.features.enrolment.reporting import (
    buildings_table,
    compounds_table,
    figure_cells,
    pending_table,
    sum_figures,
    unenrolled_table,
)
from linli.bot.tables import (
    Formatter,
    Table,
    display_width,
    localise_column,
    numeric_columns,
    render_csv,
    terminal_table,
)

if TYPE_CHECKING:
    from linli.community.model import Compound
    from linli.verification.model import EnrolmentReport

TABLES = ("all", "compounds", "buildings", "unenrolled", "pending")
FLATS_WIDTH = 60  # wrap the flats of a unit at this many terminal columns


def register(sub: Any) -> None:
    async def usage(ctx: CliContext, args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser = add_command(sub, "report", usage, "cli.help.report")
    kinds = parser.add_subparsers(dest="report_kind", metavar="REPORT")
    p = add_command(
        kinds, "enrolment", report_enrolment,
        "cli.help.report.enrolment",
    )
    p.add_argument("--compound", metavar="SLUG", help="cli.help.report.enrolment.compound")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument(
        "--table", choices=TABLES, default=None,
        help="cli.help.report.enrolment.table",
    )
    p.add_argument("--lang", metavar="LOCALE", help="cli.help.arg.locale")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


async def report_enrolment(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.config import ConfigError, protector_from_security
    from linli.bot.features.verification.config import policy_from_config
    from linli.common.i18n import parse_locale
    from linli.common.ids import parse_slug
    from linli.storage.repos.audit import AuditEntry, AuditRepository
    from linli.storage.repos.community import CommunityRepository
    from linli.storage.repos.verification import VerificationRepository
    from linli.verification.service import VerificationService

    try:
        locale = parse_locale(args.lang).value if args.lang else ctx.locale
    except ValueError:
        raise CliError("cli.error.locale", value=str(args.lang)[:20]) from None
    table = args.table or ("compounds" if args.format == "csv" else "all")
    if args.format == "csv" and table == "all":
        raise CliError("cli.report.csv_one_table")
    db = await ctx.database()
    directory = await CommunityRepository(db, ctx.clock).load_directory()
    if args.compound:
        compounds = [await CommunityRepository(db, ctx.clock).compound(parse_slug(args.compound))]
    else:
        compounds = sorted(directory.compounds.values(), key=lambda c: c.slug)
    try:
        protector = protector_from_security(ctx.config.security)
    except ConfigError as exc:
        raise CliError("cli.error.config", detail=str(exc)) from None
    audit = AuditRepository(db, ctx.clock)
    service = VerificationService(
        VerificationRepository(db, ctx.clock, protector), audit, ctx.clock,
        policy_from_config(ctx.config.verification), transactions=db,
    )
    reports = [(c, await service.enrolment(c)) for c in compounds]
    actor = _actor()
    for compound, _ in reports:
        await audit.record(AuditEntry(
            actor=actor, action="report.enrolment", target=f"compound:{compound.slug}",
            station_id=compound.station_id, compound_id=compound.id,
            details={"format": args.format, "table": table},
        ))
    tz = compounds[0].timezone if len(compounds) == 1 else ctx.config.bot.default_timezone
    fmt = Formatter(ctx.translator, locale, tz)
    if args.format == "json":
        ctx.out(json.dumps(_json(reports, directory, ctx), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        ctx.out(render_csv(_one_table(table, reports, directory, ctx, fmt), fmt).rstrip("\r\n"))
    else:
        for line in _text(table, reports, directory, ctx, fmt):
            ctx.out(line)
    return 0


def _with_compound(tables: list[tuple[Compound, Table]]) -> Table:
    """Tables of several compounds as one, with the compound's slug first."""
    name = tables[0][1].name
    columns = ("compound", *tables[0][1].columns)
    rows = [(c.slug, *row) for c, t in tables for row in t.rows]
    return Table(name, columns, rows)


def _one_table(
    name: str, reports: list[tuple[Compound, EnrolmentReport]], directory: Any,
    ctx: CliContext, fmt: Formatter,
) -> Table:
    now = ctx.clock.now()
    if name == "compounds":
        return compounds_table(((c, r.total) for c, r in reports), directory)
    if name == "buildings":
        return _with_compound([(c, buildings_table(r.by_building)) for c, r in reports])
    if name == "unenrolled":
        return _with_compound([(c, unenrolled_table(r)) for c, r in reports])
    return localise_column(
        _with_compound([(c, pending_table(r.pending, now)) for c, r in reports]), fmt,
        "state", "table.state",
    )


def _json(
    reports: list[tuple[Compound, EnrolmentReport]], directory: Any, ctx: CliContext
) -> dict[str, Any]:
    now = ctx.clock.now()
    out = []
    for c, r in reports:
        station = directory.stations.get(c.station_id)
        out.append({
            "slug": c.slug,
            "name": c.name,
            "station": station.slug if station else None,
            "total": dict(zip(FIGURES, figure_cells(r.total), strict=True)),
            "buildings": buildings_table(r.by_building).records(),
            "pending": pending_table(r.pending, now).records(),
            "unenrolled": unenrolled_table(r).records(),
        })
    total = sum_figures(r.total for _, r in reports)
    return {
        "generated_at": now.isoformat(),
        "total": dict(zip(FIGURES, figure_cells(total), strict=True)),
        "compounds": out,
    }


def _render(table: Table, fmt: Formatter) -> list[str]:
    return terminal_table(fmt.header(table), fmt.texts(table), numeric_columns(table))


def _wrap_flats(flats: tuple[str, ...], width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for flat in flats:
        candidate = f"{current} {flat}" if current else flat
        if current and display_width(candidate) > width:
            lines.append(current)
            current = flat
        else:
            current = candidate
    return [*lines, current] if current else lines


def _unenrolled_lines(table: Table, fmt: Formatter) -> list[str]:
    """The flats of each unit, wrapped so a long unit stays readable in a terminal."""
    rows: list[list[str]] = []
    for building, unit, count, flats in table.rows:
        assert isinstance(flats, tuple)
        wrapped = _wrap_flats(flats, FLATS_WIDTH) or [""]
        rows.append([fmt.cell(building), fmt.cell(unit), fmt.cell(count), wrapped[0]])
        rows += [["", "", "", more] for more in wrapped[1:]]
    return terminal_table(fmt.header(table), rows, [False, False, True, False])


def _text(
    name: str, reports: list[tuple[Compound, EnrolmentReport]], directory: Any,
    ctx: CliContext, fmt: Formatter,
) -> list[str]:
    t, loc = ctx.translator, fmt.locale
    now = ctx.clock.now()
    lines: list[str] = []
    if name in ("all", "compounds"):
        lines.append(t.render(loc, "report.enrolment.title", count=len(reports),
                              at=fmt.cell(now)))
        lines += _render(compounds_table(((c, r.total) for c, r in reports), directory), fmt)
        total = sum_figures(r.total for _, r in reports)
        lines.append(t.render(loc, "report.enrolment.total", enrolled=total.households_enrolled,
                              households=total.households, coverage=f"{total.coverage:.1f}"))
        if name == "compounds":
            return lines
    for compound, report in reports:
        cfmt = Formatter(ctx.translator, loc, compound.timezone)
        f = report.total
        if lines:
            lines.append("")
        lines.append(t.render(
            loc, "report.enrolment.compound", name=compound.name, slug=compound.slug,
            enrolled=f.households_enrolled, households=f.households,
            coverage=f"{f.coverage:.1f}", verified=f.verified_members,
            pending=f.pending_members, locked=f.locked_members, over_cap=f.over_cap_households,
        ))
        if name in ("all", "buildings"):
            lines.append(t.render(loc, "report.enrolment.buildings"))
            buildings = buildings_table(report.by_building)
            lines += _render(buildings, cfmt) if buildings.rows else [
                t.render(loc, "report.enrolment.no_households")]
        if name in ("all", "pending"):
            lines.append(t.render(loc, "report.enrolment.pending", count=len(report.pending)))
            pending = localise_column(pending_table(report.pending, now), cfmt, "state",
                                      "table.state")
            if pending.rows:
                lines += _render(pending, cfmt)
        if name in ("all", "unenrolled"):
            unenrolled = unenrolled_table(report)
            lines.append(t.render(loc, "report.enrolment.unenrolled",
                                  count=sum(len(u.flats) for u in report.unenrolled)))
            if unenrolled.rows:
                lines += _unenrolled_lines(unenrolled, cfmt)
    return lines
