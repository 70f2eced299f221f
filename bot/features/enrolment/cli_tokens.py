"""``linli tokens create|list|revoke``: tokens for the admin dashboard.

A token is printed once at creation and stored only as a hash; ``list`` never shows secrets.
"""

from __future__ import annotations

import argparse
import unicodedata
from typing import TYPE_CHECKING, Any

from linli.bot.cli import CliContext, add_command

if TYPE_CHECKING:
    from linli.common.ids import StationId
    from linli.enrolment.model import WebToken

CLI_ACTOR = "cli"
TOKEN_KINDS = ("admin", "officer")  # enrolment.model.PrincipalKind


def register(sub: Any) -> None:
    async def usage(ctx: CliContext, args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser = add_command(sub, "tokens", usage, "cli.help.tokens")
    actions = parser.add_subparsers(dest="tokens_action", metavar="ACTION")
    create = add_command(
        actions, "create", create_token, "cli.help.tokens.create"
    )
    create.add_argument("--role", required=True, choices=TOKEN_KINDS)
    create.add_argument(
        "--station", metavar="SLUG",
        help="cli.help.tokens.create.station",
    )
    create.add_argument("--label", required=True, help="cli.help.tokens.create.label")
    add_command(actions, "list", list_tokens, "cli.help.tokens.list")
    revoke = add_command(actions, "revoke", revoke_token, "cli.help.tokens.revoke")
    revoke.add_argument("id", type=int, metavar="ID")


async def create_token(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.common.ids import parse_slug
    from linli.enrolment.service import TokenService
    from linli.storage.repos.audit import AuditEntry, AuditRepository
    from linli.storage.repos.community import CommunityRepository
    from linli.storage.repos.enrolment import WebTokenRepository

    db = await ctx.database()
    locale = ctx.locale
    t = ctx.translator
    station_id: StationId | None = None
    scope = t.render(locale, "tokens.scope.district")
    if args.station:
        station = await CommunityRepository(db, ctx.clock).station(parse_slug(args.station))
        station_id = station.id
        scope = t.render(locale, "tokens.scope.station", station=station.slug)
    issued = await TokenService(WebTokenRepository(db, ctx.clock), ctx.clock).create(
        args.role, station_id, args.label
    )
    await AuditRepository(db, ctx.clock).record(
        AuditEntry(
            actor=CLI_ACTOR,
            action="token.create",
            target=f"token:{issued.token.id}",
            station_id=station_id,
            details={"kind": issued.token.kind.value, "label": issued.token.label},
        )
    )
    ctx.out(
        t.render(
            locale, "tokens.created",
            id=issued.token.id, kind=issued.token.kind.value, scope=scope,
            label=issued.token.label,
        )
    )
    ctx.out(issued.secret)
    ctx.out(t.render(locale, "tokens.shown_once"))
    return 0


async def revoke_token(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.enrolment.service import TokenService
    from linli.storage.repos.audit import AuditEntry, AuditRepository
    from linli.storage.repos.enrolment import WebTokenRepository

    db = await ctx.database()
    locale = ctx.locale
    token = await TokenService(WebTokenRepository(db, ctx.clock), ctx.clock).revoke(args.id)
    await AuditRepository(db, ctx.clock).record(
        AuditEntry(
            actor=CLI_ACTOR,
            action="token.revoke",
            target=f"token:{token.id}",
            station_id=token.station_id,
            details={"label": token.label},
        )
    )
    ctx.out(ctx.translator.render(locale, "tokens.revoked", id=token.id, label=token.label))
    return 0


async def list_tokens(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.common.i18n import format_local_time
    from linli.enrolment.service import TokenService
    from linli.storage.repos.community import CommunityRepository
    from linli.storage.repos.enrolment import WebTokenRepository

    db = await ctx.database()
    locale = ctx.locale
    tz = ctx.config.bot.default_timezone
    t = ctx.translator
    tokens = await TokenService(WebTokenRepository(db, ctx.clock), ctx.clock).list_tokens()
    if not tokens:
        ctx.out(t.render(locale, "tokens.none"))
        return 0
    slugs = {s.id: s.slug for s in await CommunityRepository(db, ctx.clock).list_stations()}

    def row(tok: WebToken) -> list[str]:
        scope = (
            t.render(locale, "tokens.scope.station", station=slugs.get(tok.station_id, "?"))
            if tok.station_id is not None
            else t.render(locale, "tokens.scope.district")
        )
        return [
            str(tok.id),
            tok.kind.value,
            scope,
            tok.label,
            format_local_time(tok.created_at, tz, locale),
            format_local_time(tok.last_used_at, tz, locale)
            if tok.last_used_at
            else t.render(locale, "tokens.never"),
            t.render(locale, "tokens.state.active" if tok.active else "tokens.state.revoked"),
        ]

    header = t.render(locale, "tokens.header").split("|")
    for line in render_table(header, [row(tok) for tok in tokens]):
        ctx.out(line)
    return 0


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def render_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(_width(cell) for cell in column) for column in zip(header, *rows, strict=True)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell + " " * (width - _width(cell)) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]
