"""The moderation service: officers' commands and the bot's own timed lifts.

Every call takes plain values from the edge (user ids as typed, a compound id, a duration, a
reason, the target's power-level numbers) and returns an Outcome: the effects the edge must
carry out, in order, or a refusal and no effects at all. State lives in the database with
absolute end times, so a mute ends on time across restarts; ``due`` hands out each end once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from linli.common.clock import Clock
from linli.common.durations import format_duration
from linli.common.errors import DomainError, excerpt
from linli.common.i18n import format_local_time, humanize_duration
from linli.common.ids import CompoundId, EventID, RoomID, UserID, parse_user_id
from linli.common.ports import AuditEntry, AuditLog, Transactions
from linli.community.model import Compound, Directory, Station
from linli.moderation.model import (
    Action,
    Ban,
    Effect,
    Kick,
    ModerationSettings,
    Outcome,
    Redact,
    Report,
    Restriction,
    RestrictionKind,
    RoomPower,
    SetPowerLevel,
    TellUser,
    Unban,
)
from linli.moderation.policy import (
    MAX_MUTE,
    clean_reason,
    is_protected,
    may_moderate,
    should_escalate,
    valid_event_id,
)
from linli.moderation.ports import ModerationStore

log = logging.getLogger(__name__)

REASON_FLOOD = "moderation.reason.flood"
REASON_WARNINGS = "moderation.reason.warnings"
NO_REASON = "—"
_DUE_BATCH = 500


@dataclass(frozen=True)
class _Target:
    """A checked request: where, on whom, and how to word the report."""

    compound: Compound
    station: Station | None
    room_id: RoomID
    user_id: UserID

    @property
    def report_locale(self) -> str:
        return self.station.locale if self.station else self.compound.locale


class ModerationService:
    def __init__(
        self,
        repo: ModerationStore,
        audit: AuditLog,
        clock: Clock,
        directory: Callable[[], Directory],
        settings: ModerationSettings,
        bot_user_id: str,
        *,
        transactions: Transactions,
    ) -> None:
        """``directory`` returns the current snapshot (the edge replaces it on refresh)."""
        self.repo = repo
        self.audit = audit
        self.transactions = transactions
        self.clock = clock
        self.directory = directory
        self.settings = settings
        self.bot_user_id = UserID(bot_user_id)

    # recording what was done -----------------------------------------------------------
    @asynccontextmanager
    async def attempt(self) -> AsyncIterator[None]:
        """The records of one decision (restriction, warning, audit entry) are kept only if
        the block ends normally. The edge decides, carries out the effects inside, and
        raises when the homeserver refused them for good: the audit then shows the refusal
        (``record_failure``), not an action that did not happen, and no restriction is left
        that nobody imposed. A passing failure propagates the same way and the caller's unit
        of work is done again."""
        # Within the caller's unit of work (one is opened if none is), a part of it that is
        # taken back alone.
        async with self.transactions.unit_of_work(), self.transactions.transaction():
            yield

    async def record_failure(
        self, actor: str, action: Action, compound_id: CompoundId, target: str | None,
        error: str, **details: Any,
    ) -> None:
        """Audit an action the homeserver refused (``kick_failed``, ``ban_failed`` …)."""
        compound = self.directory().compounds.get(compound_id)
        await self.audit.record(
            AuditEntry(
                actor=actor,
                action=f"{action.value}_failed",
                target=target,
                station_id=compound.station_id if compound else None,
                compound_id=compound_id,
                details={"error": error, **details},
                at=self.clock.now(),
            )
        )

    # officers' commands ---------------------------------------------------------------
    async def mute(
        self,
        actor: str,
        target: str,
        compound_id: CompoundId,
        duration: timedelta,
        reason: str,
        power: RoomPower,
    ) -> Outcome:
        """Mute ``target`` until now + ``duration``. Muting someone the bot already muted
        changes the end time and keeps the level recorded before the first mute."""
        checked = self._check(actor, target, compound_id)
        if isinstance(checked, Outcome):
            return checked
        if duration <= timedelta(0) or duration > MAX_MUTE:
            return Outcome.refuse("moderation.refused.duration", max=format_duration(MAX_MUTE))
        return await self._impose_mute(
            checked, UserID(actor), duration, clean_reason(reason), power, Action.MUTE
        )

    async def unmute(
        self, actor: str, target: str, compound_id: CompoundId, reason: str = ""
    ) -> Outcome:
        """Lift a mute the bot imposed, restoring the level the user had before it."""
        checked = self._check(actor, target, compound_id, protect=False)
        if isinstance(checked, Outcome):
            return checked
        existing = await self.repo.active(checked.room_id, checked.user_id, RestrictionKind.MUTE)
        lifted = await self.repo.lift(existing.id, actor) if existing else None
        if lifted is None:
            return Outcome.refuse("moderation.refused.not_muted_by_bot", user=checked.user_id)
        reason = clean_reason(reason)
        await self._audit(
            actor, Action.UNMUTE, checked, reason, checked.user_id, restriction=lifted.id
        )
        return self._outcome(
            checked,
            [_restore(lifted)],
            "moderation.report.unmute",
            actor=actor,
            reason=reason or NO_REASON,
        )

    async def kick(self, actor: str, target: str, compound_id: CompoundId, reason: str) -> Outcome:
        checked = self._check(actor, target, compound_id)
        if isinstance(checked, Outcome):
            return checked
        reason = clean_reason(reason)
        await self._audit(actor, Action.KICK, checked, reason, checked.user_id)
        return self._outcome(
            checked,
            [Kick(checked.room_id, checked.user_id, reason)],
            "moderation.report.kick",
            actor=actor,
            reason=reason or NO_REASON,
        )

    async def ban(self, actor: str, target: str, compound_id: CompoundId, reason: str) -> Outcome:
        checked = self._check(actor, target, compound_id)
        if isinstance(checked, Outcome):
            return checked
        if await self.repo.active(checked.room_id, checked.user_id, RestrictionKind.BAN):
            return Outcome.refuse("moderation.refused.already_banned", user=checked.user_id)
        reason = clean_reason(reason)
        restriction = await self.repo.add_restriction(
            compound_id=checked.compound.id,
            room_id=checked.room_id,
            user_id=checked.user_id,
            kind=RestrictionKind.BAN,
            imposed_by=UserID(actor),
            reason=reason,
        )
        await self._audit(
            actor, Action.BAN, checked, reason, checked.user_id, restriction=restriction.id
        )
        return self._outcome(
            checked,
            [Ban(checked.room_id, checked.user_id, reason)],
            "moderation.report.ban",
            actor=actor,
            reason=reason or NO_REASON,
        )

    async def unban(
        self, actor: str, target: str, compound_id: CompoundId, reason: str = ""
    ) -> Outcome:
        """Lift a ban the bot imposed; bans made by hand in a client are left alone."""
        checked = self._check(actor, target, compound_id, protect=False)
        if isinstance(checked, Outcome):
            return checked
        existing = await self.repo.active(checked.room_id, checked.user_id, RestrictionKind.BAN)
        lifted = await self.repo.lift(existing.id, actor) if existing else None
        if lifted is None:
            return Outcome.refuse("moderation.refused.not_banned_by_bot", user=checked.user_id)
        reason = clean_reason(reason)
        await self._audit(
            actor, Action.UNBAN, checked, reason, checked.user_id, restriction=lifted.id
        )
        return self._outcome(
            checked,
            [Unban(checked.room_id, checked.user_id)],
            "moderation.report.unban",
            actor=actor,
            reason=reason or NO_REASON,
        )

    async def warn(
        self, actor: str, target: str, compound_id: CompoundId, reason: str, power: RoomPower
    ) -> Outcome:
        """Record a warning; the ``warn_limit``-th open warning within ``warn_window`` mutes
        the user for ``warn_mute`` (those warnings are then used up)."""
        checked = self._check(actor, target, compound_id)
        if isinstance(checked, Outcome):
            return checked
        reason = clean_reason(reason)
        s = self.settings
        await self.repo.add_warning(checked.compound.id, checked.user_id, UserID(actor), reason)
        since = self.clock.now() - s.warn_window
        open_warnings = await self.repo.open_warnings(checked.compound.id, checked.user_id, since)
        count = len(open_warnings)
        await self._audit(actor, Action.WARN, checked, reason, checked.user_id, count=count)
        locale = checked.compound.locale
        effects: list[Effect] = [
            TellUser(
                checked.user_id,
                locale,
                "moderation.notice.warning",
                {
                    "compound": checked.compound.name,
                    "count": count,
                    "limit": s.warn_limit,
                    "reason": reason or NO_REASON,
                    "duration": humanize_duration(s.warn_mute, locale),
                },
            )
        ]
        outcome = self._outcome(
            checked,
            effects,
            "moderation.report.warn",
            actor=actor,
            count=count,
            limit=s.warn_limit,
            reason=reason or NO_REASON,
        )
        if not should_escalate(count, s.warn_limit):
            return outcome
        if await self.repo.active(checked.room_id, checked.user_id, RestrictionKind.MUTE):
            return outcome  # already muted; these warnings count towards the next mute
        escalation = await self._impose_mute(
            checked,
            self.bot_user_id,
            s.warn_mute,
            REASON_WARNINGS,
            power,
            Action.WARN_MUTE,
            escalate=[w.id for w in open_warnings],
            count=count,
        )
        effects = outcome.effects + escalation.effects
        # The mute first: the edge stops at a room action the homeserver refuses, so a
        # refused mute sends nothing of the warning either and its records are taken back.
        return Outcome(tuple(e for e in effects if isinstance(e, SetPowerLevel))
                       + tuple(e for e in effects if not isinstance(e, SetPowerLevel)))

    async def redact(
        self,
        actor: str,
        compound_id: CompoundId,
        event_id: str,
        reason: str = "",
        sender: str | None = None,
    ) -> Outcome:
        """Remove the message ``event_id`` (the one the officer replied to). ``sender``, when
        the edge knows it, keeps staff messages from being removed."""
        if not valid_event_id(event_id):
            return Outcome.refuse("moderation.refused.invalid_event", value=excerpt(event_id))
        if sender is not None:
            checked = self._check(actor, sender, compound_id)
        else:
            checked = self._check(actor, self.bot_user_id, compound_id, protect=False)
        if isinstance(checked, Outcome):
            return checked
        reason = clean_reason(reason)
        shown_user = checked.user_id if sender is not None else NO_REASON
        await self._audit(
            actor, Action.REDACT, checked, reason,
            checked.user_id if sender is not None else None, event_id=event_id,
        )
        return self._outcome(
            checked,
            [Redact(checked.room_id, EventID(event_id), reason)],
            "moderation.report.redact",
            actor=actor,
            user=shown_user,
            event_id=event_id,
            reason=reason or NO_REASON,
        )

    # the bot's own actions --------------------------------------------------------------
    async def flood_mute(
        self, target: str, compound_id: CompoundId, count: int, power: RoomPower
    ) -> Outcome:
        """Mute a flooding member for ``flood_mute``; nothing if staff or already muted."""
        checked = self._check(self.bot_user_id, target, compound_id, need_role=False)
        if isinstance(checked, Outcome):
            return checked
        if await self.repo.active(checked.room_id, checked.user_id, RestrictionKind.MUTE):
            return Outcome()
        return await self._impose_mute(
            checked,
            self.bot_user_id,
            self.settings.flood_mute,
            REASON_FLOOD,
            power,
            Action.FLOOD_MUTE,
            count=count,
        )

    async def due(
        self, now: datetime | None = None, compound_ids: Collection[int] | None = None
    ) -> list[Effect]:
        """Effects that end timed restrictions due by ``now``, audited as done (for callers
        that carry them out without reporting how it went; the bot uses ``due_lifts`` and
        ``record_lift``). Each restriction is handed out once: a second call, or another
        process, gets nothing for it."""
        effects: list[Effect] = []
        async with self.transactions.unit_of_work():  # the claims with their audit entries
            lifts = await self.due_lifts(now, compound_ids)
            await self.record_lifts([(restriction, None) for restriction, _ in lifts])
        for _, lift in lifts:
            effects.extend(lift)
        return effects

    async def due_lifts(
        self, now: datetime | None = None, compound_ids: Collection[int] | None = None
    ) -> list[tuple[Restriction, list[Effect]]]:
        """The restrictions due by ``now``, each claimed (marked lifted) with the effects that
        end it. The edge carries them out, then says how it went with ``record_lift``; it
        derives its transaction ids from the restriction's id. ``compound_ids``: only these
        compounds' (the ones this process owns); None: every compound's."""
        now = now or self.clock.now()
        lifts: list[tuple[Restriction, list[Effect]]] = []
        if compound_ids is not None and not compound_ids:
            return lifts  # a process that owns no compound now
        while True:
            batch = await self.repo.claim_due(
                now, self.bot_user_id, limit=_DUE_BATCH, compound_ids=compound_ids
            )
            for restriction in batch:
                lifts.append((restriction, await self._expired(restriction)))
            if len(batch) < _DUE_BATCH:
                return lifts

    async def record_lift(self, restriction: Restriction, error: str | None = None) -> None:
        """Audit the end of a timed restriction as it happened: ``auto_unmute`` or ``unban``,
        or ``auto_unmute_failed`` / ``unban_failed`` with the homeserver's refusal."""
        await self.record_lifts([(restriction, error)])

    async def record_lifts(
        self, lifts: Sequence[tuple[Restriction, str | None]]
    ) -> None:
        """``record_lift`` for many restrictions, in one write."""
        compounds = self.directory().compounds
        entries = []
        for restriction, error in lifts:
            compound = compounds.get(restriction.compound_id)
            action = (Action.AUTO_UNMUTE if restriction.kind is RestrictionKind.MUTE
                      else Action.UNBAN)
            details: dict[str, Any] = {"restriction": restriction.id,
                                       "kind": restriction.kind.value}
            if error is not None:
                details["error"] = error
            entries.append(AuditEntry(
                actor=self.bot_user_id,
                action=action.value if error is None else f"{action.value}_failed",
                target=restriction.user_id,
                station_id=compound.station_id if compound else None,
                compound_id=restriction.compound_id,
                details=details,
                at=self.clock.now(),
            ))
        await self.audit.record_all(entries)

    async def active_mutes(self, compound_id: CompoundId) -> list[Restriction]:
        """The mutes the bot holds in a compound (for a status command or the dashboard)."""
        return await self.repo.active_in_compounds([compound_id], RestrictionKind.MUTE)

    async def is_muted_by_bot(self, room_id: str, user_id: str) -> bool:
        """Other features (verification lifting a pending mute) should check this first."""
        return await self.repo.active(room_id, user_id, RestrictionKind.MUTE) is not None

    # internals --------------------------------------------------------------------------
    def _check(
        self,
        actor: str,
        target: str,
        compound_id: CompoundId,
        *,
        protect: bool = True,
        need_role: bool = True,
    ) -> _Target | Outcome:
        """Validate before anything is produced: the user id, the compound and its room,
        the actor's right to moderate, and that the target is neither the bot nor staff."""
        try:
            user_id = parse_user_id(target)
        except DomainError:
            return Outcome.refuse("moderation.refused.invalid_user", value=excerpt(target))
        directory = self.directory()
        compound = directory.compounds.get(compound_id)
        if compound is None:
            return Outcome.refuse("moderation.refused.no_compound")
        if compound.room_id is None:
            return Outcome.refuse("moderation.refused.no_room", compound=compound.name)
        if need_role and not may_moderate(directory.roles_in_compound(actor, compound)):
            return Outcome.refuse("moderation.refused.not_allowed")
        if protect:
            if user_id == self.bot_user_id:
                return Outcome.refuse("moderation.refused.bot")
            if is_protected(directory, user_id):
                return Outcome.refuse("moderation.refused.staff", user=user_id)
        station = directory.stations.get(compound.station_id)
        return _Target(compound, station, compound.room_id, user_id)

    async def _impose_mute(
        self,
        checked: _Target,
        actor: UserID,
        duration: timedelta,
        reason: str,
        power: RoomPower,
        action: Action,
        escalate: Collection[int] = (),
        count: int | None = None,
    ) -> Outcome:
        ends_at = self.clock.now() + duration
        existing = await self.repo.active(checked.room_id, checked.user_id, RestrictionKind.MUTE)
        effects: list[Effect] = []
        # The tick may lift ``existing`` between the read and the change: then it is muted
        # anew, restoring later what the member had before the first mute.
        if existing is not None and await self.repo.change_end(existing.id, ends_at, reason):
            restriction_id = existing.id
            if existing.muted_level is not None:  # again, in case someone lifted it by hand
                effects.append(
                    SetPowerLevel(checked.room_id, checked.user_id, existing.muted_level)
                )
            report_key = "moderation.report.mute_changed"
        else:
            muted_level = power.muted_level()
            previous_level = power.own_level
            if existing is not None:
                previous_level = existing.previous_level
                if existing.muted_level is not None:
                    muted_level = existing.muted_level
            restriction = await self.repo.add_restriction(
                compound_id=checked.compound.id,
                room_id=checked.room_id,
                user_id=checked.user_id,
                kind=RestrictionKind.MUTE,
                imposed_by=actor,
                reason=reason,
                ends_at=ends_at,
                previous_level=previous_level,
                muted_level=muted_level,
                escalate_warnings=escalate,
            )
            restriction_id = restriction.id
            effects.append(SetPowerLevel(checked.room_id, checked.user_id, muted_level))
            report_key = {
                Action.MUTE: "moderation.report.mute",
                Action.WARN_MUTE: "moderation.report.warn_mute",
                Action.FLOOD_MUTE: "moderation.report.flood_mute",
            }[action]
        await self._audit(
            actor, action, checked, reason, checked.user_id, restriction=restriction_id,
            duration_s=int(duration.total_seconds()), until=ends_at.isoformat(),
        )
        # What the user is told and what the officers read differ only in a few fields.
        user_locale, report_locale = checked.compound.locale, checked.report_locale
        extra: dict[str, Any]
        if action is Action.MUTE:
            notice_key, extra = "moderation.notice.muted", {"reason": reason or NO_REASON}
            report_extra: dict[str, Any] = {"actor": actor, "reason": reason or NO_REASON}
        elif action is Action.WARN_MUTE:
            notice_key, extra = "moderation.notice.warn_mute", {"count": count}
            report_extra = {"count": count}
        else:
            notice_key, extra = "moderation.notice.flood", {}
            report_extra = {
                "count": count,
                "window": humanize_duration(self.settings.flood_window, report_locale),
            }
        if report_key == "moderation.report.mute_changed":
            report_extra = {"actor": actor, "reason": reason or NO_REASON}
        tz = checked.compound.timezone
        effects.append(
            TellUser(
                checked.user_id,
                user_locale,
                notice_key,
                {
                    "compound": checked.compound.name,
                    "duration": humanize_duration(duration, user_locale),
                    "until": format_local_time(ends_at, tz, user_locale),
                    **extra,
                },
            )
        )
        report_params: dict[str, Any] = {
            "duration": humanize_duration(duration, report_locale),
            "until": format_local_time(ends_at, tz, report_locale),
            **report_extra,
        }
        log.info("%s in compound %d until %s", action.value, checked.compound.id, ends_at)
        return self._outcome(checked, effects, report_key, **report_params)

    async def _expired(self, restriction: Restriction) -> list[Effect]:
        directory = self.directory()
        compound = directory.compounds.get(restriction.compound_id)
        effects: list[Effect] = []
        if restriction.kind is RestrictionKind.MUTE:
            effects.append(_restore(restriction))
        else:
            effects.append(Unban(restriction.room_id, restriction.user_id))
        station = directory.stations.get(compound.station_id) if compound else None
        if compound is not None and station is not None and station.officers_room_id:
            effects.append(
                Report(
                    station.officers_room_id,
                    station.locale,
                    "moderation.report.auto_unmute",
                    {"user": restriction.user_id, "compound": compound.name},
                )
            )
        log.info("restriction %d ended in compound %d", restriction.id, restriction.compound_id)
        return effects

    def _outcome(
        self, checked: _Target, effects: list[Effect], report_key: str, **params: Any
    ) -> Outcome:
        station = checked.station
        if station is not None and station.officers_room_id:
            params.setdefault("user", checked.user_id)
            params.setdefault("compound", checked.compound.name)
            effects = [
                *effects,
                Report(station.officers_room_id, station.locale, report_key, params),
            ]
        return Outcome(tuple(effects))

    async def _audit(
        self,
        actor: str,
        action: Action,
        checked: _Target,
        reason: str,
        target: str | None,
        **details: Any,
    ) -> None:
        await self.audit.record(
            AuditEntry(
                actor=actor,
                action=action.value,
                target=target,
                station_id=checked.compound.station_id,
                compound_id=checked.compound.id,
                details={"reason": reason, **details},
                at=self.clock.now(),
            )
        )


def _restore(restriction: Restriction) -> SetPowerLevel:
    """Give back the level held before the mute, only if the mute level is still in place."""
    return SetPowerLevel(
        restriction.room_id,
        restriction.user_id,
        restriction.previous_level,
        only_if_level=restriction.muted_level,
    )

