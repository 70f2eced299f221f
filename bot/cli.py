"""The ``linli`` command line. Errors come out as one readable line, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot import __version__
from bot.config import Config, ConfigError, load_config
from common.clock import Clock, SystemClock
from common.errors import DomainError
from common.i18n import Translator
from storage.db import Database, DatabaseError

log = logging.getLogger(__name__)

# Feature modules that add subcommands: each has ``register(subparsers)``. Subcommands set
# ``func`` to ``async def handler(ctx: CliContext, args) -> int``.
COMMAND_MODULES = [
    "bot.cli_core",
    "bot.cli_verification",
    "bot.cli_bulletins",
    "bot.cli_tokens",
    "bot.cli_questions",
    "bot.cli_reports",
]

Handler = Callable[["CliContext", argparse.Namespace], Awaitable[int]]


class CliError(Exception):
    """A failure to report to the operator as one line, exit code 1."""


@dataclass
class CliContext:
    """What a CLI handler gets: validated config, a migrated database, a clock, messages."""

    config_path: str | None
    clock: Clock = field(default_factory=SystemClock)
    _config: Config | None = None  # tests and the demo hand in a ready config
    _db: Database | None = None
    _translator: Translator | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    async def database(self) -> Database:
        if self._db is None:
            db = Database(self.config.database.url, echo=self.config.database.echo)
            await db.upgrade()
            self._db = db
        return self._db

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            from bot.messages import all_catalogs

            self._translator = Translator(all_catalogs())
        return self._translator

    def out(self, text: str = "") -> None:
        print(text)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linli",
        description="Linli: a Matrix bot for the chat rooms of residential compounds.",
    )
    parser.add_argument("--config", help="path to config.yaml (or set LINLI_CONFIG)")
    parser.add_argument("--version", action="version", version=f"linli {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


async def _dispatch(args: argparse.Namespace, handler: Handler) -> int:
    ctx = CliContext(config_path=args.config)
    try:
        return await handler(ctx, args)
    finally:
        await ctx.close()


def render_error(exc: DomainError, locale: str = "en") -> str:
    from bot.messages import all_catalogs

    translator = Translator(all_catalogs())
    if translator.has(exc.key):
        return translator.render(locale, exc.key, **exc.params)
    return exc.key


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(_dispatch(args, handler))
    except ConfigError as exc:
        print(f"linli: config error: {exc}", file=sys.stderr)
    except DatabaseError as exc:
        print(f"linli: {exc}", file=sys.stderr)
    except DomainError as exc:
        print(f"linli: {render_error(exc)}", file=sys.stderr)
    except CliError as exc:
        print(f"linli: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the operator
        from bot.errors import new_ref

        ref = new_ref()
        log.exception("unexpected error (ref: %s)", ref)
        print(f"linli: something went wrong (ref: {ref}): {type(exc).__name__}", file=sys.stderr)
    return 1


def add_command(
    sub: Any, name: str, handler: Handler, help_text: str, **kwargs: Any
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=help_text, **kwargs
    )
    parser.set_defaults(func=handler)
    return parser

