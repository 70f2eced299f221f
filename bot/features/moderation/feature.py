"""Moderation in the rooms: officers' chat commands (mute, unmute, kick, ban, unban, warn,
redact), flood control and the timed lifting of mutes.

The moderation service decides and records; this feature reads what the service needs from
the room (the target's power levels, the room's creators), calls it, and carries out the
effects it returns, in order, through the gateway.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from linli.bot.commands.router import Arg, ArgKind, Command, CommandContext, Where
from linli.bot.matrix.gateway import (
    POWER_LEVELS,
    MatrixActionError,
    MatrixGateway,
    PowerLevelsEdit,
    effect_cause,
    is_transient,
)
from linli.bot.runtime import DirectMessenger, EventEnv
from linli.bot.web.metrics import Sample
from linli.common.errors import excerpt
from linli.common.events import ChatEvent, MessagePosted
from linli.common.i18n import Translator, humanize_duration
from linli.common.ports import CompoundScope
from linli.community.model import Compound, Role
from linli.moderation.flood import FloodControl
from linli.moderation.model import (
    Action,
    Ban,
    Effect,
    Kick,
    Outcome,
    Redact,
    Report,
    RestrictionKind,
    RoomPower,
    SetPowerLevel,
    TellUser,
    Unban,
)
from linli.moderation.policy import MODERATOR_ROLES, valid_event_id
from linli.moderation.service import ModerationService

log = logging.getLogger(__name__)

MEMBER = "m.room.member"
MEMBERS = frozenset({"join"})
KICKABLE = frozenset({"join", "invite", "knock"})
_ROOM_ACTIONS = (SetPowerLevel, Kick, Ban, Unban, Redact)
_Handler = Callable[[CommandContext, dict[str, Any]], Awaitable[None]]
GrantedLevel = Callable[[str, str], Awaitable[int | None]]
"""The level other features give (room, user) now (verification: the verified level)."""


class _NotCarriedOut(Exception):
    """Raised inside ``ModerationService.attempt`` to take a decision's records back."""

    def __init__(self, failure: EffectFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


@dataclass(frozen=True)
class EffectFailure:
    """A room action the homeserver did not carry out; ``remaining`` starts with it."""

    effect: Effect
    error: Exception
    remaining: tuple[Effect, ...]

    @property
    def permanent(self) -> bool:
        return isinstance(self.error, MatrixActionError) and self.error.permanent

    def describe(self) -> str:
        if isinstance(self.error, MatrixActionError):
            return self.error.errcode or self.error.status or "error"
        return type(self.error).__name__


def _level(value: Any, default: int = 0) -> int:
    """Power levels are integers, but old rooms may hold them as strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def room_power(power_levels: dict[str, Any], user_id: str) -> RoomPower:
    """What the service needs from ``m.room.power_levels`` about one user."""
    users = power_levels.get("users") or {}
    events = power_levels.get("events") or {}
    events_default = _level(power_levels.get("events_default"), 0)
    entry = users.get(user_id)
    return RoomPower(
        user_level=None if entry is None else _level(entry),
        users_default=_level(power_levels.get("users_default"), 0),
        send_level=_level(events.get("m.room.message"), events_default),
    )


def split_by_action(effects: Iterable[Effect]) -> list[list[Effect]]:
    """Groups of one room action and the messages after it (the report of that action), so
    one lift that fails does not hold up the others of the same ``due`` batch."""
    groups: list[list[Effect]] = []
    for effect in effects:
        if isinstance(effect, _ROOM_ACTIONS) or not groups:
            groups.append([effect])
        else:
            groups[-1].append(effect)
    return groups


class ModerationFeature:
    name = "moderation"
    sees_commands = True  # "!x" floods count like any other message
    durable_tick = True  # the runtime runs tick() in a unit of work
    divided_tick = True  # tick() takes the compounds this process owns (bot/cluster.py)

    def __init__(
        self,
        service: ModerationService,
        flood: FloodControl,
        gateway: MatrixGateway,
        dms: DirectMessenger,
        translator: Translator,
        prefix: str = "!",
        granted_level: GrantedLevel | None = None,
    ) -> None:
        self.service = service
        self.flood = flood
        self.gateway = gateway
        self.dms = dms
        self.translator = translator
        self.prefix = prefix
        self.granted_level = granted_level
        self.actions: Counter[Action] = Counter()

    # feature protocol ---------------------------------------------------------------------
    def commands(self) -> Iterable[Command]:
        roles = MODERATOR_ROLES
        user = Arg("user", ArgKind.USER)
        reason = Arg("reason", ArgKind.TEXT)
        optional_reason = Arg("reason", ArgKind.TEXT, optional=True)
        here = Where.COMPOUND
        g = self._guarded

        def command(name: str, handler: _Handler, args: tuple[Arg, ...]) -> Command:
            return Command(name, g(handler), f"moderation.help.{name}", roles, args, here,
                           roles_anywhere=self._roles_anywhere)

        return [
            command("mute", self.mute, (user, Arg("duration", ArgKind.DURATION), reason)),
            command("unmute", self.unmute, (user, optional_reason)),
            command("kick", self.kick, (user, reason)),
            command("ban", self.ban, (user, reason)),
            command("unban", self.unban, (user, optional_reason)),
            command("warn", self.warn, (user, reason)),
            command("redact", self.redact, (optional_reason,)),
        ]

    def _roles_anywhere(self, user: str) -> frozenset[Role]:
        return self.service.directory().roles_anywhere(user)

    async def start(self) -> None:
        return None

    async def on_event(self, event: ChatEvent, env: EventEnv) -> None:
        """Flood control. Counting is in memory; the room is read only when someone trips
        the limit, so a busy district costs no homeserver request per message."""
        if env.compound is None or not isinstance(event, MessagePosted):
            return
        count = self.flood.observe(event.room_id, event.sender, event.at)
        if count is None:
            return
        if event.sender in (await self.gateway.room_info(event.room_id)).creators:
            log.warning("%s floods %s but created the room; cannot mute",
                        event.sender, event.room_id)
            return
        power = await self._power(event.room_id, event.sender)
        try:
            async with self.service.attempt():
                outcome = await self.flood.mute(event.room_id, event.sender, count, power)
                if not outcome.effects:
                    return
                failure = await self.carry_out(outcome.effects)
                if failure is not None:
                    raise _NotCarriedOut(failure)
        except _NotCarriedOut as exc:
            log.warning("flood mute of %s in %s not applied: %s",
                        event.sender, event.room_id, exc.failure.describe())
            await self.service.record_failure(
                self.gateway.user_id, Action.FLOOD_MUTE, env.compound.id, event.sender,
                exc.failure.describe(),
            )
            return
        self.actions[Action.FLOOD_MUTE] += 1

    async def tick(self, now: datetime, scope: CompoundScope = None) -> None:
        """End the timed restrictions that are due in the compounds of ``scope`` (the ones
        this process owns; None: all). Their end times are in the database, so this works
        across restarts and handovers.

        ``due_lifts`` marks each restriction lifted as it hands out its effects; they are
        applied here, one lift after another, in the runtime's unit of work: a crash or a
        passing failure rolls the marks back and the lifts are done again on the next tick,
        their reports with the same transaction ids (derived from the restriction).
        """
        for restriction, effects in await self.service.due_lifts(now, scope):
            with effect_cause(f"moderation-lift:{restriction.id}"):
                error = None
                for group in split_by_action(effects):
                    failure = await self._lift(group)
                    if failure is not None and error is None:
                        error = failure.describe()
                # The audit says what happened: a lift the homeserver refused for good is
                # recorded as refused, not as done.
                await self.service.record_lift(restriction, error)

    async def metrics(self) -> list[Sample]:
        counts = await self.service.repo.count_active()
        samples = [
            Sample("linli_moderation_restrictions_active", counts[kind],
                   "Mutes and bans the bot holds", labels={"kind": kind.value})
            for kind in RestrictionKind
        ]
        samples += [
            Sample("linli_moderation_actions_total", self.actions[action],
                   "Moderation actions carried out since start", "counter",
                   {"action": action.value})
            for action in Action
        ]
        return samples

    # commands -----------------------------------------------------------------------------
    async def mute(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        compound, target = self._compound(ctx), args["user"]
        if await self._refuse_creator(ctx, compound, target) or await self._refuse_non_member(
            ctx, compound, target
        ):
            return
        power = await self._power(ctx.room_id, target)
        await self._decide_and_do(
            ctx, Action.MUTE, target,
            lambda: self.service.mute(ctx.sender, target, compound.id, args["duration"],
                                      args["reason"], power),
            "moderation.done.mute", user=target,
            duration=humanize_duration(args["duration"], ctx.locale),
        )

    async def unmute(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        compound, target = self._compound(ctx), args["user"]
        await self._decide_and_do(
            ctx, Action.UNMUTE, target,
            lambda: self.service.unmute(ctx.sender, target, compound.id, args["reason"] or ""),
            "moderation.done.unmute", user=target,
        )

    async def kick(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        compound, target = self._compound(ctx), args["user"]
        # A kick also withdraws an invitation or turns down a knock.
        if await self._refuse_creator(ctx, compound, target) or await self._refuse_non_member(
            ctx, compound, target, KICKABLE
        ):
            return
        await self._decide_and_do(
            ctx, Action.KICK, target,
            lambda: self.service.kick(ctx.sender, target, compound.id, args["reason"]),
            "moderation.done.kick", user=target,
        )

    async def ban(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        """A ban may target anyone, in the room or not (a known spammer before they join)."""
        compound, target = self._compound(ctx), args["user"]
        if await self._refuse_creator(ctx, compound, target):
            return
        await self._decide_and_do(
            ctx, Action.BAN, target,
            lambda: self.service.ban(ctx.sender, target, compound.id, args["reason"]),
            "moderation.done.ban", user=target,
        )

    async def unban(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        compound, target = self._compound(ctx), args["user"]
        await self._decide_and_do(
            ctx, Action.UNBAN, target,
            lambda: self.service.unban(ctx.sender, target, compound.id, args["reason"] or ""),
            "moderation.done.unban", user=target,
        )

    async def warn(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        compound, target = self._compound(ctx), args["user"]
        if await self._refuse_creator(ctx, compound, target) or await self._refuse_non_member(
            ctx, compound, target
        ):
            return
        power = await self._power(ctx.room_id, target)

        def confirmation(outcome: Outcome) -> tuple[str, dict[str, Any]]:
            if any(isinstance(e, SetPowerLevel) for e in outcome.effects):
                self.actions[Action.WARN_MUTE] += 1
                return "moderation.done.warn_mute", {
                    "user": target,
                    "duration": humanize_duration(self.service.settings.warn_mute, ctx.locale),
                }
            return "moderation.done.warn", {"user": target}

        await self._decide_and_do(
            ctx, Action.WARN, target,
            lambda: self.service.warn(ctx.sender, target, compound.id, args["reason"], power),
            confirmation,
        )

    async def redact(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        compound = self._compound(ctx)
        target_event = ctx.event.reply_to
        if target_event is None:
            await ctx.reply("moderation.refused.no_reply", command=self.prefix + "redact")
            return
        if not valid_event_id(target_event):  # before asking the homeserver about it
            await ctx.reply("moderation.refused.invalid_event", value=excerpt(target_event))
            return
        sender = await self._sender_of(ctx.room_id, target_event)
        if sender is None:
            await ctx.reply("moderation.refused.invalid_event", value=excerpt(target_event))
            return
        await self._decide_and_do(
            ctx, Action.REDACT, sender,
            lambda: self.service.redact(ctx.sender, compound.id, target_event,
                                        args["reason"] or "", sender=sender),
            "moderation.done.redact",
        )

    # carrying out -------------------------------------------------------------------------
    async def carry_out(self, effects: Sequence[Effect]) -> EffectFailure | None:
        """Carry out ``effects`` in order. A room action that fails stops the rest (the
        report after it would be untrue); a report or notice that cannot be delivered is
        logged and skipped."""
        for index, effect in enumerate(effects):
            try:
                await self._one(effect)
            except Exception as exc:  # Matrix refusals and connection failures alike
                if is_transient(exc):
                    raise  # the unit of work is rolled back and done again
                if isinstance(effect, Report | TellUser):
                    log.warning("could not deliver %s: %s", effect.key, _short(exc))
                    continue
                if not isinstance(exc, MatrixActionError):
                    log.exception("%s failed", type(effect).__name__)
                return EffectFailure(effect, exc, tuple(effects[index:]))
        return None

    async def _one(self, effect: Effect) -> None:
        gateway = self.gateway
        if isinstance(effect, SetPowerLevel):
            await self._set_level(effect)
        elif isinstance(effect, Kick):
            await gateway.kick(effect.room_id, effect.user_id, effect.reason or None)
            log.info("kicked %s from %s", effect.user_id, effect.room_id)
        elif isinstance(effect, Ban):
            await gateway.ban(effect.room_id, effect.user_id, effect.reason or None)
            log.info("banned %s from %s", effect.user_id, effect.room_id)
        elif isinstance(effect, Unban):
            await gateway.unban(effect.room_id, effect.user_id)
            log.info("unbanned %s in %s", effect.user_id, effect.room_id)
        elif isinstance(effect, Redact):
            await gateway.redact(effect.room_id, effect.event_id, effect.reason or None)
            log.info("redacted %s in %s", effect.event_id, effect.room_id)
        elif isinstance(effect, Report):
            body = self.translator.render(effect.locale, effect.key, **effect.params)
            await gateway.send_text(effect.room_id, body)
        elif isinstance(effect, TellUser):
            body = self.translator.render(effect.locale, effect.key, **effect.params)
            await self.dms.send(effect.user_id, body)

    async def _set_level(self, effect: SetPowerLevel) -> bool:
        """Write one user's level, unless ``only_if_level`` no longer holds (someone changed
        it since the bot did: theirs stands). Returns whether anything was written."""
        room, user = effect.room_id, effect.user_id
        level = effect.level

        async def change(levels: PowerLevelsEdit) -> None:
            nonlocal level
            if user in levels.creators:
                log.warning("left the level of %s in %s alone: room creator", user, room)
                return
            current = levels.users.get(user)
            if effect.only_if_level is not None and (
                current is None or _level(current) != effect.only_if_level
            ):
                log.info("left the level of %s in %s alone: it is %s, not %s", user, room,
                         current, effect.only_if_level)
                return
            if effect.only_if_level is not None:
                level = await self._level_after_lift(room, user, level)
            levels.set(user, level)

        if not (await self.gateway.edit_power_levels(room, change)).changed:
            return False
        log.info("set the level of %s in %s to %s", user, room, level)
        return True

    async def _level_after_lift(self, room: str, user: str, before: int | None) -> int | None:
        """The level a member gets when a mute ends: the level from before the mute, raised
        to what verification grants now. A member verified while muted can post; and a mute
        recorded again after a crash (whose snapshot holds the mute's own level) still ends
        with the member able to post."""
        granted = await self.granted_level(room, user) if self.granted_level else None
        if not granted:
            return before
        return granted if before is None else max(before, granted)

    async def _lift(self, group: list[Effect]) -> EffectFailure | None:
        failure = await self.carry_out(group)
        if failure is None:
            first = group[0]
            self.actions[Action.AUTO_UNMUTE if isinstance(first, SetPowerLevel)
                         else Action.UNBAN] += 1
            return None
        log.error("gave up a timed lift (%s in %s): %s", type(failure.effect).__name__,
                  getattr(failure.effect, "room_id", "?"), failure.describe())
        return failure

    # helpers ----------------------------------------------------------------------------
    async def _decide_and_do(
        self, ctx: CommandContext, action: Action, target: str | None,
        decide: Callable[[], Awaitable[Outcome]],
        done: str | Callable[[Outcome], tuple[str, dict[str, Any]]], **params: Any,
    ) -> None:
        """Decide (the service records), carry out the effects, and confirm; or reply with
        the refusal. What is recorded is what happened: when the homeserver refuses an
        action for good, the decision's records are taken back and the audit shows the
        refusal instead (``kick_failed`` …). A passing failure propagates: the unit of work
        is rolled back and the command handled again."""
        compound = self._compound(ctx)
        try:
            async with self.service.attempt():
                outcome = await decide()
                if outcome.refusal is not None:
                    await ctx.reply(outcome.refusal.key, **outcome.refusal.params)
                    return
                failure = await self.carry_out(outcome.effects)
                if failure is not None:
                    raise _NotCarriedOut(failure)
        except _NotCarriedOut as exc:
            error = exc.failure.describe()
            log.warning("%s of %s in %s not done: %s", action.value, target, ctx.room_id, error)
            await self.service.record_failure(ctx.sender, action, compound.id, target, error)
            await ctx.reply("moderation.failed", error=error)
            return
        self.actions[action] += 1
        key, values = done(outcome) if callable(done) else (done, params)
        await ctx.reply(key, **values)

    def _guarded(self, handler: _Handler) -> _Handler:
        """Reading the room (power levels, creators, the message to remove) can fail too;
        the officer then hears what the homeserver said rather than an error reference."""

        async def run(ctx: CommandContext, args: dict[str, Any]) -> None:
            try:
                await handler(ctx, args)
            except MatrixActionError as exc:
                if is_transient(exc):
                    raise
                log.warning("moderation command in %s not done: %s", ctx.room_id, exc)
                await ctx.reply("moderation.failed", error=_short(exc))

        return run

    def _compound(self, ctx: CommandContext) -> Compound:
        assert ctx.compound is not None and ctx.compound.room_id  # Where.COMPOUND
        return ctx.compound

    async def _refuse_creator(self, ctx: CommandContext, compound: Compound, user: str) -> bool:
        """Creators of version 12+ rooms have unlimited power: no power level, kick or ban
        can touch them, so the bot says so instead of recording a restriction."""
        assert compound.room_id is not None
        info = await self.gateway.room_info(compound.room_id)
        if user in info.creators and user != self.gateway.user_id:
            await ctx.reply("moderation.refused.creator", user=user)
            return True
        return False

    async def _refuse_non_member(
        self, ctx: CommandContext, compound: Compound, user: str,
        memberships: frozenset[str] = MEMBERS,
    ) -> bool:
        """Only members of the room are acted on: a mistyped or made-up id never ends up
        in the room's power levels or the audit."""
        assert compound.room_id is not None
        if await self._membership(compound.room_id, user) in memberships:
            return False
        await ctx.reply("moderation.refused.not_member", user=user)
        return True

    async def _membership(self, room_id: str, user_id: str) -> str | None:
        """``join``, ``invite``, ``leave`` …, or None for someone the room never saw."""
        try:
            content = await self.gateway.state_event(room_id, MEMBER, user_id)
        except MatrixActionError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return None
            raise
        value = content.get("membership")
        return value if isinstance(value, str) else None

    async def _power(self, room_id: str, user_id: str) -> RoomPower:
        """The user's levels, with what verification grants them now: a mute then knows
        whether the level it replaces was verification's or set by hand."""
        power = room_power(await self.gateway.state_event(room_id, POWER_LEVELS), user_id)
        if self.granted_level is None:
            return power
        return replace(power, granted_level=await self.granted_level(room_id, user_id))

    async def _sender_of(self, room_id: str, event_id: str) -> str | None:
        event = await self.gateway.room_event(room_id, event_id)
        return None if event is None else str(event.sender)


def _short(exc: Exception) -> str:
    if isinstance(exc, MatrixActionError):
        return exc.errcode or exc.status or "error"
    return type(exc).__name__
