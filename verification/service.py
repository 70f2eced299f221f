"""Verification of members: the service the Matrix edge calls.

The edge passes plain values (a Compound from the Directory, user ids, message text) and
gets back results and :class:`~verification.model.Effect` lists to carry out: DMs, admitting
(power level or invite), restricting, kicking (never banning), a welcome in the room and
reports to the station's officers' room. Message params are already formatted for the
compound's locale and time zone; the edge renders ``key`` with the Translator.

Staff and the bot itself are not members in this sense: the edge does not call ``on_join``
for them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from linli.common.clock import Clock
from linli.common.errors import Conflict, DomainError, NotFound
from linli.common.i18n import format_local_time, humanize_duration
from linli.common.ids import CompoundId, UserID
from linli.common.ports import AuditEntry, AuditLog, Transactions
from linli.community.model import AdmissionMode, Compound
from linli.verification.codes import split_reply
from linli.verification.model import (
    AttemptOutcome,
    AttemptResult,
    Effect,
    EffectKind,
    EnrolmentReport,
    Household,
    Member,
    MemberState,
    OfficerResult,
    PendingMember,
    Person,
    WelcomeParts,
)
from linli.verification.names import mask_name, normalise_name, parse_flat_ref
from linli.verification.policy import (
    VerificationPolicy,
    cap_reached,
    next_action_at,
    policy_for,
    reminders_passed,
    tries_left,
)
from linli.verification.ports import VerificationStore

log = logging.getLogger(__name__)

_WAITING = (MemberState.PENDING, MemberState.LOCKED)
MAX_EXTENSION = timedelta(days=365)
"""The most ``!extend`` adds at once: a deadline stays a date people can plan for."""


class VerificationService:
    """Member states per (compound, account), attempts, deadlines and officers' actions.

    A decision that writes more than once (a link and its audit entry, a claim of due work
    and the removals' audit entries) is one unit of work, opened here; inside the edge's
    unit (an event's, a tick's) it joins that one."""

    def __init__(
        self,
        repo: VerificationStore,
        audit: AuditLog,
        clock: Clock,
        defaults: VerificationPolicy | None = None,
        *,
        transactions: Transactions,
    ) -> None:
        self.repo = repo
        self.audit = audit
        self.transactions = transactions
        self.clock = clock
        self.defaults = defaults or VerificationPolicy()

    # helpers ---------------------------------------------------------------------------------
    def policy(self, compound: Compound) -> VerificationPolicy:
        return policy_for(self.defaults, compound.settings)

    @staticmethod
    def _when(compound: Compound, when: datetime) -> str:
        return format_local_time(when, compound.timezone, compound.locale)

    @staticmethod
    def _span(compound: Compound, delta: timedelta) -> str:
        return humanize_duration(delta, compound.locale)

    def _schedule(self, member: Member, policy: VerificationPolicy) -> datetime | None:
        """When due work must next look at this member (None: never)."""
        if member.state not in _WAITING:
            return None
        if member.notice_key:
            return self.clock.now()
        if member.deadline is None:
            return None
        return next_action_at(member.deadline, member.reminders_sent, policy.reminders)

    async def _save(self, member: Member, compound: Compound) -> Member:
        return await self.repo.put_member(member, self._schedule(member, self.policy(compound)))

    async def _audit(
        self, compound: Compound, actor: str, action: str, target: str, **details: object
    ) -> None:
        await self.audit.record(self._entry(compound, actor, action, target, **details))

    @staticmethod
    def _entry(
        compound: Compound, actor: str, action: str, target: str, **details: object
    ) -> AuditEntry:
        return AuditEntry(
            actor=actor, action=action, target=target, station_id=compound.station_id,
            compound_id=compound.id, details=dict(details),
        )

    def _dm(self, compound: Compound, user_id: UserID, key: str, **params: object) -> Effect:
        return Effect(EffectKind.SEND_DM, compound.id, user_id, key,
                      {"compound": compound.name, **params})

    def _officers(self, compound: Compound, user_id: UserID | None, key: str,
                  **params: object) -> Effect:
        return Effect(EffectKind.NOTIFY_OFFICERS, compound.id, user_id, key,
                      {"compound": compound.name, "user": user_id or "", **params})

    # membership events -------------------------------------------------------------------------
    async def on_join(self, compound: Compound, user_id: UserID) -> list[Effect]:
        """A member joined (mute mode) or knocked (knock mode): prompt them, or re-admit a
        returning verified account. A returning pending member keeps their deadline."""
        now = self.clock.now()
        policy = self.policy(compound)
        member = await self.repo.member(compound.id, user_id)
        link = await self.repo.link_of_user(user_id)
        if link is not None and link.compound_id == compound.id:
            base = member or Member(compound.id, user_id, MemberState.VERIFIED, joined_at=now)
            await self._save(replace(
                base, state=MemberState.VERIFIED, person_id=link.person_id,
                household_id=link.household_id, deadline=None, locked_until=None,
                notice_key=None, removal_reason=None, verified_at=base.verified_at or now,
            ), compound)
            return [Effect(EffectKind.ADMIT, compound.id, user_id)]
        if (member is not None and member.state in _WAITING and member.adopted
                and member.prompted_at is None):
            # A member of an adopted room, seen joining in the room's history: asked by the
            # rate-limited adopted prompts, not all at once here.
            return []
        if member is not None and member.state in _WAITING and member.deadline:
            deadline = member.deadline
            await self._save(replace(member, prompted_at=member.prompted_at or now), compound)
        elif member is not None and member.state is MemberState.LEFT and member.deadline \
                and member.deadline > now:
            deadline = member.deadline
            await self._save(replace(member, state=MemberState.PENDING, prompted_at=now),
                             compound)
        else:
            deadline = now + policy.grace
            base = member or Member(compound.id, user_id, MemberState.PENDING, joined_at=now)
            await self._save(replace(
                base, state=MemberState.PENDING, deadline=deadline,
                reminders_sent=reminders_passed(deadline, now, policy.reminders),
                locked_until=None, person_id=None, household_id=None, adopted=False,
                prompted_at=now, notice_key=None, removal_reason=None, joined_at=now,
                verified_at=None,
            ), compound)
        key = ("verification.dm.prompt_knock" if compound.admission_mode is AdmissionMode.KNOCK
               else "verification.dm.prompt")
        return [self._dm(compound, user_id, key, deadline=self._when(compound, deadline),
                         left=self._span(compound, deadline - now))]

    async def on_leave(self, compound: Compound, user_id: UserID) -> None:
        """A member left (or withdrew a knock). Their deadline is kept for a return; a member
        the bot removed stays removed."""
        member = await self.repo.member(compound.id, user_id)
        if member is None or member.state in (MemberState.REMOVED, MemberState.LEFT):
            return
        await self.repo.put_member(replace(member, state=MemberState.LEFT), None)

    async def adopt(self, compound: Compound, user_ids: Sequence[UserID]) -> int:
        """Existing members of an adopted room become pending with the longer grace. Nobody is
        muted or messaged now; due work asks them by DM at the configured rate."""
        now = self.clock.now()
        policy = self.policy(compound)
        deadline = now + policy.adopted_grace
        first = next_action_at(deadline, 0, policy.reminders)
        added = await self.repo.adopt(compound.id, user_ids, deadline, first)
        log.info("adopted %d members in compound %s", len(added), compound.slug)
        return len(added)

    async def state(self, compound: Compound, user_id: UserID) -> Member | None:
        return await self.repo.member(compound.id, user_id)

    async def is_verified(self, compound: Compound, user_id: UserID) -> bool:
        member = await self.repo.member(compound.id, user_id)
        return member is not None and member.state is MemberState.VERIFIED

    async def reply_target(
        self, user_id: UserID, text: str, compounds: Mapping[CompoundId, Compound]
    ) -> Compound | None:
        """Which compound a direct message from ``user_id`` is meant for: among the compounds
        given (those this process runs) where the account is waiting, the one the message's
        code belongs to, else the most recently joined. None: it waits nowhere."""
        waiting = [m for m in await self.repo.waiting_memberships(user_id)
                   if m.compound_id in compounds]
        if not waiting:
            return None
        if len(waiting) > 1:
            code, _ = split_reply(text)
            if code is not None:
                for m in waiting:
                    if await self.repo.household_for_code(m.compound_id, code) is not None:
                        return compounds[m.compound_id]
        return compounds[waiting[0].compound_id]

    async def linked_compound(self, user_id: UserID) -> CompoundId | None:
        """The compound of the registered person this account is linked to, if any."""
        link = await self.repo.link_of_user(user_id)
        return link.compound_id if link else None

    async def member_compound(self, user_id: UserID) -> CompoundId | None:
        """A compound whose room this account is a member of, as verification knows it
        (verified there, or waiting to verify), or None."""
        linked = await self.linked_compound(user_id)
        if linked is not None:
            return linked
        waiting = await self.repo.waiting_memberships(user_id)
        return waiting[0].compound_id if waiting else None

    async def flat_label(self, compound: Compound, user_id: UserID) -> str | None:
        """A verified member's flat ("3栋2单元301室"), never a name; None if not verified."""
        household = await self.repo.household_of_member(compound.id, user_id)
        return household.label(compound.locale) if household else None

    async def member_counts(self, compounds: Sequence[Compound]) -> dict[MemberState, int]:
        return await self.repo.member_counts([c.id for c in compounds])

    # the DM ----------------------------------------------------------------------------------
    async def attempt(self, compound: Compound, user_id: UserID, text: str) -> AttemptResult:
        """A direct message from a waiting member: find the code and the name in it."""
        code, name = split_reply(text)
        return await self.attempt_pair(compound, user_id, code, name)

    async def attempt_pair(
        self, compound: Compound, user_id: UserID, code: str | None, name: str
    ) -> AttemptResult:
        async with self.transactions.unit_of_work():
            return await self._attempt_pair(compound, user_id, code, name)

    async def _attempt_pair(
        self, compound: Compound, user_id: UserID, code: str | None, name: str
    ) -> AttemptResult:
        now = self.clock.now()
        policy = self.policy(compound)
        member = await self.repo.member(compound.id, user_id)
        if member is None or member.state in (MemberState.LEFT, MemberState.REMOVED):
            return AttemptResult(AttemptOutcome.NOT_PENDING, "verification.dm.not_pending",
                                 {"compound": compound.name})
        if member.state is MemberState.VERIFIED:
            return AttemptResult(AttemptOutcome.ALREADY_VERIFIED,
                                 "verification.dm.already_verified", {"compound": compound.name})
        if member.state is MemberState.LOCKED:
            if member.locked_until and member.locked_until > now:
                return AttemptResult(
                    AttemptOutcome.LOCKED, "verification.dm.locked",
                    {"until": self._when(compound, member.locked_until)},
                    tries_left=0, locked_until=member.locked_until,
                )
            member = replace(member, state=MemberState.PENDING, locked_until=None,
                             failures_since=member.locked_until)
            await self._save(member, compound)
        if code is None or not normalise_name(name):
            return AttemptResult(AttemptOutcome.INCOMPLETE, "verification.dm.incomplete", {})

        link = await self.repo.link_of_user(user_id)
        if link is not None:
            return AttemptResult(
                AttemptOutcome.ACCOUNT_LINKED, "verification.dm.account_linked", {},
                effects=(self._officers(compound, user_id,
                                        "verification.officers.account_linked"),),
            )
        household = await self.repo.household_for_code(compound.id, code)
        person = await self.repo.find_person(household.id, name) if household else None
        if household is None or person is None:
            return await self._failure(compound, policy, member, now)

        holder = await self.repo.link_of_person(person.id)
        if holder is not None:
            await self._audit(compound, user_id, "verification.person_taken", user_id,
                              household_id=household.id, holder=holder.user_id)
            return AttemptResult(
                AttemptOutcome.PERSON_TAKEN, "verification.dm.person_taken", {},
                effects=(self._officers(
                    compound, user_id, "verification.officers.person_taken",
                    flat=household.label(compound.locale), holder=holder.user_id,
                ),),
            )
        count = await self.repo.verified_in_household(household.id)
        if cap_reached(policy, count):
            return AttemptResult(
                AttemptOutcome.CAP_REACHED, "verification.dm.cap_reached",
                {"cap": policy.household_cap},
                effects=(self._officers(
                    compound, user_id, "verification.officers.cap_reached",
                    flat=household.label(compound.locale), cap=policy.household_cap,
                ),),
            )
        try:
            return await self._link(compound, member, household, person, "code", user_id)
        except Conflict as exc:
            key = ("verification.dm.account_linked" if exc.key == "error.account_linked"
                   else "verification.dm.person_taken")
            outcome = (AttemptOutcome.ACCOUNT_LINKED if exc.key == "error.account_linked"
                       else AttemptOutcome.PERSON_TAKEN)
            return AttemptResult(outcome, key, {})

    async def _failure(
        self, compound: Compound, policy: VerificationPolicy, member: Member, now: datetime
    ) -> AttemptResult:
        await self.repo.record_failure(compound.id, member.user_id)
        since = now - policy.failure_window
        if member.failures_since and member.failures_since > since:
            since = member.failures_since
        failures = await self.repo.failures_since(compound.id, member.user_id, since)
        left = tries_left(policy, failures)
        if left > 0:
            return AttemptResult(AttemptOutcome.WRONG, "verification.dm.wrong",
                                 {"tries_left": left}, tries_left=left)
        until = now + policy.lock_duration
        # failures_since = the end of the lock: the count starts afresh when the lock ends.
        await self._save(replace(member, state=MemberState.LOCKED, locked_until=until,
                                 failures_since=until), compound)
        await self._audit(compound, member.user_id, "verification.locked", member.user_id,
                          failures=failures)
        when = self._when(compound, until)
        return AttemptResult(
            AttemptOutcome.LOCKED, "verification.dm.locked", {"until": when},
            tries_left=0, locked_until=until,
            effects=(self._officers(compound, member.user_id, "verification.officers.locked",
                                    until=when, failures=failures),),
        )

    async def _link(
        self, compound: Compound, member: Member, household: Household, person: Person,
        method: str, actor: str,
    ) -> AttemptResult:
        now = self.clock.now()
        verified = replace(
            member, state=MemberState.VERIFIED, person_id=person.id, household_id=household.id,
            deadline=None, locked_until=None, notice_key=None, removal_reason=None,
            verified_at=now,
        )
        await self.repo.link(verified, person, method, actor)
        await self._audit(compound, actor, "verification.verify", member.user_id,
                          household_id=household.id, method=method)
        parts = WelcomeParts(household.short_label(compound.locale), mask_name(person.name))
        effects = (
            Effect(EffectKind.ADMIT, compound.id, member.user_id),
            Effect(EffectKind.WELCOME, compound.id, member.user_id, "verification.room.welcome",
                   {"user": member.user_id, "place": parts.place, "name": parts.masked_name}),
        )
        return AttemptResult(
            AttemptOutcome.VERIFIED, "verification.dm.verified",
            {"compound": compound.name, "place": parts.place, "name": parts.masked_name},
            welcome=parts, effects=effects,
        )

    # due work ---------------------------------------------------------------------------------
    async def due_work(self, compounds: Sequence[Compound], limit: int = 500) -> list[Effect]:
        """Reminders, notices, removals and adopted-room prompts that are due now.

        Each effect is claimed in the database before it is returned, so a restart or a
        second process does not repeat it (at most once: a lost reminder is better than a
        doubled one). Call it every tick with the compounds this process owns.
        """
        async with self.transactions.unit_of_work():
            return await self._due_work(compounds, limit)

    async def _due_work(self, compounds: Sequence[Compound], limit: int) -> list[Effect]:
        now = self.clock.now()
        by_id: dict[CompoundId, Compound] = {c.id: c for c in compounds}
        effects: dict[tuple[CompoundId, UserID], list[Effect]] = {}
        updates: list[tuple[Member, datetime | None]] = []
        for m in await self.repo.due_members(list(by_id), now, limit):
            compound = by_id[m.compound_id]
            policy = self.policy(compound)
            new, todo = self._due_one(compound, policy, m, now)
            updates.append((new, self._schedule(new, policy)))
            # What the member's row said when this work fell due: the same again if the
            # work is rolled back and redone, different for the next reminder or deadline.
            cause = (f"verification:{m.compound_id}:{m.user_id}:"
                     f"{m.deadline.isoformat() if m.deadline else '-'}:"
                     f"{m.notice_key or ''}:{m.reminders_sent}")
            effects[(m.compound_id, m.user_id)] = [replace(e, cause=cause) for e in todo]
        out: list[Effect] = []
        removals: list[AuditEntry] = []
        for claimed in await self.repo.claim_due(updates, now):
            out.extend(effects[(claimed.compound_id, claimed.user_id)])
            if claimed.state is MemberState.REMOVED:
                removals.append(self._entry(
                    by_id[claimed.compound_id], "linli", "verification.remove",
                    claimed.user_id, reason=claimed.removal_reason))
        await self.audit.record_all(removals)
        out.extend(await self._adopted_prompts(by_id, now))
        return out

    def _due_one(
        self, compound: Compound, policy: VerificationPolicy, m: Member, now: datetime
    ) -> tuple[Member, list[Effect]]:
        if m.notice_key:
            deadline = m.deadline or now
            return replace(m, notice_key=None), [
                Effect(EffectKind.RESTRICT, compound.id, m.user_id),
                self._dm(compound, m.user_id, m.notice_key,
                         deadline=self._when(compound, deadline)),
                self._officers(compound, m.user_id, "verification.officers.notice",
                               deadline=self._when(compound, deadline)),
            ]
        if m.deadline is not None and m.deadline <= now:
            reason = m.removal_reason or "grace_expired"
            return replace(m, state=MemberState.REMOVED, removal_reason=reason), [
                Effect(EffectKind.KICK, compound.id, m.user_id, f"verification.kick.{reason}",
                       {"compound": compound.name}),
                self._officers(compound, m.user_id, "verification.officers.removed",
                               reason=reason),
            ]
        assert m.deadline is not None
        passed = reminders_passed(m.deadline, now, policy.reminders)
        if passed <= m.reminders_sent:  # the policy changed under us: only reschedule
            return replace(m, reminders_sent=passed), []
        return replace(m, reminders_sent=passed, prompted_at=m.prompted_at or now), [
            self._dm(compound, m.user_id, "verification.dm.reminder",
                     deadline=self._when(compound, m.deadline),
                     left=self._span(compound, m.deadline - now)),
        ]

    async def _adopted_prompts(
        self, by_id: dict[CompoundId, Compound], now: datetime
    ) -> list[Effect]:
        """Ask adopted members by DM, at most ``adopted_dm_per_minute`` a minute per
        compound: three queries for all compounds together, whatever their number."""
        rates = {cid: self.policy(c).adopted_dm_per_minute for cid, c in by_id.items()}
        waiting = await self.repo.unprompted_adopted(rates)
        if not waiting:
            return []
        sent = await self.repo.prompted_since(
            list({m.compound_id for m in waiting}), now - timedelta(minutes=1))
        budget = {cid: rate - sent.get(cid, 0) for cid, rate in rates.items()}
        batch: list[Member] = []
        for m in waiting:
            if budget[m.compound_id] > 0:
                budget[m.compound_id] -= 1
                batch.append(m)
        marked = set(await self.repo.mark_prompted(
            [(m.compound_id, m.user_id) for m in batch], now))
        out: list[Effect] = []
        for m in batch:  # in the order they were adopted, compound by compound
            cid, uid = m.compound_id, m.user_id
            if (cid, uid) not in marked:
                continue  # another process asked them first
            compound = by_id[cid]
            deadline = m.deadline or now
            out.append(replace(
                self._dm(compound, uid, "verification.dm.prompt_adopted",
                         deadline=self._when(compound, deadline),
                         left=self._span(compound, deadline - now)),
                cause=f"verification:{compound.id}:{uid}:adopted-prompt",
            ))
        return out

    # officers' actions -----------------------------------------------------------------------
    async def manual_verify(
        self, compound: Compound, officer: str, user_id: UserID, flat: str, name: str
    ) -> OfficerResult:
        """`!verify @user FLAT NAME` after a door visit. Raises DomainError for the officer."""
        async with self.transactions.unit_of_work():
            return await self._manual_verify(compound, officer, user_id, flat, name)

    async def _manual_verify(
        self, compound: Compound, officer: str, user_id: UserID, flat: str, name: str
    ) -> OfficerResult:
        ref = parse_flat_ref(flat)
        household = await self.repo.household_by_ref(compound.id, ref)
        if household is None:
            raise NotFound("error.no_household", flat=flat)
        person = await self.repo.find_person(household.id, name)
        if person is None:
            raise NotFound("error.no_person", flat=household.label(compound.locale))
        link = await self.repo.link_of_user(user_id)
        if link is not None:
            raise Conflict("error.already_verified" if link.person_id == person.id
                           else "error.account_linked", user=user_id)
        holder = await self.repo.link_of_person(person.id)
        if holder is not None:
            raise Conflict("error.person_taken_by", holder=holder.user_id)
        policy = self.policy(compound)
        if cap_reached(policy, await self.repo.verified_in_household(household.id)):
            raise Conflict("error.cap_reached", cap=policy.household_cap)
        now = self.clock.now()
        member = await self.repo.member(compound.id, user_id) or Member(
            compound.id, user_id, MemberState.PENDING, joined_at=now)
        result = await self._link(compound, member, household, person, "manual", officer)
        parts = result.welcome
        assert parts is not None
        return OfficerResult(
            "verification.officers.verified",
            {"officer": officer, "user": user_id, "compound": compound.name,
             "flat": household.label(compound.locale), "name": parts.masked_name},
            result.effects + (self._dm(compound, user_id, "verification.dm.verified",
                                       place=parts.place, name=parts.masked_name),),
        )

    async def revoke(self, compound: Compound, officer: str, user_id: UserID) -> OfficerResult:
        """`!revoke @user`: unlink; a member in the room is pending again with a new grace."""
        async with self.transactions.unit_of_work():
            return await self._revoke(compound, officer, user_id)

    async def _revoke(self, compound: Compound, officer: str, user_id: UserID) -> OfficerResult:
        link = await self.repo.link_of_user(user_id)
        if link is None or link.compound_id != compound.id:
            raise NotFound("error.not_verified", user=user_id)
        await self.repo.unlink(user_id)
        now = self.clock.now()
        policy = self.policy(compound)
        member = await self.repo.member(compound.id, user_id)
        effects: tuple[Effect, ...] = ()
        deadline = now + policy.grace
        if member is not None:
            if member.state is MemberState.VERIFIED:
                await self._save(replace(
                    member, state=MemberState.PENDING, person_id=None, household_id=None,
                    deadline=deadline, reminders_sent=reminders_passed(deadline, now,
                                                                       policy.reminders),
                    verified_at=None, notice_key=None, removal_reason=None, adopted=False,
                ), compound)
                effects = (
                    Effect(EffectKind.RESTRICT, compound.id, user_id),
                    self._dm(compound, user_id, "verification.dm.revoked",
                             deadline=self._when(compound, deadline)),
                )
            else:
                await self._save(replace(member, person_id=None, household_id=None), compound)
        await self._audit(compound, officer, "verification.revoke", user_id,
                          household_id=link.household_id)
        return OfficerResult(
            "verification.officers.revoked",
            {"officer": officer, "user": user_id, "compound": compound.name},
            effects,
        )

    async def extend(
        self, compound: Compound, officer: str, user_id: UserID, duration: timedelta
    ) -> OfficerResult:
        """`!extend @user 48h`: move a waiting member's deadline later (from now at least)."""
        async with self.transactions.unit_of_work():
            return await self._extend(compound, officer, user_id, duration)

    async def _extend(
        self, compound: Compound, officer: str, user_id: UserID, duration: timedelta
    ) -> OfficerResult:
        if duration <= timedelta(0):
            raise DomainError("error.invalid_duration", value=str(duration))
        if duration > MAX_EXTENSION:
            raise DomainError("verification.extend.too_long",
                              max=humanize_duration(MAX_EXTENSION, compound.locale))
        member = await self.repo.member(compound.id, user_id)
        if member is None or member.state not in _WAITING:
            raise NotFound("error.not_waiting", user=user_id)
        now = self.clock.now()
        policy = self.policy(compound)
        base = max(member.deadline or now, now)
        deadline = base + duration
        await self._save(replace(
            member, deadline=deadline,
            reminders_sent=reminders_passed(deadline, now, policy.reminders),
        ), compound)
        await self._audit(compound, officer, "verification.extend", user_id,
                          seconds=int(duration.total_seconds()))
        when = self._when(compound, deadline)
        return OfficerResult(
            "verification.officers.extended",
            {"officer": officer, "user": user_id, "compound": compound.name, "deadline": when},
            (self._dm(compound, user_id, "verification.dm.extended", deadline=when),),
        )

    async def pending(self, compound: Compound) -> list[PendingMember]:
        """`!pending`: who is waiting (or locked) and until when, earliest deadline first."""
        return await self.repo.waiting_members(compound.id)

    def pending_lines(
        self, compound: Compound, members: Sequence[PendingMember]
    ) -> list[tuple[str, dict[str, object]]]:
        """(key, params) per line of a `!pending` answer, for the edge to render."""
        now = self.clock.now()
        if not members:
            return [("verification.officers.pending_none", {"compound": compound.name})]
        lines: list[tuple[str, dict[str, object]]] = [(
            "verification.officers.pending_header",
            {"compound": compound.name, "count": len(members)},
        )]
        for m in members:
            deadline = m.deadline or now
            if m.state is MemberState.LOCKED and m.locked_until and m.locked_until > now:
                lines.append(("verification.officers.pending_locked", {
                    "user": m.user_id, "deadline": self._when(compound, deadline),
                    "until": self._when(compound, m.locked_until),
                }))
            else:
                lines.append(("verification.officers.pending_line", {
                    "user": m.user_id, "deadline": self._when(compound, deadline),
                    "left": self._span(compound, deadline - now),
                }))
        return lines

    # figures ---------------------------------------------------------------------------------
    async def enrolment(self, compound: Compound) -> EnrolmentReport:
        """Households, coverage, members by state, and unenrolled flats by building/unit."""
        policy = self.policy(compound)
        total, by_building, unenrolled = await self.repo.enrolment(
            compound.id, policy.household_cap
        )
        pending = await self.repo.waiting_members(compound.id)
        return EnrolmentReport(compound.id, total, by_building, tuple(pending),
                               tuple(unenrolled))
