"""The command router: parse ``!name args`` into typed values, check the caller's roles, run
the handler, and turn failures into replies (usage, polite refusal, or an error ref)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from linli.bot.errors import new_ref
from linli.bot.matrix.gateway import is_transient
from linli.common.durations import parse_duration
from linli.common.errors import DomainError, excerpt
from linli.common.events import MessagePosted
from linli.common.i18n import Translator
from linli.common.ids import RoomID, UserID, parse_user_id
from linli.community.model import STAFF_ROLES, Compound, Role, Station

log = logging.getLogger(__name__)


class ArgKind(StrEnum):
    USER = "user"
    DURATION = "duration"
    INT = "int"
    WORD = "word"
    TEXT = "text"  # the rest of the line, as typed


class Where(StrEnum):
    ANYWHERE = "anywhere"
    COMPOUND = "compound"  # a compound's room
    OFFICERS = "officers"  # a station's officers' room
    STAFF_ROOMS = "staff_rooms"  # a compound room or an officers' room
    DIRECT = "direct"  # a direct message with the bot


@dataclass(frozen=True)
class Arg:
    name: str
    kind: ArgKind = ArgKind.WORD
    optional: bool = False

    def label(self) -> str:
        inner = self.name.upper()
        return f"[{inner}]" if self.optional else inner


@dataclass
class CommandContext:
    """What a handler gets: who asked, where, in which language, and how to answer."""

    event: MessagePosted
    sender: UserID
    room_id: RoomID
    roles: frozenset[Role]
    locale: str
    compound: Compound | None
    station: Station | None
    translator: Translator
    # Sends the reply (through the outbox in a unit of work: once it commits).
    reply_fn: Callable[[str, str | None], Awaitable[object]]

    def t(self, key: str, **params: Any) -> str:
        return self.translator.render(self.locale, key, **params)

    async def reply(self, key: str, **params: Any) -> None:
        await self.reply_fn(self.t(key, **params), None)

    async def reply_text(self, body: str, html: str | None = None) -> None:
        await self.reply_fn(body, html)


Handler = Callable[[CommandContext, dict[str, Any]], Awaitable[None]]
RolesAnywhere = Callable[[str], frozenset[Role]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    help_key: str
    roles: frozenset[Role] = frozenset({Role.RESIDENT})
    args: tuple[Arg, ...] = ()
    where: Where = Where.ANYWHERE
    aliases: tuple[str, ...] = ()
    first: Callable[[CommandContext], Awaitable[None]] | None = None
    """Runs for every use of the command, before the role and room checks and whoever sent
    it: for what must happen even to a refused command (``!verify`` removes a message that
    holds a full name)."""
    roles_anywhere: RolesAnywhere | None = None
    """The roles a user holds anywhere (from the directory): someone refused here who holds
    the command's role for other compounds is told it is for this compound's (station's)
    staff only, rather than that they are not staff."""

    def usage(self, prefix: str) -> str:
        return " ".join([prefix + self.name, *(a.label() for a in self.args)])


class UsageError(Exception):
    def __init__(self, problem_key: str, **params: Any) -> None:
        super().__init__(problem_key)
        self.problem_key = problem_key
        self.params = params


_TOKEN = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')
_HEAD = re.compile(r"(\S+)\s*(.*)\Z", re.S)
_FULL_WIDTH = {"!": "！", "/": "／", "#": "＃", ".": "．"}


def split_command(body: str, prefix: str) -> tuple[str, str] | None:
    """The command name (lower case) and the text after it, or None if ``body`` is no
    command. The full-width form of the prefix, which Chinese input methods type by default
    (``！help``), counts too, and any Unicode space separates the words (U+3000 included)."""
    text = body.strip()
    for p in (prefix, _FULL_WIDTH.get(prefix)):
        if p and text.startswith(p) and len(text) > len(p) and not text[len(p)].isspace():
            m = _HEAD.match(text[len(p):])
            if m:
                return m.group(1).lower(), m.group(2)
    return None


def parse_args(command: Command, text: str) -> dict[str, Any]:
    """Typed values for the command's arguments from the text after its name."""
    values: dict[str, Any] = {}
    tokens = list(_TOKEN.finditer(text))
    pos = 0
    for arg in command.args:
        if arg.kind is ArgKind.TEXT:
            rest = text[tokens[pos].start():].strip() if pos < len(tokens) else ""
            if not rest and not arg.optional:
                raise UsageError("cmd.missing_arg", arg=arg.label())
            values[arg.name] = rest or None
            pos = len(tokens)
            break
        if pos >= len(tokens):
            if arg.optional:
                values[arg.name] = None
                continue
            raise UsageError("cmd.missing_arg", arg=arg.label())
        m = tokens[pos]
        raw = next(g for g in m.groups() if g is not None)
        pos += 1
        values[arg.name] = _convert(arg, raw)
    if pos < len(tokens):
        raise UsageError("cmd.extra_args")
    return values


_NUMBER = re.compile(r"#?([0-9]{1,18})")


def _convert(arg: Arg, raw: str) -> Any:
    """The typed value of one argument; a bad one is a UsageError (the reply shows the
    command's usage) that repeats at most a short excerpt of what was typed."""
    try:
        if arg.kind is ArgKind.USER:
            return parse_user_id(_unwrap_pill(raw))
        if arg.kind is ArgKind.DURATION:
            return parse_duration(raw)
    except DomainError as exc:
        raise UsageError(exc.key, **exc.params) from None
    if arg.kind is ArgKind.INT:
        number = _NUMBER.fullmatch(raw)
        if number is None:
            raise UsageError("cmd.not_a_number", arg=arg.label(), value=excerpt(raw))
        return int(number.group(1))
    return raw


def _unwrap_pill(raw: str) -> str:
    """Accept https://matrix.to/#/@user:server as typed by some clients."""
    if raw.startswith("https://matrix.to/#/"):
        return (
            raw.removeprefix("https://matrix.to/#/").split("?")[0]
            .replace("%40", "@").replace("%3A", ":")
        )
    return raw


@dataclass
class Router:
    translator: Translator
    prefix: str = "!"
    commands: dict[str, Command] = field(default_factory=dict)
    # Roles a person holds anywhere, for commands that do not say their own (the refusal of
    # an officer of another station names this compound's or station's officers).
    roles_anywhere: RolesAnywhere | None = None

    def add(self, commands: Iterable[Command]) -> None:
        for cmd in commands:
            for name in (cmd.name, *cmd.aliases):
                if name in self.commands:
                    raise ValueError(f"command defined twice: {name}")
                self.commands[name] = cmd

    def is_command(self, body: str) -> bool:
        return split_command(body, self.prefix) is not None

    def allowed(self, cmd: Command, ctx: CommandContext) -> bool:
        return bool(cmd.roles & ctx.roles)

    def available_here(self, cmd: Command, ctx: CommandContext) -> bool:
        if cmd.where is Where.ANYWHERE:
            return True
        if cmd.where is Where.COMPOUND:
            return ctx.compound is not None
        if cmd.where is Where.OFFICERS:
            return ctx.station is not None and ctx.compound is None
        if cmd.where is Where.STAFF_ROOMS:
            return ctx.compound is not None or ctx.station is not None
        return ctx.compound is None and ctx.station is None

    def refusal(self, cmd: Command, ctx: CommandContext) -> str:
        """The key of the refusal for a caller without the command's roles here: whom the
        command is for (officers and admins, or all staff and admins), and to someone who
        holds such a role elsewhere, that here it is this compound's (station's) only."""
        staff = not cmd.roles.isdisjoint(STAFF_ROLES - {Role.OFFICER})
        suffix = "_staff" if staff else ""
        anywhere = cmd.roles_anywhere or self.roles_anywhere
        if anywhere is not None and not cmd.roles.isdisjoint(anywhere(ctx.sender)):
            place = "compound" if ctx.compound is not None else "station"
            return f"cmd.refused.elsewhere.{place}{suffix}"
        return "cmd.refused.staff" if staff else "cmd.refused"

    async def _first(self, cmd: Command, ctx: CommandContext) -> None:
        assert cmd.first is not None
        try:
            await cmd.first(ctx)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("the first step of %s%s failed (ref: %s)", self.prefix, cmd.name,
                          new_ref())

    def visible(self, ctx: CommandContext) -> list[Command]:
        seen: dict[str, Command] = {}
        for cmd in self.commands.values():
            if self.allowed(cmd, ctx) and self.available_here(cmd, ctx):
                seen[cmd.name] = cmd
        return [seen[k] for k in sorted(seen)]

    async def dispatch(self, ctx: CommandContext) -> bool:
        """Run the command in ``ctx.event``; returns False if the text was no command."""
        split = split_command(ctx.event.body, self.prefix)
        if split is None:
            return False
        name, rest = split
        cmd = self.commands.get(name)
        started = time.monotonic()
        if cmd is None:
            await ctx.reply("cmd.unknown", name=self.prefix + excerpt(name),
                            help=self.prefix + "help")
            return True
        if cmd.first is not None:
            await self._first(cmd, ctx)
        if not self.allowed(cmd, ctx):
            log.info("refused %s%s for %s in %s", self.prefix, cmd.name, ctx.sender, ctx.room_id)
            await ctx.reply(self.refusal(cmd, ctx), name=self.prefix + cmd.name)
            return True
        if not self.available_here(cmd, ctx):
            await ctx.reply(f"cmd.where.{cmd.where.value}", name=self.prefix + cmd.name)
            return True
        try:
            args = parse_args(cmd, rest)
            await cmd.handler(ctx, args)
        except UsageError as exc:
            problem = ctx.t(exc.problem_key, **exc.params)
            await ctx.reply("cmd.usage", problem=problem, usage=cmd.usage(self.prefix),
                            help=ctx.t(cmd.help_key))
        except DomainError as exc:
            if ctx.translator.has(exc.key):
                await ctx.reply_text(ctx.t(exc.key, **exc.params))
            else:
                ref = new_ref()
                log.error("no message for error key %s (ref: %s)", exc.key, ref)
                await ctx.reply("cmd.failed", ref=ref)
        except Exception as exc:
            if is_transient(exc):
                raise  # the event's unit of work is rolled back and the command tried again
            ref = new_ref()
            log.exception("command %s%s failed (ref: %s)", self.prefix, cmd.name, ref)
            await ctx.reply("cmd.failed", ref=ref)
        finally:
            log.info("handled %s%s from %s in %s in %.1f ms", self.prefix, cmd.name, ctx.sender,
                     ctx.room_id, (time.monotonic() - started) * 1000)
        return True
