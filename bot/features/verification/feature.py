"""Real-name membership at the Matrix edge.

Joins (mute mode) and knocks (knock mode) of compound rooms go to the VerificationService,
direct messages to the bot are verification attempts, and ``tick`` hands out reminders,
notices and removals. The service decides and records; this feature carries out the effects
it returns: direct messages, the power level that lets a verified member post (mute mode) or
the invitation (knock mode), the welcome, kicks (never bans) and reports to the station's
officers' room. Each effect is carried out on its own: one that fails is logged (and a room
action that failed for a passing reason is tried again on the next tick) and never stops
the others.

Officers' commands (officers and admins; in the compound room or the station's officers'
room)::

    !verify @user FLAT NAME     after a door visit; the command message, which holds the
                                full name, is redacted at once and the answer is masked
    !revoke @user
    !extend @user 48h
    !pending [SLUG]

In the officers' room the compound is the one the FLAT names (``meiyuan:3-2-301``), else the
station's only compound, else the one where @user waits to verify (for ``!revoke``: the one
the account is verified in). Texts are rendered in the compound's language, in which the
service already formatted times and durations.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from linli.bot.commands.router import (
    Arg,
    ArgKind,
    Command,
    CommandContext,
    UsageError,
    Where,
    parse_args,
    split_command,
)
from linli.bot.matrix.gateway import (
    VERIFIED_POWER,
    MatrixActionError,
    MatrixGateway,
    PowerLevelsEdit,
    effect_cause,
    is_transient,
)
from linli.bot.runtime import DirectMessenger, EventEnv
from linli.bot.runtime.outbox import Outbox, person_target, room_target
from linli.bot.web.metrics import Sample
from linli.common.errors import DomainError, excerpt
from linli.common.events import (
    ChatEvent,
    Membership,
    MembershipChanged,
    MessageEdited,
    MessagePosted,
)
from linli.common.i18n import Translator
from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.common.ports import CompoundScope, in_scope
from linli.community.model import AdmissionMode, Compound, Directory, Role
from linli.verification.model import (
    AttemptOutcome,
    Effect,
    EffectKind,
    MemberState,
    OfficerResult,
)
from linli.verification.service import VerificationService

log = logging.getLogger(__name__)

OFFICER_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
PENDING_LIST_LIMIT = 100  # lines per compound in a !pending answer
DUE_BATCH = 100  # members' due work per tick and unit of work

MutedByModeration = Callable[[str, str], Awaitable[bool]]
"""Whether the moderation service holds a mute on (room, user): such a level stays."""


@dataclass(frozen=True)
class _Shown(Arg):
    """Parsed leniently (optional) so that the handler always runs and can redact the
    message, but shown as required in the usage line."""

    optional: bool = True

    def label(self) -> str:
        return self.name.upper()


_VERIFY_ARGS = (
    Arg("user", ArgKind.USER), Arg("flat", ArgKind.WORD), Arg("name", ArgKind.TEXT),
)


def _level(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _describe(exc: Exception) -> str:
    if isinstance(exc, MatrixActionError):
        return exc.errcode or exc.status or "error"
    return type(exc).__name__


class VerificationFeature:
    name = "verification"
    durable_tick = True  # the runtime runs tick() in a unit of work
    divided_tick = True  # tick() takes the compounds this process owns (bot/cluster.py)

    def __init__(
        self,
        service: VerificationService,
        gateway: MatrixGateway,
        dms: DirectMessenger,
        translator: Translator,
        directory: Callable[[], Directory],
        muted_by_moderation: MutedByModeration | None = None,
        default_locale: str = "zh-CN",
        prefix: str = "!",
        outbox: Outbox | None = None,
    ) -> None:
        self.service = service
        self.gateway = gateway
        self.dms = dms
        self.translator = translator
        self.directory = directory
        self.muted_by_moderation = muted_by_moderation
        self.default_locale = default_locale
        self.prefix = prefix
        self.outcomes: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        # Effects decided in a unit of work are recorded there and carried out once it
        # commits (bot/runtime/outbox.py); without one, at once.
        self.outbox = outbox
        if outbox is not None:
            outbox.register("verification", self._carry_out_recorded)

    # feature protocol ---------------------------------------------------------------------
    def commands(self) -> Iterable[Command]:
        where = Where.STAFF_ROOMS
        anywhere = self._roles_anywhere
        return [
            Command("verify", self.cmd_verify, "verification.help.verify", OFFICER_ROLES,
                    (_Shown("user"), _Shown("flat"), _Shown("name", ArgKind.TEXT)), where,
                    first=self._redact_if_named, roles_anywhere=anywhere),
            Command("revoke", self.cmd_revoke, "verification.help.revoke", OFFICER_ROLES,
                    (Arg("user", ArgKind.USER),), where, roles_anywhere=anywhere),
            Command("extend", self.cmd_extend, "verification.help.extend", OFFICER_ROLES,
                    (Arg("user", ArgKind.USER), Arg("duration", ArgKind.DURATION)), where,
                    roles_anywhere=anywhere),
            Command("pending", self.cmd_pending, "verification.help.pending", OFFICER_ROLES,
                    (Arg("compound", ArgKind.WORD, optional=True),), where,
                    roles_anywhere=anywhere),
        ]

    def _roles_anywhere(self, user: str) -> frozenset[Role]:
        return self.directory().roles_anywhere(user)

    async def start(self) -> None:
        return None

    async def on_event(self, event: ChatEvent, env: EventEnv) -> None:
        if isinstance(event, MembershipChanged) and env.compound is not None:
            await self._membership(event, env.compound, env.directory)
        elif (isinstance(event, MessagePosted) and env.dm_user is not None
              and event.sender == env.dm_user and not event.is_notice):
            await self._direct_message(event.room_id, event.event_id, event.body, env.dm_user)
        elif (isinstance(event, MessageEdited) and env.dm_user is not None
              and event.sender == env.dm_user):
            # Element corrects a typo with an edit: the edit is the resident's new answer,
            # handled once like any event (its own id), and redacted like any answer.
            await self._direct_message(event.room_id, event.event_id, event.body, env.dm_user)

    async def tick(self, now: datetime, scope: CompoundScope = None) -> None:
        """The due work of every compound with a room in ``scope`` (the compounds this process
        owns; None: all): reminders, notices, removals, adopted members' prompts. Claimed and
        carried out in the runtime's unit of work, so a crash or a passing failure in between
        rolls the claim back and the work is done again, with the same transaction ids (see
        ``Effect.cause``)."""
        compounds = [c for c in self.directory().compounds.values()
                     if c.room_id and in_scope(scope, c.id)]
        if compounds:
            await self.carry_out(await self.service.due_work(compounds, limit=DUE_BATCH))

    async def granted_level(self, compound: Compound, user: UserID) -> int | None:
        """What verification says of ``user``'s level in ``compound`` now, for moderation when
        a mute ends: the verified level if verified, 0 if verification knows the member and
        grants nothing (pending, revoked, removed), None if it has no say (a member it never
        saw, or a knock-mode room, where members are let in rather than given a level)."""
        if compound.admission_mode is AdmissionMode.KNOCK:
            return None
        member = await self.service.state(compound, user)
        if member is None:
            return None
        return VERIFIED_POWER if member.state is MemberState.VERIFIED else 0

    async def metrics(self) -> list[Sample]:
        counts = await self.service.member_counts(list(self.directory().compounds.values()))
        samples = [
            Sample("linli_verification_members", counts[state],
                   "Members of compound rooms by verification state", labels={"state": state})
            for state in (MemberState.PENDING, MemberState.VERIFIED, MemberState.LOCKED)
        ]
        samples += [
            Sample("linli_verification_attempts_total", self.outcomes[outcome],
                   "Verification replies by direct message since start, by outcome",
                   "counter", {"outcome": outcome})
            for outcome in AttemptOutcome
        ]
        samples += [
            Sample("linli_verification_manual_total", self.outcomes[f"manual_{action}"],
                   "Officers' verification commands carried out since start", "counter",
                   {"action": action})
            for action in ("verify", "revoke", "extend")
        ]
        samples.append(Sample(
            "linli_verification_effect_failures_total", sum(self.failures.values()),
            "Verification effects the homeserver did not carry out", "counter",
        ))
        return samples

    async def flat_label(self, compound: Compound, user_id: UserID) -> str | None:
        """A verified member's flat ("3栋2单元301室"), never a name; None if not verified.
        For the questions feature's flags."""
        return await self.service.flat_label(compound, user_id)

    # events ---------------------------------------------------------------------------------
    async def _membership(
        self, event: MembershipChanged, compound: Compound, directory: Directory
    ) -> None:
        user = event.user_id
        if user == self.gateway.user_id or directory.is_staff_in_compound(user, compound):
            return
        knock = compound.admission_mode is AdmissionMode.KNOCK
        if (event.knocked if knock else event.joined):
            effects = await self.service.on_join(compound, user)
            log.info("%s %s compound %s", user, "knocked on" if knock else "joined",
                     compound.slug)
            await self.carry_out(effects)
        elif event.left or (event.prev_membership is Membership.KNOCK
                            and event.membership is Membership.LEAVE and event.sender == user):
            await self.service.on_leave(compound, user)
            log.info("%s left compound %s", user, compound.slug)

    async def _direct_message(self, room_id: RoomID, event_id: EventID, body: str,
                              user: UserID) -> None:
        """A reply in the bot's direct room: a verification attempt for the compound the
        person waits in. The text (a code and a name) is never logged."""
        compounds = self.directory().compounds
        compound = await self.service.reply_target(user, body, compounds)
        if compound is None:
            linked = await self.service.linked_compound(user)
            home = compounds.get(linked) if linked is not None else None
            if home is not None:
                reply = self._t(home.locale, "verification.dm.already_verified",
                                compound=home.name)
            else:
                reply = self._t(self.default_locale, "verification.dm.nothing_to_verify")
            await self._send_quietly(room_id, reply)
            return
        result = await self.service.attempt(compound, user, body)
        self.outcomes[result.outcome.value] += 1
        log.info("verification reply from %s for compound %s: %s", user, compound.slug,
                 result.outcome.value)
        await self._send_quietly(
            room_id, self._t(compound.locale, result.reply_key, **result.reply_params)
        )
        await self.carry_out(result.effects)
        # The reply holds a code and a full name: it does not stay on the homeserver
        # (Synapse purges redacted content after redaction_retention_period).
        await self._redact_quietly(room_id, event_id)

    # effects ----------------------------------------------------------------------------------
    async def carry_out(self, effects: Sequence[Effect]) -> None:
        """Carry out each effect on its own (inside a unit of work: record it, to be carried
        out once the unit commits); a refusal is logged and does not stop the rest, a passing
        failure propagates (the caller's unit of work is done again, or the recorded effect
        waits for the outbox's retry)."""
        for effect in effects:
            with effect_cause(effect.cause) if effect.cause else contextlib.nullcontext():
                if self.outbox is None:
                    await self._carry_out_one(effect)
                else:
                    await self.outbox.submit("verification", self._target(effect),
                                             _payload(effect))

    def _target(self, effect: Effect) -> str:
        """Whose effects keep their order with this one: the person's direct messages, or
        the room's changes and messages."""
        if effect.kind is EffectKind.SEND_DM and effect.user_id is not None:
            return person_target(effect.user_id)
        compound = self.directory().compounds.get(effect.compound_id)
        if effect.kind is EffectKind.NOTIFY_OFFICERS and compound is not None:
            room = self._officers_room(compound)
            if room is not None:
                return room_target(room)
        if compound is not None and compound.room_id:
            return room_target(compound.room_id)
        return f"compound:{effect.compound_id}"  # skipped when carried out: no room

    async def _carry_out_recorded(self, payload: dict[str, Any]) -> None:
        await self._carry_out_one(Effect(
            EffectKind(payload["kind"]), CompoundId(payload["compound"]),
            UserID(payload["user"]) if payload.get("user") else None, payload.get("key"),
            dict(payload.get("params") or {}), payload.get("cause") or "",
        ))

    async def _carry_out_one(self, effect: Effect) -> None:
        try:
            await self._one(effect)
        except Exception as exc:  # Matrix refusals and connection failures alike
            if is_transient(exc):
                raise
            self.failures[effect.kind.value] += 1
            if isinstance(exc, MatrixActionError):
                log.warning("verification %s of %s in compound %d not done: %s",
                            effect.kind.value, effect.user_id, effect.compound_id,
                            _describe(exc))
            else:
                log.exception("verification %s of %s in compound %d failed",
                              effect.kind.value, effect.user_id, effect.compound_id)

    async def _one(self, effect: Effect) -> None:
        compound = self.directory().compounds.get(effect.compound_id)
        if compound is None or compound.room_id is None:
            log.warning("verification %s for compound %d skipped: no such compound or room",
                        effect.kind.value, effect.compound_id)
            return
        kind, user = effect.kind, effect.user_id
        if kind is EffectKind.SEND_DM:
            assert user is not None and effect.key
            await self.dms.send(user, self._render(compound, effect))
        elif kind is EffectKind.ADMIT:
            assert user is not None
            await self._admit(compound, user)
        elif kind is EffectKind.RESTRICT:
            assert user is not None
            await self._restrict(compound, user)
        elif kind is EffectKind.WELCOME:
            await self.gateway.send_text(compound.room_id, self._render(compound, effect),
                                         mentions=[user] if user else None)
        elif kind is EffectKind.KICK:
            assert user is not None
            # A kick rejects a knock as well; the reason is what the person reads.
            await self.gateway.kick(compound.room_id, user, self._render(compound, effect))
            log.info("removed %s from compound %s (%s)", user, compound.slug, effect.key)
        elif kind is EffectKind.NOTIFY_OFFICERS:
            room = self._officers_room(compound)
            if room is None:
                log.warning("compound %s has no officers' room for %s", compound.slug,
                            effect.key)
                return
            await self.gateway.send_text(room, self._render(compound, effect))

    async def _admit(self, compound: Compound, user: UserID) -> None:
        """Let a verified member in: an invitation in knock mode; in mute mode the level that
        lets them post, but only if the bot's own verification is what held them back: a
        level someone set (an officer's mute, a moderation mute) is left alone."""
        room = compound.room_id
        assert room is not None
        if compound.admission_mode is AdmissionMode.KNOCK:
            try:
                await self.gateway.invite(room, user)
            except MatrixActionError as exc:
                if "already in the room" in exc.message:
                    return
                raise
            log.info("invited verified %s to compound %s", user, compound.slug)
            return
        admitted = False

        async def change(levels: PowerLevelsEdit) -> None:
            nonlocal admitted
            if user in levels.creators:
                return
            current = levels.users.get(user)
            level = (_level(levels.content.get("users_default")) if current is None
                     else _level(current))
            if level >= VERIFIED_POWER:
                return
            if current is not None:
                log.info("left %s at level %s in compound %s: a restriction the bot did not "
                         "impose for verification", user, current, compound.slug)
                return
            if self.muted_by_moderation is not None and await self.muted_by_moderation(
                room, user
            ):
                log.info("left %s muted in compound %s: a moderation mute", user,
                         compound.slug)
                return
            levels.set(user, VERIFIED_POWER)
            admitted = True

        await self.gateway.edit_power_levels(room, change)
        if not admitted:
            return
        log.info("admitted verified %s in compound %s", user, compound.slug)

    async def _restrict(self, compound: Compound, user: UserID) -> None:
        """Take back the verified level (mute mode); any other level is someone else's."""
        room = compound.room_id
        assert room is not None
        if compound.admission_mode is AdmissionMode.KNOCK:
            return  # a member of a knock room speaks until the deadline removes them
        restricted = False

        async def change(levels: PowerLevelsEdit) -> None:
            nonlocal restricted
            if user in levels.creators:
                return
            if user not in levels.users or _level(levels.users[user]) != VERIFIED_POWER:
                return
            levels.set(user, None)
            restricted = True

        await self.gateway.edit_power_levels(room, change)
        if not restricted:
            return
        log.info("restricted %s in compound %s until verified again", user, compound.slug)

    # commands ---------------------------------------------------------------------------------
    async def _redact_if_named(self, ctx: CommandContext) -> None:
        """Every ``!verify`` that may hold a name is removed at once, whoever sent it and
        wherever, before the router checks who may run it: a resident's refused
        ``!verify @u FLAT NAME`` leaves no name on the homeserver either."""
        _, rest = split_command(ctx.event.body, self.prefix) or ("", "")
        if may_hold_a_name(rest):
            await self._redact_command(ctx)

    async def cmd_verify(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        """``!verify @user FLAT NAME``. The message holds a full name: it was redacted
        before this runs (``_redact_if_named``), and only the masked result is shown."""
        try:
            _, rest = split_command(ctx.event.body, self.prefix) or ("", "")
            typed = parse_args(Command("verify", self.cmd_verify, "", args=_VERIFY_ARGS), rest)
            user: UserID = typed["user"]
            compound, flat = await self._compound_for(ctx, user, flat=typed["flat"])
            result = await self.service.manual_verify(compound, ctx.sender, user, flat,
                                                      typed["name"])
        except UsageError:
            raise DomainError("verification.verify.bad_input") from None
        except DomainError as exc:
            # Arguments in the wrong order put the name where a user id or flat belongs:
            # never echo a value that is neither.
            if not _safe_to_echo(exc):
                raise DomainError("verification.verify.bad_input") from None
            raise
        self.outcomes["manual_verify"] += 1
        log.info("%s verified %s by hand in compound %s", ctx.sender, user, compound.slug)
        await self.carry_out(result.effects)
        welcome = next((e for e in result.effects if e.kind is EffectKind.WELCOME), None)
        here = None
        if welcome is not None:
            here = self._t(compound.locale, "verification.officers.verified_here",
                           user=user, place=welcome.params["place"],
                           name=welcome.params["name"])
        await self._answer(ctx, compound, result, here)

    async def cmd_revoke(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        user: UserID = args["user"]
        compound, _ = await self._compound_for(ctx, user, linked=True)
        result = await self.service.revoke(compound, ctx.sender, user)
        self.outcomes["manual_revoke"] += 1
        log.info("%s revoked the verification of %s in compound %s", ctx.sender, user,
                 compound.slug)
        await self.carry_out(result.effects)
        await self._answer(ctx, compound, result)

    async def cmd_extend(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        user: UserID = args["user"]
        compound, _ = await self._compound_for(ctx, user)
        result = await self.service.extend(compound, ctx.sender, user, args["duration"])
        self.outcomes["manual_extend"] += 1
        log.info("%s extended the deadline of %s in compound %s", ctx.sender, user,
                 compound.slug)
        await self.carry_out(result.effects)
        await self._answer(ctx, compound, result)

    async def cmd_pending(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        """``!pending [SLUG]``: in the officers' room the station's compounds or the one
        named; in a compound's room, which residents read, that compound's only."""
        slug = args.get("compound")
        if ctx.compound is not None:
            if slug and slug.strip() != ctx.compound.slug:
                raise DomainError("verification.pending.this_room_only",
                                  compound=ctx.compound.name, slug=excerpt(slug))
            compounds = [ctx.compound]
        else:
            ours = self._station_compounds(ctx)
            compounds = [self._by_slug(ours, slug)] if slug else ours
        blocks: list[str] = []
        for compound in compounds:
            members = await self.service.pending(compound)
            shown = members[:PENDING_LIST_LIMIT]
            lines = [self._t(compound.locale, key, **params)
                     for key, params in self.service.pending_lines(compound, shown)]
            if len(members) > len(shown):
                lines.append(self._t(compound.locale, "verification.officers.pending_more",
                                     count=len(members) - len(shown)))
            blocks.append("\n".join(lines))
        await ctx.reply_text("\n\n".join(blocks) if blocks else ctx.t(
            "verification.officers.pending_none", compound="—"))

    # command helpers --------------------------------------------------------------------------
    def _station_compounds(self, ctx: CommandContext) -> list[Compound]:
        assert ctx.station is not None  # Where.STAFF_ROOMS: a compound room or officers' room
        return sorted((c for c in self.directory().compounds_of_station(ctx.station.id)
                       if c.room_id), key=lambda c: c.slug)

    @staticmethod
    def _by_slug(ours: Sequence[Compound], slug: str) -> Compound:
        for c in ours:
            if c.slug == slug.strip():
                return c
        raise DomainError("error.not_station_compound", slug=excerpt(slug),
                          slugs=", ".join(c.slug for c in ours) or "—")

    async def _compound_for(
        self, ctx: CommandContext, user: UserID, *, flat: str | None = None,
        linked: bool = False,
    ) -> tuple[Compound, str]:
        """The compound a command means, and the flat without a compound prefix."""
        flat = (flat or "").replace("：", ":")
        slug, sep, bare = flat.partition(":")
        if not sep:
            slug, bare = "", flat
        if ctx.compound is not None:
            if slug and slug != ctx.compound.slug:
                raise DomainError("error.not_station_compound", slug=excerpt(slug),
                                  slugs=ctx.compound.slug)
            return ctx.compound, bare
        ours = self._station_compounds(ctx)
        if slug:
            return self._by_slug(ours, slug), bare
        if len(ours) == 1:
            return ours[0], bare
        by_id = {c.id: c for c in ours}
        if linked:
            home = await self.service.linked_compound(user)
            if home is not None and home in by_id:
                return by_id[home], bare
        else:
            for member in await self.service.repo.waiting_memberships(user):
                if member.compound_id in by_id:
                    return by_id[member.compound_id], bare
        example = f"{ours[0].slug}:3-2-301" if ours else "meiyuan:3-2-301"
        raise DomainError("error.which_compound", example=example,
                          slugs=", ".join(c.slug for c in ours) or "—")

    async def _answer(
        self, ctx: CommandContext, compound: Compound, result: OfficerResult,
        here: str | None = None,
    ) -> None:
        """The report goes to the officers' room (the record of the action); a command given
        in the compound room gets its answer there too."""
        report = self._t(compound.locale, result.report_key, **result.report_params)
        officers = self._officers_room(compound)
        if ctx.room_id == officers:
            await ctx.reply_text(report)
            return
        await ctx.reply_text(here or report)
        if officers is not None:
            await self._send_quietly(officers, report)

    async def _redact_command(self, ctx: CommandContext) -> None:
        await self._redact_quietly(ctx.room_id, ctx.event.event_id)

    async def _redact_quietly(self, room_id: str, event_id: str) -> None:
        """Remove a message that holds a full name; a refusal is logged (an officer can
        remove it by hand) and the rest goes on."""
        try:
            if self.outbox is not None:
                await self.outbox.redact(room_id, event_id)
            else:
                await self.gateway.redact(room_id, event_id)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("could not redact message %s in %s: %s", event_id, room_id,
                        _describe(exc))

    # small helpers ----------------------------------------------------------------------------
    def _officers_room(self, compound: Compound) -> str | None:
        station = self.directory().stations.get(compound.station_id)
        return station.officers_room_id if station else None

    def _t(self, locale: str, key: str, **params: Any) -> str:
        return self.translator.render(locale, key, **params)

    def _render(self, compound: Compound, effect: Effect) -> str:
        assert effect.key is not None
        params = dict(effect.params)
        reason = params.get("reason")
        if isinstance(reason, str) and self.translator.has(f"verification.reason.{reason}"):
            # The domain records a code (grace_expired, moved_out); people read words.
            params["reason"] = self._t(compound.locale, f"verification.reason.{reason}")
        return self._t(compound.locale, effect.key, **params)

    async def _send_quietly(self, room_id: str, body: str) -> None:
        try:
            if self.outbox is not None:
                await self.outbox.send_text(room_id, body)
            else:
                await self.gateway.send_text(room_id, body)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("could not send a verification message to %s: %s", room_id,
                        _describe(exc))



def _payload(effect: Effect) -> dict[str, Any]:
    return {"kind": effect.kind.value, "compound": int(effect.compound_id),
            "user": effect.user_id, "key": effect.key, "params": dict(effect.params),
            "cause": effect.cause}


def may_hold_a_name(text: str) -> bool:
    """Whether the arguments of a ``!verify`` may hold a name, in whatever order they were
    typed: a word that is neither a user id nor holds a digit (a flat does; registered names
    never do)."""
    return any(
        not word.startswith(("@", "https://matrix.to/")) and not any(ch.isdigit() for ch in word)
        for word in text.split()
    )


def _safe_to_echo(exc: DomainError) -> bool:
    """Whether an error about ``!verify`` may repeat what was typed: a user id or a flat
    (they hold an ``@`` or a digit) may be, a bare name may not."""
    if "name" in exc.params:
        return False
    for key in ("value", "flat"):
        value = exc.params.get(key)
        if value is not None and not any(ch.isdigit() or ch == "@" for ch in str(value)):
            return False
    return True
