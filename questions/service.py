"""The questions service: the edge feeds it plain events and a periodic tick; it returns the
effects to carry out (post a flag, edit a flag, post a digest) and the replies to commands.

Call order the edge keeps: events of a sync batch in timeline order, then ``tick`` on a timer
(every ``bot.tick_interval``). After posting a ``PostFlag`` the edge calls ``flag_posted`` with
the event id; ``EditMessage`` is an m.replace of an earlier bot message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from linli.common.clock import Clock
from linli.common.errors import Conflict, DomainError, NotFound, PermissionDenied
from linli.common.i18n import DEFAULT_LOCALE, Translator
from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.common.ports import CompoundScope, in_scope
from linli.community.model import STAFF_ROLES, Compound, Directory, Role, Station
from linli.questions import policy, stats
from linli.questions.classifier import Classifier
from linli.questions.detect import Detection, Reason, detect, topic_of
from linli.questions.model import (
    AnswerKind,
    CommandResult,
    EditMessage,
    Effect,
    Feedback,
    FeedbackKind,
    FlagLevel,
    FlagStatus,
    MessageIn,
    NewQuestion,
    PostDigest,
    PostFlag,
    Question,
    QuestionState,
    QuestionStore,
    Rating,
)
from linli.questions.render import Renderer
from linli.questions.settings import QuestionSettings

log = logging.getLogger(__name__)

DUE_BATCH = 200


class QuestionService:
    def __init__(
        self,
        store: QuestionStore,
        clock: Clock,
        directory: Callable[[], Directory],
        translator: Translator,
        settings: QuestionSettings | None = None,
        default_timezone: str = "Asia/Shanghai",
        model: Classifier | None = None,
    ) -> None:
        self.store = store
        # The trained half of detection (None: rules alone); a deployment's retrained model
        # replaces it through refresh_model().
        self.model = model
        self.model_id = 0
        self.clock = clock
        self.directory = directory
        self.render = Renderer(translator)
        self.settings = settings or QuestionSettings()
        self.default_timezone = default_timezone
        self._per_compound: dict[tuple[int, str], QuestionSettings] = {}
        self._digests_done: set[tuple[int, str]] = set()

    # ---- look-ups ------------------------------------------------------------------------------
    def settings_for(self, compound: Compound | None) -> QuestionSettings:
        """The base settings with the compound's ``settings["questions"]`` overrides."""
        if compound is None:
            return self.settings
        overrides = compound.settings.get("questions") if compound.settings else None
        if not isinstance(overrides, dict) or not overrides:
            return self.settings
        key = (compound.id, repr(sorted(overrides.items())))
        if key not in self._per_compound:
            self._per_compound[key] = self.settings.with_overrides(overrides)
        return self._per_compound[key]

    def _station_tz(self, directory: Directory, station: Station) -> str:
        compounds = directory.compounds_of_station(station.id)
        return compounds[0].timezone if compounds else self.default_timezone

    def _now(self, at: datetime | None = None) -> datetime:
        now = self.clock.now()
        return now if at is None else min(at, now)  # a clock ahead of ours is not the future

    async def refresh_model(self) -> bool:
        """Load the newest model retrained for this deployment, if there is a newer one."""
        found = await self.store.latest_model(self.model_id)
        if found is None:
            return False
        model_id, text = found
        self.model_id = model_id  # a bad model is not read again on every tick
        try:
            self.model = Classifier.from_json(text)
        except ValueError as exc:
            log.warning("retrained question model %s not used: %s", model_id, exc)
            return False
        log.info("question model %s (retrained for this deployment) in use", model_id)
        return True

    def detect(self, text: str, s: QuestionSettings, mentions_staff: bool = False) -> Detection:
        return detect(text, s, mentions_staff=mentions_staff, model=self.model)

    # ---- incoming events ----------
    async def on_message(
        self, m: MessageIn, flat_of: Callable[[], Awaitable[str | None]] | None = None,
    ) -> list[Effect]:
        """A message in a room: a staff answer, a resident reply, or perhaps a new question.

        ``flat_of`` looks up the asker's flat when ``m.asker_flat`` is not given: called only
        for a message that is recorded as a question (most messages are not)."""
        directory = self.directory()
        compound = directory.compound_by_room(m.room_id)
        if compound is None:
            return []
        s = self.settings_for(compound)
        if not s.enabled:
            return []
        at = self._now(m.sent_at)
        targets = [(e, k) for e, k in ((m.thread_root, AnswerKind.THREAD),
                                       (m.reply_to, AnswerKind.REPLY)) if e]
        if directory.is_staff_in_compound(m.sender, compound):
            return await self._staff_message(m, compound, s, at, targets)
        for event_id, _ in targets:
            q = await self.store.by_event(m.room_id, event_id)
            if q is not None:
                if q.asker != m.sender and q.is_open:
                    await self.store.record_resident_reply(q.id, at, m.text)
                    log.info("question %s: resident reply recorded", q.id)
                return []  # a reply in a question's conversation is not a new question
        mentions_staff = any(
            directory.is_staff_in_compound(u, compound) for u in m.mentions if u != m.sender
        )
        verdict = self.detect(m.text, s, mentions_staff=mentions_staff)
        if not verdict.is_question:
            return []
        if m.asker_flat is None and flat_of is not None:
            m = replace(m, asker_flat=await flat_of())
        return await self._new_question(m, compound, s, at, verdict)

    async def _staff_message(
        self, m: MessageIn, compound: Compound, s: QuestionSettings, at: datetime,
        targets: Sequence[tuple[EventID, AnswerKind]],
    ) -> list[Effect]:
        effects: list[Effect] = []
        answered_askers: set[str] = set()
        for event_id, kind in targets:
            q = await self.store.by_event(m.room_id, event_id)
            if q is not None:
                answered_askers.add(q.asker)
                if q.is_open:
                    effects += await self._close(q, QuestionState.ANSWERED, at, m.sender, kind,
                                                 m.event_id)
                break
        # A reply mentions the replied-to sender by itself (m.mentions); that is not a mention
        # of the asker "to answer them", so it does not close their other questions.
        skip = {m.sender, m.reply_to_sender, *answered_askers}
        askers = [u for u in dict.fromkeys(m.mentions) if u not in skip]
        if askers:
            for q in await self.store.open_by_askers(m.room_id, askers, at - s.mention_window):
                effects += await self._close(q, QuestionState.ANSWERED, at, m.sender,
                                             AnswerKind.MENTION, m.event_id)
        return effects

    async def _new_question(
        self, m: MessageIn, compound: Compound, s: QuestionSettings, at: datetime,
        verdict: Detection, *, flag_now: bool = False,
    ) -> list[Effect]:
        urgent = verdict.urgent
        times = policy.deadlines(at, urgent, s, compound.timezone)
        if flag_now:
            times = policy.Deadlines(self.clock.now(), times.escalate_at, times.expires_at)
        new = NewQuestion(
            compound_id=compound.id, room_id=m.room_id, event_id=m.event_id, asker=m.sender,
            asker_flat=m.asker_flat, text=m.text, topic=topic_of(m.text, s), urgent=urgent,
            asked_at=at, due_at=times.due_at, escalate_at=times.escalate_at,
            expires_at=times.expires_at, reason=verdict.reason, score=verdict.score,
            urgent_score=verdict.urgent_score,
        )
        q = await self.store.add(new, next_check_at=times.due_at)
        log.info(
            "question %s recorded in compound %s (topic %s, urgent %s, due %s)",
            q.id, compound.id, q.topic, urgent, q.due_at.isoformat(),
        )
        # Urgent questions asked just now are flagged at once. Anything else waits for the tick,
        # so a question caught up from an outage is not flagged before the rest of the sync
        # batch (perhaps holding its answer) has been seen.
        if flag_now or (urgent and self.clock.now() - at <= s.pending_retry):
            return await self._check(q, self.clock.now())
        return []

    async def on_edit(
        self, room_id: RoomID, event_id: EventID, sender: UserID, new_text: str,
        sent_at: datetime, mentions: tuple[UserID, ...] = (), asker_flat: str | None = None,
        flat_of: Callable[[], Awaitable[str | None]] | None = None,
    ) -> list[Effect]:
        """An m.replace of ``event_id``: a question's text follows; an edit that turns a
        resident's message into a question records it from the edit's time."""
        directory = self.directory()
        compound = directory.compound_by_room(room_id)
        if compound is None:
            return []
        s = self.settings_for(compound)
        q = await self.store.by_event(room_id, event_id)
        if q is None:
            if directory.is_staff_in_compound(sender, compound):
                return []
            return await self.on_message(MessageIn(
                room_id=room_id, event_id=event_id, sender=sender, text=new_text,
                sent_at=sent_at, mentions=mentions, asker_flat=asker_flat,
            ), flat_of=flat_of)
        if q.asker != sender or not q.is_open:
            return []
        urgent = q.urgent or self.detect(new_text, s).urgent
        times = policy.deadlines(q.asked_at, urgent, s, compound.timezone)
        await self.store.update_text(
            q.id, new_text, topic_of(new_text, s), urgent, times.due_at, times.escalate_at,
            next_check_at=min(times.due_at, q.next_check_at or times.due_at),
        )
        log.info("question %s edited by its asker", q.id)
        if urgent and not q.urgent:
            fresh = await self.store.get(q.id)
            if fresh is not None:
                return await self._check(fresh, self.clock.now())
        return []

    async def on_redaction(self, room_id: RoomID, redacted_event_id: EventID) -> list[Effect]:
        """A redacted question is closed as withdrawn and its text forgotten (in the officers'
        corrections too, so it is never trained on)."""
        await self.store.erase_feedback_text(room_id, redacted_event_id)
        q = await self.store.by_event(room_id, redacted_event_id)
        if q is None:
            return []
        now = self.clock.now()
        if q.is_open:
            closed = await self.store.close(q.id, QuestionState.WITHDRAWN, now)
            if closed is not None:
                log.info("question %s withdrawn", q.id)
        erased = await self.store.erase_text(q.id)
        return self._flag_edits(erased) if erased is not None else []

    async def on_reaction(
        self, room_id: RoomID, target_event_id: EventID, sender: UserID, key: str,
        sent_at: datetime,
    ) -> list[Effect]:
        """A staff ✅ on a question answers it; the asker's 👍/👎 on the answer rates it; a
        staff ❌ on a question or on its flag (officers' room) records a false alarm and
        closes it."""
        directory = self.directory()
        compound = directory.compound_by_room(room_id)
        reaction = policy.reaction_key(key)
        if compound is None:  # an officers' room: only ❌ on a flag means something there
            if reaction not in {policy.reaction_key(r) for r in self.settings.dismiss_reactions}:
                return []
            q = await self.store.by_flag_event(room_id, target_event_id)
            return await self._dismiss_by_reaction(q, sender, sent_at, room_id)
        s = self.settings_for(compound)
        if reaction in {policy.reaction_key(r) for r in s.dismiss_reactions}:
            q = await self.store.by_event(room_id, target_event_id)
            return await self._dismiss_by_reaction(q, sender, sent_at, room_id)
        if reaction in {policy.reaction_key(r) for r in s.answer_reactions}:
            if not directory.is_staff_in_compound(sender, compound):
                return []
            q = await self.store.by_event(room_id, target_event_id)
            if q is None or not q.is_open:
                return []
            return await self._close(q, QuestionState.ANSWERED, self._now(sent_at), sender,
                                     AnswerKind.REACTION, None)
        good = {policy.reaction_key(r) for r in s.good_ratings}
        bad = {policy.reaction_key(r) for r in s.bad_ratings}
        if reaction in good or reaction in bad:
            q = await self.store.by_answer_event(room_id, target_event_id)
            if q is not None and q.asker == sender:
                await self.store.set_rating(q.id, Rating.GOOD if reaction in good else Rating.BAD)
                log.info("question %s rated", q.id)
        return []

    async def _dismiss_by_reaction(
        self, q: Question | None, sender: UserID, sent_at: datetime, room_id: RoomID
    ) -> list[Effect]:
        if q is None or not q.is_open:
            return []
        directory = self.directory()
        compound = directory.compounds.get(q.compound_id)
        if compound is None or not directory.is_staff_in_compound(sender, compound):
            return []
        return await self._dismiss(q, sender, self._now(sent_at))

    async def _dismiss(self, q: Question, by: UserID, at: datetime,
                       source_event_id: EventID | None = None) -> list[Effect]:
        """A false alarm: recorded (keyed by the resident's message, so doing it again changes
        nothing) and the question closed, its flags edited to say so."""
        await self.store.record_feedback(Feedback(
            compound_id=q.compound_id, room_id=q.room_id, event_id=q.event_id,
            kind=FeedbackKind.FALSE_ALARM, text=q.text, message_at=q.asked_at, given_by=by,
            given_at=at, urgent=False, question_id=q.id, source_event_id=source_event_id,
        ))
        log.info("question %s: a false alarm, says staff", q.id)
        return await self._close(q, QuestionState.DISMISSED, at, by, None, None)

    # ---- commands ----------
    async def command_notquestion(
        self, room_id: RoomID, sender: UserID, reply_to: EventID | None,
        event_id: EventID | None = None,
    ) -> CommandResult:
        """``!notquestion`` as a reply to a question or to its flag: a false alarm."""
        if reply_to is None:
            raise DomainError("error.notquestion_reply_needed")
        q = await self.store.by_event(room_id, reply_to)
        if q is None:
            q = await self.store.by_flag_event(room_id, reply_to)
        if q is None:
            raise NotFound("error.question_not_found")
        directory = self.directory()
        compound = directory.compounds.get(q.compound_id)
        if compound is None or not directory.is_staff_in_compound(sender, compound):
            raise PermissionDenied("error.question_staff_only")
        if not q.is_open and q.state is not QuestionState.DISMISSED:
            raise Conflict("error.question_already_closed")
        effects: list[Effect] = []
        if q.is_open:
            effects = await self._dismiss(q, sender, self.clock.now(), event_id)
        locale = directory.locale_for_room(room_id)
        return CommandResult(
            self.render.t.render(locale, "question.marked_not_question"), tuple(effects)
        )

    async def command_flag(
        self, room_id: RoomID, sender: UserID, target: MessageIn | None, *,
        urgent: bool = False, event_id: EventID | None = None,
    ) -> CommandResult:
        """``!flag [urgent]`` as a reply to a resident's message the detector let through: a
        miss is recorded and the message becomes a question, flagged in the officers' room
        now. ``target`` is the replied-to message as the edge fetched it (None: not found)."""
        directory = self.directory()
        compound = directory.compound_by_room(room_id)
        if compound is None:
            raise DomainError("error.flag_reply_needed")
        if not directory.is_staff_in_compound(sender, compound):
            raise PermissionDenied("error.question_staff_only")
        if target is None:
            raise NotFound("error.flag_not_found")
        if directory.is_staff_in_compound(target.sender, compound) or target.sender == sender:
            raise NotFound("error.flag_not_found")
        existing = await self.store.by_event(room_id, target.event_id)
        if existing is not None and existing.state is not QuestionState.DISMISSED:
            raise Conflict("error.flag_already_question")
        now = self.clock.now()
        await self.store.record_feedback(Feedback(
            compound_id=compound.id, room_id=room_id, event_id=target.event_id,
            kind=FeedbackKind.MISS, text=target.text, message_at=target.sent_at,
            given_by=sender, given_at=now, urgent=urgent if urgent else None,
            question_id=existing.id if existing else None, source_event_id=event_id,
        ))
        effects: list[Effect] = []
        if existing is None:
            s = self.settings_for(compound)
            effects = await self._new_question(
                target, compound, s, self._now(target.sent_at),
                Detection(True, Reason.OFFICER, urgent=urgent), flag_now=True,
            )
        log.info("a missed question flagged by staff in compound %s", compound.id)
        locale = directory.locale_for_room(room_id)
        return CommandResult(self.render.t.render(locale, "question.flagged_now"), tuple(effects))

    async def command_answered(
        self, room_id: RoomID, sender: UserID, reply_to: EventID | None
    ) -> CommandResult:
        """``!answered`` as a reply to a question in its room, or to its flag in the officers'
        or supervisors' room."""
        if reply_to is None:
            raise DomainError("error.question_reply_needed")
        q = await self.store.by_event(room_id, reply_to)
        if q is None:
            q = await self.store.by_flag_event(room_id, reply_to)
        if q is None:
            raise NotFound("error.question_not_found")
        directory = self.directory()
        compound = directory.compounds.get(q.compound_id)
        if compound is None or not directory.is_staff_in_compound(sender, compound):
            raise PermissionDenied("error.question_staff_only")
        if not q.is_open:
            raise Conflict("error.question_already_closed")
        effects = await self._close(q, QuestionState.ANSWERED, self.clock.now(), sender,
                                    AnswerKind.COMMAND, None)
        locale = directory.locale_for_room(room_id)
        return CommandResult(
            self.render.t.render(locale, "question.marked_answered"), tuple(effects)
        )

    def _officers_station(self, directory: Directory, room_id: str, sender: str) -> Station:
        station = directory.station_by_officers_room(room_id)
        if station is None:
            raise DomainError("error.question_not_officers_room")
        if not (directory.roles_in_station(sender, station) & (STAFF_ROLES | {Role.ADMIN})):
            raise PermissionDenied("error.question_staff_only")
        return station

    async def command_questions(self, room_id: RoomID, sender: UserID) -> CommandResult:
        """``!questions`` in an officers' room: the station's open questions, oldest first."""
        directory = self.directory()
        station = self._officers_station(directory, room_id, sender)
        ids = [c.id for c in directory.compounds_of_station(station.id)]
        questions, total = await self.store.open_in_compounds(ids, self.settings.list_limit)
        text = self.render.open_list(questions, total, directory, self.clock.now(),
                                     station.locale)
        return CommandResult(text)

    async def command_stats(
        self, room_id: RoomID, sender: UserID, week: str | None = None
    ) -> CommandResult:
        """``!stats [week]`` in an officers' room: the station's figures for one ISO week."""
        directory = self.directory()
        station = self._officers_station(directory, room_id, sender)
        tz = self._station_tz(directory, station)
        try:
            resolved = stats.resolve_week(week, self.clock.now(), tz)
        except ValueError:
            raise DomainError("error.invalid_week", value=(week or "")[:20]) from None
        text = await self.stats_text(
            directory, [station], resolved, station.locale, scope=station.name
        )
        return CommandResult(text)

    async def stats_text(
        self,
        directory: Directory,
        stations: Sequence[Station] | None,
        week: str,
        locale: str,
        *,
        scope: str,
        compound_slugs: Sequence[str] | None = None,
        trend_weeks: int = 0,
        header: str | None = None,
    ) -> str:
        """Figures for one ISO week per compound, in total and per staff member, optionally
        with the ``trend_weeks`` weeks up to it. ``stations`` None means every station."""
        compounds = [
            c for c in directory.compounds.values()
            if (stations is None or c.station_id in {st.id for st in stations})
            and (compound_slugs is None or c.slug in compound_slugs)
        ]
        ids = [c.id for c in compounds]
        tz = compounds[0].timezone if compounds else self.default_timezone
        start, end = stats.week_bounds(week, tz)
        now = self.clock.now()
        asked = await self.store.asked_between(ids, start, end)
        names = {c.id: c.name for c in compounds}
        per_compound = {
            names.get(cast(CompoundId, k), str(k)): f
            for k, f in stats.by_compound(asked, now).items()
        }
        per_staff = {
            self.render.staff_name(str(k), directory): f
            for k, f in stats.by_staff(asked, now).items()
        }
        per_week = None
        if trend_weeks > 0:
            trend_start = start - timedelta(weeks=trend_weeks - 1)
            history = await self.store.asked_between(ids, trend_start, end)
            per_week = stats.by_week(history, tz, now)
        title = self.render.t.render(
            locale, "question.stats.header", scope=scope, week=week,
            start=start.date().isoformat(), end=(end - timedelta(days=1)).date().isoformat(),
        )
        if header:
            title = f"{header}\n{title}"
        text = self.render.stats(
            header=title, total=stats.figures(asked, now), per_compound=per_compound,
            per_staff=per_staff, per_week=per_week, locale=locale,
        )
        # Detection as the officers' corrections measure it, for the same weeks.
        first = start - timedelta(weeks=max(trend_weeks, 1) - 1)
        history = asked if first == start else await self.store.asked_between(ids, first, end)
        feedback = await self.store.feedback_between(ids, first, end)
        by_week = stats.detection_by_week(history, feedback, tz)
        if by_week:
            text += "\n" + self.render.detection(by_week, locale)
        return text

    # ---- time ----------
    async def tick(self, scope: CompoundScope = None) -> list[Effect]:
        """Periodic work: flags and escalations past due, expiry, weekly digests, of the
        compounds in ``scope`` (the ones this process owns; None: all) and of the stations
        whose first compound is among them."""
        now = self.clock.now()
        effects: list[Effect] = []
        if scope is None or scope:
            for q in await self.store.due(now, DUE_BATCH, scope):
                try:
                    effects += await self._check(q, now)
                except Exception:  # one bad question must not stop the others
                    log.exception("question %s: due check failed", q.id)
        effects += await self._digests(now, scope)
        return effects

    async def _check(self, q: Question, now: datetime) -> list[Effect]:
        directory = self.directory()
        compound = directory.compounds.get(q.compound_id)
        s = self.settings_for(compound)
        if q.expires_at <= now:
            closed = await self.store.close(q.id, QuestionState.EXPIRED, now)
            if closed is not None:
                log.info("question %s expired unanswered", q.id)
                return self._flag_edits(closed)
            return []
        station = directory.station_of(compound) if compound else None
        effects: list[Effect] = []
        for level in policy.due_levels(q, now, s.pending_retry):
            room = None
            if station is not None:
                room = (station.officers_room_id if level is FlagLevel.FLAG
                        else station.supervisors_room_id)
            if not await self.store.claim_flag(q.id, level, room, now, now - s.pending_retry):
                continue
            if room is None:
                log.warning("question %s: no room for its %s; skipped", q.id, level.value)
                continue
            locale = station.locale if station else DEFAULT_LOCALE.value
            header = self.render.flag_header(q, level, now, s, locale)
            body = self.render.card(q, header, compound, directory, s, locale)
            effects.append(PostFlag(q.id, level, room, body,
                                    policy.txn_id(q.room_id, q.event_id, level)))
            log.info("question %s: %s due, posting", q.id, level.value)
        fresh = await self.store.get(q.id)
        if fresh is not None:
            await self.store.set_next_check(q.id, policy.next_check(fresh, s.pending_retry))
        return effects

    async def flag_posted(
        self, question_id: int, level: FlagLevel, event_id: EventID
    ) -> list[Effect]:
        """The edge posted a flag: remember its event id; if the question was closed in the
        meantime, the flag is edited at once."""
        now = self.clock.now()
        q = await self.store.flag_posted(question_id, level, event_id, now)
        if q is None:
            return []
        s = self.settings_for(self.directory().compounds.get(q.compound_id))
        if q.is_open:
            await self.store.set_next_check(q.id, policy.next_check(q, s.pending_retry))
            return []
        return [
            e for e in self._flag_edits(q) if isinstance(e, EditMessage) and e.event_id == event_id
        ]

    # ---- closing ----------
    async def _close(
        self, q: Question, state: QuestionState, at: datetime, by: UserID | None,
        kind: AnswerKind | None, answer_event_id: EventID | None,
    ) -> list[Effect]:
        closed = await self.store.close(q.id, state, at, by, kind, answer_event_id)
        if closed is None:
            return []
        log.info("question %s %s (%s)", q.id, state.value, kind.value if kind else "-")
        return self._flag_edits(closed)

    def _flag_edits(self, q: Question) -> list[Effect]:
        """m.replace texts for every posted flag of a closed question."""
        posted = [f for f in q.flags if f.status is FlagStatus.POSTED and f.event_id and f.room_id]
        if not posted or q.is_open:
            return []
        directory = self.directory()
        compound = directory.compounds.get(q.compound_id)
        station = directory.station_of(compound) if compound else None
        locale = station.locale if station else DEFAULT_LOCALE.value
        s = self.settings_for(compound)
        header = self.render.closed_header(q, directory, locale)
        body = self.render.card(q, header, compound, directory, s, locale)
        edits: list[Effect] = []
        for f in posted:
            if f.room_id is not None and f.event_id is not None:
                edits.append(EditMessage(f.room_id, f.event_id, body))
        return edits

    # ---- digests ----------
    async def _digests(self, now: datetime, scope: CompoundScope = None) -> list[Effect]:
        """Once a week per officers' room, after ``digest_weekday`` ``digest_time`` local time,
        the previous ISO week's figures. Claimed in the database, so one digest per week even
        across restarts and several processes (lost if the process dies mid-post)."""
        directory = self.directory()
        effects: list[Effect] = []
        for station in directory.stations.values():
            compounds = directory.compounds_of_station(station.id)
            if not station.officers_room_id or not compounds:
                continue
            # The station's work goes with its first compound (the one with a room, if any),
            # as its officers' room does when several processes share the compounds.
            first = min([c.id for c in compounds if c.room_id] or [c.id for c in compounds])
            if not in_scope(scope, first):
                continue
            tz = self._station_tz(directory, station)
            local = now.astimezone(ZoneInfo(tz))
            monday = local.date() - timedelta(days=local.weekday())
            moment = datetime.combine(
                monday + timedelta(days=self.settings.digest_weekday), self.settings.digest_time,
                tzinfo=ZoneInfo(tz),
            )
            if now < moment:
                continue
            week = stats.iso_week(monday - timedelta(days=7))
            if (station.id, week) in self._digests_done:
                continue
            claimed = await self.store.claim_digest(station.id, week, now)
            self._digests_done.add((station.id, week))
            if not claimed:
                continue
            ids = [c.id for c in directory.compounds_of_station(station.id)]
            _, still_open = await self.store.open_in_compounds(ids, 0)
            start, end = stats.week_bounds(week, tz)
            if not await self.store.asked_between(ids, start, end):
                continue  # nothing to report: a quiet week (or a new install) stays quiet
            header = self.render.t.render(station.locale, "question.digest.header")
            body = await self.stats_text(
                directory, [station], week, station.locale, scope=station.name, header=header
            )
            if still_open:
                body += "\n" + self.render.t.render(
                    station.locale, "question.digest.open", count=still_open
                )
            effects.append(PostDigest(
                station.id, week, station.officers_room_id, body,
                f"linli-question-digest-{station.id}-{week}",
            ))
            log.info("weekly question digest %s for station %s", week, station.id)
        return effects
