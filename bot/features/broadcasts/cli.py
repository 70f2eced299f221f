"""``linli bulletins add|list|show|preview|pause|resume|delete|translate|notice``: the chat's
``!bulletin`` and ``!notice`` commands for the operator (who acts with full rights, recorded
as "cli").

The bulletin spec is one argument, in the chat syntax (see broadcasts.commands)::

    linli bulletins add 'all cron "0 9 * * 1" | 防诈骗提示 | 陌生来电要求转账的，一律是诈骗'

The running bot picks new bulletins up from the database at its next tick. ``notice`` sends
at once through the bot's account (same device, so the ledger's transaction ids still
deduplicate); if it is interrupted, the running bot finishes the fan-out.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from linli.bot.cli import CliContext, add_command

if TYPE_CHECKING:
    from linli.broadcasts.model import CommandResult
    from linli.broadcasts.service import BulletinCommands


def register(sub: Any) -> None:
    async def usage(ctx: CliContext, args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser = add_command(sub, "bulletins", usage, "cli.help.bulletins")
    actions = parser.add_subparsers(dest="bulletins_action", metavar="ACTION")
    p = add_command(actions, "add", cmd_add, "cli.help.bulletins.add")
    p.add_argument("spec", help="cli.help.bulletins.add.spec")
    add_command(actions, "list", cmd_list, "cli.help.bulletins.list")
    for name, handler, text in (
        ("show", cmd_show, "cli.help.bulletins.show"),
        ("pause", cmd_pause, "cli.help.bulletins.pause"),
        ("resume", cmd_resume, "cli.help.bulletins.resume"),
        ("delete", cmd_delete, "cli.help.bulletins.delete"),
    ):
        p = add_command(actions, name, handler, text)
        p.add_argument("number", type=int, metavar="N")
    p = add_command(actions, "preview", cmd_preview, "cli.help.bulletins.preview")
    p.add_argument("number", type=int, metavar="N")
    p.add_argument("--compound", metavar="SLUG", help="cli.help.bulletins.preview.compound")
    p.add_argument("--html", action="store_true", help="cli.help.bulletins.preview.html")
    p = add_command(actions, "notice", cmd_notice,
                    "cli.help.bulletins.notice")
    p.add_argument("target", help="cli.help.bulletins.notice.target")
    p.add_argument("text", help="cli.help.bulletins.notice.text")
    p.add_argument("--room-mention", action="store_true",
                   help="cli.help.bulletins.notice.room_mention")
    p = add_command(actions, "translate", cmd_translate, "cli.help.bulletins.translate")
    p.add_argument("number", type=int, metavar="N")
    p.add_argument("spec", help="cli.help.bulletins.translate.spec")


async def _service(ctx: CliContext) -> BulletinCommands:
    services = await ctx.services()
    directory = await services.load_directory()
    return services.bulletins(lambda: directory)


def _print(ctx: CliContext, result: CommandResult, html: bool = False) -> int:
    from linli.broadcasts.render import render_lines

    if result.lines:
        ctx.out(render_lines(ctx.translator, ctx.locale, result.lines))
    if result.preview is not None:
        ctx.out()
        ctx.out(result.preview.body)
        if html:
            ctx.out()
            ctx.out(result.preview.formatted_body)
    return 0


async def cmd_add(ctx: CliContext, args: argparse.Namespace) -> int:
    return _print(ctx, await (await _service(ctx)).add(None, args.spec))


async def cmd_list(ctx: CliContext, args: argparse.Namespace) -> int:
    return _print(ctx, await (await _service(ctx)).list(None))


async def cmd_show(ctx: CliContext, args: argparse.Namespace) -> int:
    return _print(ctx, await (await _service(ctx)).show(None, args.number))


async def cmd_pause(ctx: CliContext, args: argparse.Namespace) -> int:
    return _print(ctx, await (await _service(ctx)).pause(None, args.number))


async def cmd_resume(ctx: CliContext, args: argparse.Namespace) -> int:
    return _print(ctx, await (await _service(ctx)).resume(None, args.number))


async def cmd_delete(ctx: CliContext, args: argparse.Namespace) -> int:
    return _print(ctx, await (await _service(ctx)).delete(None, args.number))


async def cmd_preview(ctx: CliContext, args: argparse.Namespace) -> int:
    service = await _service(ctx)
    result = await service.preview(None, args.number, compound_slug=args.compound)
    return _print(ctx, result, html=args.html)


async def cmd_translate(ctx: CliContext, args: argparse.Namespace) -> int:
    return _print(ctx, await (await _service(ctx)).translate(None, args.number, args.spec))


async def cmd_notice(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.cli_core import bot_gateway
    from linli.bot.features.broadcasts.transport import MatrixTransport, post_reports
    from linli.broadcasts.render import render_reply

    services = await ctx.services()
    directory = await services.load_directory()
    async with bot_gateway(ctx) as gateway:
        delivery = services.delivery(MatrixTransport(gateway), lambda: directory)
        service = services.bulletins(lambda: directory, delivery=delivery)
        result = await service.notice(None, args.target, args.text,
                                      mention_room=args.room_mention)
        await post_reports(gateway, ctx.translator, result.reports)
    for report in result.reports:
        ctx.out(render_reply(ctx.translator, ctx.locale, report.reply))
    return 0
