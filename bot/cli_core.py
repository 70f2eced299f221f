"""Core subcommands: run, db, demo; and the bot's Matrix client for any command that needs it.

Only argparse is needed to register them; each handler imports what it uses when it runs, so
``linli --help`` or ``linli compound list`` do not load the Matrix client."""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from linli.bot.cli import CLI_LOG_HANDLER, CliContext, CliError, add_command
from linli.bot.logs import configure_logging

if TYPE_CHECKING:
    from linli.bot.matrix.gateway import MatrixGateway


@asynccontextmanager
async def bot_gateway(ctx: CliContext) -> AsyncIterator[MatrixGateway]:
    """The bot's Matrix client for one CLI command, reusing the running bot's device."""
    from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway, Unreachable
    from linli.bot.runtime import ACCESS_TOKEN, DEVICE_ID

    state = (await ctx.services()).bot_state
    gateway = MatrixGateway(ctx.config.matrix)
    homeserver = ctx.config.matrix.homeserver
    try:
        try:
            device, token = await gateway.login(
                await state.get(DEVICE_ID), await state.get(ACCESS_TOKEN)
            )
        except Unreachable as exc:  # refused, reset, timed out: what aiohttp said
            raise CliError("cli.error.homeserver", homeserver=homeserver,
                           kind=type(exc.__cause__ or exc).__name__) from exc
        except MatrixActionError as exc:
            raise CliError("cli.error.login", homeserver=homeserver, detail=str(exc)) from exc
        except Exception as exc:
            raise CliError("cli.error.homeserver", homeserver=homeserver,
                           kind=type(exc).__name__) from exc
        await state.set(DEVICE_ID, device)
        if ctx.config.matrix.access_token is None:
            await state.set(ACCESS_TOKEN, token)
        yield gateway
    finally:
        await gateway.close()


def register(sub: Any) -> None:
    add_command(sub, "run", cmd_run, "cli.help.run")

    db = sub.add_parser("db", help="cli.help.db", description="cli.help.db").add_subparsers(
        dest="db_command", metavar="ACTION"
    )
    add_command(db, "upgrade", cmd_db_upgrade, "cli.help.db.upgrade")


def register_demo(sub: Any) -> None:
    p = add_command(sub, "demo", cmd_demo,
                    "cli.help.demo")
    p.add_argument("--data", default="demo-data", help="cli.help.demo.data")
    p.add_argument("--port", type=int, default=8008)
    p.add_argument("--web-port", type=int, default=8080)


def service_logging(level: str) -> None:
    """Log lines with their time for the long-running bot (the CLI shows warnings only)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == CLI_LOG_HANDLER:
            root.removeHandler(handler)
    configure_logging(level)


async def cmd_run(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.app import run
    from linli.bot.cluster import SingleProcessError, single_process

    try:
        with single_process(ctx.config.database.url):
            service_logging(ctx.config.logging.level)
            return await run(ctx.config)
    except SingleProcessError as exc:
        raise CliError("cli.error.single_process", database=exc.database,
                       lock=exc.lock) from None


async def cmd_db_upgrade(ctx: CliContext, args: argparse.Namespace) -> int:
    await ctx.database()
    ctx.say("cli.db.current")
    return 0


async def cmd_demo(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.demo import run_demo

    service_logging("INFO")
    return await run_demo(args)
