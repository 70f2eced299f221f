"""CLI of real-name membership: data keys, the household registry, enrolment codes, cards.

    linli keys generate | rotate
    linli households import FILE.csv --compound SLUG [--partial] [--encoding gbk]
    linli households export --compound SLUG --out FILE.csv
    linli households list --compound SLUG
    linli households move-out|remove|restore --compound SLUG --flat 3-2-301 --name NAME
    linli codes issue|revoke --compound SLUG [--household FLAT ...] [--missing]
    linli cards --compound SLUG --out cards.html [--household FLAT ...] [--missing]
    linli enrolment --compound SLUG
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linli.bot.cli import CliContext, CliError, add_command

if TYPE_CHECKING:
    from linli.community.model import Compound
    from linli.storage.repos.audit import AuditRepository
    from linli.storage.repos.verification import VerificationRepository
    from linli.verification.cards import CardOfficer
    from linli.verification.importer import Problem
    from linli.verification.registry import RegistryService

LARGE_FILE_ROWS = 2000


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


async def _setup(
    ctx: CliContext, slug: str
) -> tuple[Compound, VerificationRepository, RegistryService, AuditRepository]:
    services = await ctx.services()
    compound = await services.community.compound(slug)
    return compound, services.verification_repo, services.registry, services.audit


def _write_private_sync(path: Path, text: str, encoding: str) -> None:
    # Created readable by the owner only: the file holds personal data (names or codes).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


async def _write_private(path: Path, text: str, encoding: str) -> None:
    try:
        await asyncio.to_thread(_write_private_sync, path, text, encoding)
    except OSError as exc:
        raise CliError("cli.error.write", path=str(path), reason=exc.strerror) from None


async def _audit(audit: AuditRepository, compound: Compound, action: str, **details: Any) -> None:
    from linli.storage.repos.audit import AuditEntry

    await audit.record(AuditEntry(actor=_actor(), action=action, station_id=compound.station_id,
                                  compound_id=compound.id, details=details))


# keys ------------------------------------------------------------------------------------------
async def keys_generate(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.common.crypto import generate_key

    ctx.out(generate_key())
    return 0


async def keys_rotate(ctx: CliContext, args: argparse.Namespace) -> int:
    services = await ctx.services()
    protector = services.protector
    counts = await services.verification_repo.rotate_keys()
    ctx.say("cli.keys.rotated", people=counts.people, key_id=protector.key_id)
    if counts.codes_on_old_keys:
        ctx.say("cli.keys.old_codes", count=counts.codes_on_old_keys)
    return 0


# households ------------------------------------------------------------------------------------
def report_line(ctx: CliContext, row: int, column: str, text: str) -> str:
    """``row 7, column phone: ...`` / ``第 7 行，电话：...`` in the CLI's language (row 0: the
    file as a whole)."""
    if ctx.translator.has(f"cli.column.{column}"):
        column = ctx.t(f"cli.column.{column}")
    if row and column:
        return ctx.t("cli.import.row_column", row=row, column=column, text=text)
    if row:
        return ctx.t("cli.import.row", row=row, text=text)
    if column:
        return ctx.t("cli.import.file_column", column=column, text=text)
    return ctx.t("cli.import.file", text=text)


def _report_line(ctx: CliContext, problem: Problem) -> str:
    return report_line(ctx, problem.row, problem.column, ctx.t(problem.key, **problem.params))


async def households_import(ctx: CliContext, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise CliError("cli.error.read", path=str(path), reason=exc.strerror) from None
    compound, _, registry, audit = await _setup(ctx, args.compound)
    show = sys.stderr.isatty() or data.count(b"\n") > LARGE_FILE_ROWS

    def progress(done: int) -> None:
        if show:
            print("\r" + ctx.t("cli.import.storing", rows=done), end="", file=sys.stderr,
                  flush=True)

    outcome = await registry.import_file(
        compound, data, _actor(), encoding=args.encoding, partial=args.partial,
        progress=progress,
    )
    if show and outcome.stored:
        print(file=sys.stderr)
    parsed = outcome.parsed
    for problem in parsed.problems:
        ctx.out(_report_line(ctx, problem))
    good, bad = len(parsed.records), len(parsed.bad_rows)
    ctx.say("cli.import.read", rows=parsed.rows, encoding=parsed.encoding, good=good, bad=bad)
    if outcome.counts is None:
        if parsed.problems:
            ctx.say("cli.import.nothing_stored")
            return 1
        ctx.say("cli.import.nothing_to_store")
        return 0
    c = outcome.counts
    ctx.say("cli.import.stored", households=c.households_added, added=c.people_added,
            changed=c.people_changed, restored=c.people_restored,
            unchanged=c.people_unchanged)
    await _audit(audit, compound, "registry.import", rows=parsed.rows, good=good, bad=bad,
                 added=c.people_added, changed=c.people_changed)
    return 1 if bad else 0


async def households_export(ctx: CliContext, args: argparse.Namespace) -> int:
    compound, _, registry, audit = await _setup(ctx, args.compound)
    text = await registry.export_csv(compound)
    out = Path(args.out)
    await _write_private(out, text, "utf-8-sig" if args.bom else "utf-8")
    await _audit(audit, compound, "registry.export", rows=text.count("\n") - 1)
    ctx.say("cli.households.exported", count=text.count("\n") - 1, path=str(out))
    return 0


async def households_list(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.verification.model import PersonStatus

    compound, _, registry, _ = await _setup(ctx, args.compound)
    rows = await registry.listing(compound)
    for r in rows:
        status = ("" if r.status == PersonStatus.ACTIVE.value
                  else "  [" + ctx.t(f"cli.person.{r.status}") + "]")
        ctx.out(f"{r.household.ref:<14} {r.masked_name:<6} {r.masked_phone:<13} "
                f"{ctx.t(f'dash.role.{r.role}')}{status}")
    ctx.say("cli.households.count", people=len(rows),
            households=len({r.household.id for r in rows}))
    return 0


async def households_status(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.verification.model import PersonStatus

    compound, _, registry, _ = await _setup(ctx, args.compound)
    if args.action == "restore":
        await registry.restore(compound, args.flat, args.name, _actor())
        ctx.say("cli.households.restored")
        return 0
    status = PersonStatus.MOVED_OUT if args.action == "move-out" else PersonStatus.REMOVED
    members = await registry.move_out(compound, args.flat, args.name, _actor(), status)
    ctx.say("cli.households.marked", status=ctx.t(f"cli.person.{status.value}"),
            accounts=len(members))
    return 0


# codes and cards -----------------------------------------------------------------------------
async def codes_issue(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.verification.codes import format_code

    compound, _, registry, audit = await _setup(ctx, args.compound)
    issues = await registry.issue_codes(compound, _actor(), args.household, args.missing)
    for issue in issues:
        ctx.out(f"{issue.household.ref:<14} {format_code(issue.code)}")
    ctx.say("cli.codes.issued", count=len(issues))
    await _audit(audit, compound, "codes.issue", households=len(issues))
    return 0


async def codes_revoke(ctx: CliContext, args: argparse.Namespace) -> int:
    compound, _, registry, audit = await _setup(ctx, args.compound)
    count = await registry.revoke_codes(compound, _actor(), args.household)
    await _audit(audit, compound, "codes.revoke", codes=count)
    ctx.say("cli.codes.revoked", count=count)
    return 0


async def _card_officer(ctx: CliContext, compound: Compound, wanted: str | None
                        ) -> CardOfficer | None:
    from linli.community.model import Role
    from linli.verification.cards import CardOfficer

    grants = await (await ctx.services()).community.list_grants()
    officers = [
        g for g in grants
        if g.role is Role.OFFICER and (g.compound_id == compound.id
                                       or g.station_id == compound.station_id)
        and (wanted is None or g.user_id == wanted)
    ]
    officers.sort(key=lambda g: (g.compound_id != compound.id, g.user_id))
    for g in officers:
        if g.display_name and g.phone:
            return CardOfficer(g.display_name, g.phone)
    if wanted is not None:
        raise CliError("cli.cards.no_such_officer", user=wanted, slug=compound.slug)
    return None


async def cards(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.verification.cards import render_cards, room_link

    compound, _, registry, audit = await _setup(ctx, args.compound)
    if room_link(compound) is None:
        raise CliError("cli.cards.no_room", slug=compound.slug)
    officer = await _card_officer(ctx, compound, args.officer)
    issues = await registry.issue_codes(compound, _actor(), args.household, args.missing)
    document = render_cards(compound, issues, ctx.translator, officer)
    out = Path(args.out)
    await _write_private(out, document, "utf-8")
    await _audit(audit, compound, "codes.issue", households=len(issues), cards=True)
    ctx.say("cli.cards.written", count=len(issues), path=str(out))
    if officer is None:
        ctx.say("cli.cards.no_officer")
    return 0


async def enrolment(ctx: CliContext, args: argparse.Namespace) -> int:
    compound, _, _, _ = await _setup(ctx, args.compound)
    report = await (await ctx.services()).verification.enrolment(compound)
    t = report.total
    ctx.say("cli.enrolment.total", name=compound.name, enrolled=t.households_enrolled,
            households=t.households, coverage=t.coverage, verified=t.verified_members,
            pending=t.pending_members, locked=t.locked_members,
            over_cap=t.over_cap_households)
    for building, f in report.by_building.items():
        ctx.say("cli.enrolment.building", building=building, enrolled=f.households_enrolled,
                households=f.households, coverage=f.coverage)
    for unit in report.unenrolled:
        place = f"{unit.building}-{unit.unit}" if unit.unit else unit.building
        ctx.say("cli.enrolment.unenrolled", place=place, flats=" ".join(unit.flats))
    return 0


# registration ---------------------------------------------------------------------------------
def _compound_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--compound", required=True, metavar="SLUG", help="cli.help.arg.compound")


def _flats_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--household", action="append", metavar="FLAT",
                   help="cli.help.arg.household")
    p.add_argument("--missing", action="store_true",
                   help="cli.help.arg.missing")


def register(sub: Any) -> None:
    keys = sub.add_parser("keys", help="cli.help.keys", description="cli.help.keys")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    add_command(ksub, "generate", keys_generate, "cli.help.keys.generate")
    add_command(ksub, "rotate", keys_rotate,
                "cli.help.keys.rotate")

    hh = sub.add_parser("households", help="cli.help.households",
                        description="cli.help.households")
    hsub = hh.add_subparsers(dest="households_command", metavar="ACTION", required=True)
    p = add_command(hsub, "import", households_import,
                    "cli.help.households.import")
    p.add_argument("file", metavar="FILE.csv")
    _compound_arg(p)
    p.add_argument("--partial", action="store_true",
                   help="cli.help.households.import.partial")
    p.add_argument("--encoding", help="cli.help.arg.encoding")
    p = add_command(hsub, "export", households_export,
                    "cli.help.households.export")
    _compound_arg(p)
    p.add_argument("--out", required=True, metavar="FILE.csv")
    p.add_argument("--bom", action="store_true", help="cli.help.households.export.bom")
    p = add_command(hsub, "list", households_list, "cli.help.households.list")
    _compound_arg(p)
    for action, text in (("move-out", "cli.help.households.move_out"),
                         ("remove", "cli.help.households.remove"),
                         ("restore", "cli.help.households.restore")):
        p = add_command(hsub, action, households_status, text)
        _compound_arg(p)
        p.add_argument("--flat", required=True, help="cli.help.arg.flat")
        p.add_argument("--name", required=True)
        p.set_defaults(action=action)

    codes = sub.add_parser("codes", help="cli.help.codes", description="cli.help.codes")
    csub = codes.add_subparsers(dest="codes_command", metavar="ACTION", required=True)
    p = add_command(csub, "issue", codes_issue,
                    "cli.help.codes.issue")
    _compound_arg(p)
    _flats_arg(p)
    p = add_command(csub, "revoke", codes_revoke, "cli.help.codes.revoke")
    _compound_arg(p)
    p.add_argument("--household", action="append", metavar="FLAT")

    p = add_command(sub, "cards", cards,
                    "cli.help.cards")
    _compound_arg(p)
    p.add_argument("--out", required=True, metavar="cards.html")
    p.add_argument("--officer", metavar="@USER", help="cli.help.cards.officer")
    _flats_arg(p)

    p = add_command(sub, "enrolment", enrolment, "cli.help.enrolment")
    _compound_arg(p)
