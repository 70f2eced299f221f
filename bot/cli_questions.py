"""``linli stats``: response times to residents' questions per compound, staff member and week."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli import CliContext, add_command
from common.errors import DomainError, NotFound
from common.i18n import parse_locale
from questions.service import QuestionService
from questions.stats import resolve_week
from storage.repos.community import CommunityRepository
from storage.repos.questions import QuestionRepository


def register(sub: Any) -> None:
    p = add_command(
        sub, "stats", stats_command,
        "Response times to residents' questions: per compound, staff member and ISO week.",
    )
    p.add_argument("--week", help="ISO week: 2026-W10, W10, last (default: this week)")
    p.add_argument("--station", help="station slug (default: every station)")
    p.add_argument(
        "--compound", action="append", metavar="SLUG", help="compound slug (repeatable)"
    )
    p.add_argument(
        "--weeks", type=int, default=4,
        help="also list the figures of this many weeks up to --week (0 for none; default 4)",
    )
    p.add_argument("--locale", help="zh-CN or en (default: bot.default_locale)")


async def stats_command(ctx: CliContext, args: argparse.Namespace) -> int:
    config = ctx.config
    try:
        locale = parse_locale(args.locale).value if args.locale else config.bot.default_locale
    except ValueError:
        locale = config.bot.default_locale
    db = await ctx.database()
    directory = await CommunityRepository(db, ctx.clock).load_directory(config.bot.admins)
    stations = None
    scope = ctx.translator.render(locale, "question.stats.all_stations")
    if args.station:
        station = directory.station_by_slug(args.station)
        if station is None:
            raise NotFound("error.no_station", slug=args.station)
        stations = [station]
        scope = station.name
    for slug in args.compound or ():
        compound = directory.compound_by_slug(slug)
        if compound is None:
            raise NotFound("error.no_compound", slug=slug)
    in_scope = [
        c for c in directory.compounds.values()
        if (stations is None or c.station_id == stations[0].id)
        and (not args.compound or c.slug in args.compound)
    ]
    tz = in_scope[0].timezone if in_scope else config.bot.default_timezone
    try:
        week = resolve_week(args.week, ctx.clock.now(), tz)
    except ValueError:
        raise DomainError("error.invalid_week", value=str(args.week)[:20]) from None
    service = QuestionService(
        QuestionRepository(db, ctx.clock), ctx.clock, lambda: directory, ctx.translator,
        config.questions.to_settings(), default_timezone=config.bot.default_timezone,
    )
    text = await service.stats_text(
        directory, stations, week, locale, scope=scope,
        compound_slugs=args.compound or None, trend_weeks=max(0, args.weeks),
    )
    ctx.out(text)
    return 0
