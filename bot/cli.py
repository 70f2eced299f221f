"""The ``linli`` command line.

It speaks the deployment's language (``bot.default_locale``, or ``--lang``) and prints what
the operator needs: results on stdout, and on failure one readable line on stderr with exit
code 1, never a traceback (``-v`` shows it, and debug logs). Log lines below WARNING (Alembic's
INFO chatter among them) are not shown unless ``-v`` is given.

Start-up is kept short: this module and the command modules import only argparse and light
helpers at load time; a command imports the database layer, the Matrix client and the rest
when it runs, and a database already at the newest migration is not handed to Alembic.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from linli import __version__

if TYPE_CHECKING:
    import gettext

    from linli.bot.config import Config, SecurityConfig
    from linli.bot.services import Services
    from linli.common.clock import Clock
    from linli.common.crypto import DataProtector
    from linli.common.errors import DomainError
    from linli.common.i18n import Translator
    from linli.storage.db import Database

log = logging.getLogger(__name__)

# Modules that add subcommands, in the order ``linli --help`` lists them: each has
# ``register(subparsers)`` (``module:function`` names another function). Subcommands set
# ``func`` to ``async def handler(ctx: CliContext, args) -> int``. These modules import only
# what building the parser needs; handlers import the rest when they run.
COMMAND_MODULES = [
    "linli.bot.cli_core",
    "linli.bot.features.compounds.cli",
    "linli.bot.cli_core:register_demo",
    "linli.bot.features.verification.cli",
    "linli.bot.features.broadcasts.cli",
    "linli.bot.features.enrolment.cli_tokens",
    "linli.bot.features.questions.cli",
    "linli.bot.features.enrolment.cli_report",
    "linli.bot.cli_cluster",
]
DEFAULT_LOCALE = "zh-CN"
CLI_LOG_HANDLER = "linli-cli"  # warnings only; `linli run` replaces it with the bot's logging

Handler = Callable[["CliContext", argparse.Namespace], Awaitable[int]]


class CliError(Exception):
    """A failure to report to the operator as one line, exit code 1: a message key (of
    bot/locale or any catalogue) and its parameters, shown in the CLI's language."""

    def __init__(self, message: str, /, **params: Any) -> None:
        super().__init__(message)
        self.key = message
        self.params = params


def _system_clock() -> Clock:
    from linli.common.clock import SystemClock

    return SystemClock()


def cli_protector(section: SecurityConfig) -> DataProtector:
    """The data protector; a missing or bad key is the operator's one-line error."""
    from linli.common.crypto import DataKeyError, DataProtector

    try:
        return DataProtector.from_strings(
            section.data_key.get_secret_value() if section.data_key else None,
            [k.get_secret_value() for k in section.previous_data_keys],
        )
    except DataKeyError as exc:
        raise CliError("cli.error.data_key", detail=str(exc)) from None


@dataclass
class CliContext:
    """What a CLI handler gets: validated config, a migrated database, a clock, messages in
    the CLI's language (``locale``), and the services (bot/services.py) built over them."""

    config_path: str | None
    clock: Clock = field(default_factory=_system_clock)
    lang: str | None = None  # --lang; None: the deployment's bot.default_locale
    _config: Config | None = None  # tests and the demo hand in a ready config
    _db: Database | None = None
    _translator: Translator | None = None
    _services: Services | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from linli.bot.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def locale(self) -> str:
        """The language the CLI speaks: --lang, else bot.default_locale."""
        if self.lang:
            return self.lang
        return self.config.bot.default_locale

    async def database(self) -> Database:
        if self._db is None:
            from linli.storage.db import Database

            db = Database(self.config.database.url, echo=self.config.database.echo)
            if not await schema_is_current(db):
                await db.upgrade()
            self._db = db
        return self._db

    async def services(self) -> Services:
        """Repositories and domain services over this command's database, built as the
        running bot builds them; a part is built (and its modules loaded) when first used."""
        if self._services is None:
            from linli.bot.services import Services

            self._services = Services(self.config, await self.database(), self.clock,
                                      self.translator, protector=cli_protector)
        return self._services

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            from linli.bot.messages import all_catalogs
            from linli.common.i18n import Translator

            self._translator = Translator(all_catalogs())
        return self._translator

    def t(self, message: str, /, **params: Any) -> str:
        """A message of the catalogues in the CLI's language."""
        return self.translator.render(self.locale, message, **params)

    def say(self, message: str, /, **params: Any) -> None:
        self.out(self.t(message, **params))

    def out(self, text: str = "") -> None:
        print(text)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()


# --- the schema check -------------------------------------------------------------------------

_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)


def migration_heads(folder: Path) -> set[str] | None:
    """The newest revisions of the migration scripts (those no other script builds on), read
    from their text without importing Alembic; None if a script does not read plainly."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted(folder.glob("*.py")):
        text = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return (revisions - parents) or None


async def schema_is_current(db: Database) -> bool:
    """Whether the database already stands at every newest migration, so the command can skip
    Alembic (about a third of a second) and its log lines. Any doubt answers False."""
    from sqlalchemy import text

    from linli.storage.db import MIGRATIONS

    heads = migration_heads(MIGRATIONS / "versions")
    if heads is None:
        return False
    try:
        async with db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except Exception:  # noqa: BLE001 - no table yet, or unreachable: let the upgrade say
        return False
    return {row[0] for row in rows} == heads


# --- the parser --------------------------------------------------------------------------------


# argparse's own messages, for the Chinese one-line error (the rest of its text is English).
_ARGPARSE_ZH = [
    (re.compile(r"the following arguments are required: (.*)"), "缺少参数：{0}"),
    (re.compile(r"unrecognized arguments: (.*)"), "无法识别的参数：{0}"),
    (re.compile(r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)"),
     "{0} 没有 {1} 这一项（可选：{2}）"),
    (re.compile(r"argument (\S+): invalid \S+ value: (.*)"), "{0} 的值 {1} 无效"),
    (re.compile(r"argument (\S+): expected one argument"), "{0} 后面需要一个值"),
    (re.compile(r"argument (\S+): (.*)"), "{0}：{1}"),
]


_ARGV: ContextVar[tuple[str, ...]] = ContextVar("linli_cli_argv", default=())
"""The command line being parsed, for the language of a usage error."""


# argparse's own texts in a help page -> their keys (argparse builds these when a parser is made,
# in English; the help formatter shows them in the CLI's language).
_ARGPARSE_TEXTS = {
    "usage: ": "cli.help.argparse.usage",
    "positional arguments": "cli.help.argparse.positionals",
    "options": "cli.help.argparse.options",
    "show this help message and exit": "cli.help.argparse.help",
    "show program's version number and exit": "cli.help.argparse.version",
}


def _cli_locale() -> str:
    """The language of a usage error or a help page: --lang, else the deployment's."""
    argv = _ARGV.get()
    ctx = CliContext(config_path=_option(argv, "--config"), lang=_option(argv, "--lang"))
    try:
        return guess_locale(ctx)
    except Exception:  # noqa: BLE001 - only the language of the message is at stake
        return DEFAULT_LOCALE


def _width(text: str) -> int:
    """Columns a text takes in a terminal: CJK and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class LinliHelpFormatter(argparse.HelpFormatter):
    """A help page in the CLI's language: descriptions and argument helps are message keys
    (``cli.help.<command>...``, bot/locale), read from the catalogues only when a page is
    printed; argparse's headings and its own helps are translated too, and Chinese text is
    wrapped by the columns it takes."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        super().__init__(prog, **kwargs)
        self._catalogue: gettext.NullTranslations | None = None  # read when a text is shown
        self._locale = DEFAULT_LOCALE

    def text(self, text: str | None) -> str | None:
        """A help text in the CLI's language: a key's text, argparse's own translated."""
        if not text or text is argparse.SUPPRESS:
            return text
        if self._catalogue is None:  # the bot part's alone, without Babel: help stays quick
            import gettext

            self._locale = _cli_locale()
            self._catalogue = gettext.translation(
                "linli", str(Path(__file__).parent / "locale"),
                languages=[self._locale.replace("-", "_")], fallback=True)
        key = _ARGPARSE_TEXTS.get(text, text)
        found = self._catalogue.gettext(key)
        return text if found == key else found.format()

    def format_help(self) -> str:
        page = super().format_help()
        if self._catalogue is None or self._locale == "en":  # no page: a subcommand's prog
            return page
        # a heading ends with a full-width colon in Chinese; the usage's continued lines line
        # up under the first by the columns its translated prefix takes, not its characters
        page = re.sub(r"(?m)^(\s*\S.*[^\x00-\x7f]):$", r"\1：", page)
        usage, sep, rest = page.partition("\n\n")
        prefix = self.text("usage: ") or ""
        pad = " " * (_width(prefix) - len(prefix))
        if usage.startswith(prefix) and pad:
            usage = usage.replace("\n", "\n" + pad)
        return usage + sep + rest

    def start_section(self, heading: str | None) -> None:
        super().start_section(self.text(heading))

    def add_text(self, text: str | None) -> None:
        super().add_text(self.text(text))

    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups,
                          self.text("usage: " if prefix is None else prefix))

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return self.text(action.help)

    def _split_lines(self, text: str, width: int) -> list[str]:
        text = self._whitespace_matcher.sub(" ", text).strip()
        if text.isascii():
            return super()._split_lines(text, width)
        # a word of ASCII letters stays whole; a CJK character may end a line
        lines, line = [], ""
        for token in re.findall(r"[（“‘《]*(?:[!-~]+|.)|\s", text):
            if line and _width(line + token) > width:
                lines.append(line.rstrip())
                line = "" if token.isspace() else token
            else:
                line += token
        return [*lines, line.rstrip()] if line.strip() else lines

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in self._split_lines(text, width - len(indent)))


class LinliArgumentParser(argparse.ArgumentParser):
    """Usage errors as one line in the deployment's language (exit 2), like every other
    error of the console, instead of argparse's usage block and English line; help pages in
    that language too (LinliHelpFormatter)."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        return LinliHelpFormatter(prog=self.prog)

    def error(self, message: str) -> NoReturn:
        locale = _cli_locale()
        detail = message[:300]
        if locale == "zh-CN":
            for pattern, template in _ARGPARSE_ZH:
                m = pattern.fullmatch(detail)
                if m:
                    detail = template.format(*m.groups())
                    break
        from linli.bot.messages import all_catalogs
        from linli.common.i18n import Translator

        line = Translator(all_catalogs()).render(
            locale, "cli.error.usage", detail=detail, help=f"{self.prog} --help")
        self.exit(2, f"linli: {line}\n")


def _option(argv: tuple[str, ...], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = LinliArgumentParser(
        prog="linli",
        description="cli.help.linli",
    )
    parser.add_argument("--config", help="cli.help.linli.config")
    parser.add_argument("--lang", dest="cli_lang", metavar="LOCALE",
                        help="cli.help.linli.lang")
    parser.add_argument("--version", action="version", version=f"linli {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="cli.help.linli.verbose")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module, _, function = name.partition(":")
        getattr(importlib.import_module(module), function or "register")(sub)
    return parser


def add_command(
    sub: Any, name: str, handler: Handler, help_text: str, **kwargs: Any
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=help_text, **kwargs
    )
    parser.set_defaults(func=handler)
    return parser


# --- running a command ---------------------------------------------------------------------


def render_error(exc: DomainError, locale: str = "en") -> str:
    from linli.bot.messages import all_catalogs
    from linli.common.i18n import Translator

    translator = Translator(all_catalogs())
    if translator.has(exc.key):
        return translator.render(locale, exc.key, **exc.params)
    return exc.key


def guess_locale(ctx: CliContext) -> str:
    """The CLI's language when the config cannot be validated (a config error): --lang, else
    ``bot.default_locale`` as written in the environment or the file, else zh-CN."""
    from linli.common.i18n import parse_locale

    candidates: list[Any] = [ctx.lang, os.environ.get("LINLI_BOT__DEFAULT_LOCALE")]
    path = ctx.config_path or os.environ.get("LINLI_CONFIG")
    if path:
        try:
            from linli.bot.config import load_yaml

            data = load_yaml(Path(path).expanduser().read_text(encoding="utf-8"))
            candidates.append(((data or {}).get("bot") or {}).get("default_locale"))
        except Exception:  # noqa: BLE001, S110 - only a guess; the error itself is reported
            pass
    for value in candidates:
        if isinstance(value, str):
            try:
                return parse_locale(value).value
            except ValueError:
                continue
    return DEFAULT_LOCALE


def error_line(ctx: CliContext, exc: BaseException, verbose: bool = False) -> str:
    """The one line an operator reads for a failed command, in the CLI's language."""
    from linli.bot.config import ConfigError
    from linli.common.errors import DomainError

    def render(locale: str, message: str, /, **params: Any) -> str:
        if not ctx.translator.has(message):
            return message
        return ctx.translator.render(locale, message, **params)

    if isinstance(exc, ConfigError):
        return render(guess_locale(ctx), "cli.error.config", detail=str(exc))
    try:
        locale = ctx.locale
    except ConfigError:
        locale = guess_locale(ctx)
    if isinstance(exc, CliError):
        return render(locale, exc.key, **exc.params)
    if isinstance(exc, DomainError):
        return render(locale, exc.key, **exc.params)
    database_error = _database_error_type()
    if database_error is not None and isinstance(exc, database_error):
        text = str(exc)
        if text.startswith("cannot reach the database"):
            return render(locale, "cli.error.db_unreachable",
                          detail=text.removeprefix("cannot reach the database: "))
        return render(locale, "cli.error.db", detail=text)
    from linli.bot.errors import new_ref

    ref = new_ref()
    log.log(logging.ERROR if verbose else logging.DEBUG, "unexpected error (ref: %s)", ref,
            exc_info=exc)
    return render(locale, "cli.error.unexpected", ref=ref, kind=type(exc).__name__)


def _database_error_type() -> type[Exception] | None:
    module = sys.modules.get("linli.storage.db")  # loaded if the command reached the database
    return getattr(module, "DatabaseError", None) if module else None


async def _dispatch(ctx: CliContext, args: argparse.Namespace, handler: Handler) -> int:
    try:
        return await handler(ctx, args)
    finally:
        await ctx.close()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _ARGV.set(tuple(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (one line, 2) or --help/--version (0)
        return exc.code if isinstance(exc.code, int) else 2
    handler: Handler | None = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: leave a host's (pytest's) logging alone
        console = logging.StreamHandler()
        console.set_name(CLI_LOG_HANDLER)
        console.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s" if args.verbose
            else "linli: %(levelname)s %(name)s: %(message)s"
        ))
        root.addHandler(console)
        root.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    lang: str | None = None
    if args.cli_lang:
        from linli.common.i18n import parse_locale

        try:
            lang = parse_locale(args.cli_lang).value
        except ValueError:
            try:
                parser.error(f"--lang {args.cli_lang!r}: use zh-CN or en")
            except SystemExit as exc:
                return exc.code if isinstance(exc.code, int) else 2
    ctx = CliContext(config_path=args.config, lang=lang)
    try:
        return asyncio.run(_dispatch(ctx, args, handler))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the operator
        print(f"linli: {error_line(ctx, exc, args.verbose)}", file=sys.stderr)
    return 1
