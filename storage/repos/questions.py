"""Residents' questions, their flags and digests. Implements questions.model.QuestionStore.

Question text is resident content: it is stored (the flag shows it) but never logged here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linli.common.clock import Clock
from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.questions.model import (
    AnswerKind,
    Feedback,
    FeedbackKind,
    Flag,
    FlagLevel,
    FlagStatus,
    NewQuestion,
    Question,
    QuestionState,
    Rating,
)
from linli.storage.db import Database
from linli.storage.tables.questions import (
    QuestionDetectionRow,
    QuestionDigestRow,
    QuestionFeedbackRow,
    QuestionFlagRow,
    QuestionModelRow,
    QuestionRow,
)

_OPEN = QuestionState.OPEN.value
_REPLY_SNIPPET = 300


def _flag(row: QuestionFlagRow) -> Flag:
    return Flag(
        question_id=row.question_id,
        level=FlagLevel(row.level),
        status=FlagStatus(row.status),
        claimed_at=row.claimed_at,
        room_id=RoomID(row.room_id) if row.room_id else None,
        event_id=EventID(row.event_id) if row.event_id else None,
        posted_at=row.posted_at,
    )


def _question(row: QuestionRow, flags: Sequence[Flag], reason: str | None = None) -> Question:
    return Question(
        id=row.id,
        compound_id=CompoundId(row.compound_id),
        room_id=RoomID(row.room_id),
        event_id=EventID(row.event_id),
        asker=UserID(row.asker),
        asker_flat=row.asker_flat,
        text=row.text,
        topic=row.topic,
        urgent=row.urgent,
        state=QuestionState(row.state),
        asked_at=row.asked_at,
        due_at=row.due_at,
        escalate_at=row.escalate_at,
        expires_at=row.expires_at,
        next_check_at=row.next_check_at,
        closed_at=row.closed_at,
        answered_by=UserID(row.answered_by) if row.answered_by else None,
        answer_kind=AnswerKind(row.answer_kind) if row.answer_kind else None,
        answer_event_id=EventID(row.answer_event_id) if row.answer_event_id else None,
        resident_replies=row.resident_replies,
        last_resident_reply_at=row.last_resident_reply_at,
        last_resident_reply=row.last_resident_reply,
        rating=Rating(row.rating) if row.rating else None,
        flags=tuple(sorted(flags, key=lambda f: list(FlagLevel).index(f.level))),
        reason=reason,
    )


async def _with_flags(s: AsyncSession, rows: Sequence[QuestionRow]) -> list[Question]:
    """Questions with their flags: one query for all flags of the batch."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    by_question: dict[int, list[Flag]] = {}
    reasons: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        flag_rows = (await s.scalars(
            select(QuestionFlagRow).where(QuestionFlagRow.question_id.in_(chunk))
        )).all()
        for f in flag_rows:
            by_question.setdefault(f.question_id, []).append(_flag(f))
        for qid, reason in (await s.execute(
            select(QuestionDetectionRow.question_id, QuestionDetectionRow.reason)
            .where(QuestionDetectionRow.question_id.in_(chunk))
        )).all():
            reasons[qid] = reason
    return [_question(r, by_question.get(r.id, ()), reasons.get(r.id)) for r in rows]


def _feedback(row: QuestionFeedbackRow) -> Feedback:
    return Feedback(
        compound_id=CompoundId(row.compound_id), room_id=RoomID(row.room_id),
        event_id=EventID(row.event_id), kind=FeedbackKind(row.kind), text=row.text,
        message_at=row.message_at, given_by=UserID(row.given_by), given_at=row.given_at,
        urgent=row.urgent, question_id=row.question_id,
        source_event_id=EventID(row.source_event_id) if row.source_event_id else None,
    )


class QuestionRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def _one(self, query: object) -> Question | None:
        async with self.db.session() as s:
            row = await s.scalar(query)  # type: ignore[call-overload]
            if row is None:
                return None
            return (await _with_flags(s, [row]))[0]

    async def _many(self, query: object) -> list[Question]:
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()  # type: ignore[call-overload]
            return await _with_flags(s, rows)

    # ---- questions ----------
    async def add(self, new: NewQuestion, next_check_at: datetime) -> Question:
        """Record a question; recording the same event twice returns the first record."""
        try:
            async with self.db.transaction() as s:
                existing = await s.scalar(
                    select(QuestionRow.id).where(
                        QuestionRow.room_id == new.room_id, QuestionRow.event_id == new.event_id
                    )
                )
                if existing is None:
                    s.add(QuestionRow(
                        compound_id=new.compound_id, room_id=new.room_id,
                        event_id=new.event_id, asker=new.asker, asker_flat=new.asker_flat,
                        text=new.text, topic=new.topic, urgent=new.urgent, state=_OPEN,
                        asked_at=new.asked_at, due_at=new.due_at,
                        escalate_at=new.escalate_at, expires_at=new.expires_at,
                        next_check_at=next_check_at, resident_replies=0,
                    ))
                    await s.flush()
                    qid = await s.scalar(select(QuestionRow.id).where(
                        QuestionRow.room_id == new.room_id, QuestionRow.event_id == new.event_id
                    ))
                    if new.reason and qid is not None:
                        s.add(QuestionDetectionRow(
                            question_id=qid, reason=new.reason, score=new.score,
                            urgent_score=new.urgent_score,
                        ))
        except IntegrityError:
            pass  # another process recorded the same event first
        found = await self.by_event(new.room_id, new.event_id)
        assert found is not None
        return found

    async def get(self, question_id: int) -> Question | None:
        return await self._one(select(QuestionRow).where(QuestionRow.id == question_id))

    async def by_event(self, room_id: str, event_id: str) -> Question | None:
        return await self._one(
            select(QuestionRow).where(
                QuestionRow.room_id == room_id, QuestionRow.event_id == event_id
            )
        )

    async def by_flag_event(self, room_id: str, event_id: str) -> Question | None:
        return await self._one(
            select(QuestionRow)
            .join(QuestionFlagRow, QuestionFlagRow.question_id == QuestionRow.id)
            .where(QuestionFlagRow.room_id == room_id, QuestionFlagRow.event_id == event_id)
        )

    async def by_answer_event(self, room_id: str, event_id: str) -> Question | None:
        return await self._one(
            select(QuestionRow).where(
                QuestionRow.answer_event_id == event_id, QuestionRow.room_id == room_id
            )
        )

    async def open_by_askers(
        self, room_id: str, askers: Sequence[str], since: datetime
    ) -> list[Question]:
        if not askers:
            return []
        return await self._many(
            select(QuestionRow)
            .where(
                QuestionRow.room_id == room_id,
                QuestionRow.asker.in_(list(askers)),
                QuestionRow.state == _OPEN,
                QuestionRow.asked_at >= since,
            )
            .order_by(QuestionRow.asked_at)
        )

    async def update_text(
        self, question_id: int, text: str, topic: str, urgent: bool, due_at: datetime,
        escalate_at: datetime, next_check_at: datetime,
    ) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(QuestionRow)
                .where(QuestionRow.id == question_id)
                .values(text=text, topic=topic, urgent=urgent, due_at=due_at,
                        escalate_at=escalate_at, next_check_at=next_check_at)
            )

    async def close(
        self, question_id: int, state: QuestionState, at: datetime,
        answered_by: str | None = None, kind: AnswerKind | None = None,
        answer_event_id: str | None = None,
    ) -> Question | None:
        """Close an open question; returns it if this call closed it, None if it was closed
        already (so two answers racing produce one 'answered' edit)."""
        async with self.db.transaction() as s:
            result = await s.execute(
                update(QuestionRow)
                .where(QuestionRow.id == question_id, QuestionRow.state == _OPEN)
                .values(
                    state=state.value, closed_at=at, answered_by=answered_by,
                    answer_kind=kind.value if kind else None, answer_event_id=answer_event_id,
                    next_check_at=None,
                )
            )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return await self.get(question_id)

    async def erase_text(self, question_id: int) -> Question | None:
        """Forget resident content of a question whose message was redacted."""
        async with self.db.transaction() as s:
            await s.execute(
                update(QuestionRow)
                .where(QuestionRow.id == question_id)
                .values(text="", last_resident_reply=None)
            )
        return await self.get(question_id)

    async def record_resident_reply(self, question_id: int, at: datetime, text: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(QuestionRow)
                .where(QuestionRow.id == question_id)
                .values(
                    resident_replies=QuestionRow.resident_replies + 1,
                    last_resident_reply_at=at,
                    last_resident_reply=text[:_REPLY_SNIPPET],
                )
            )

    async def set_rating(self, question_id: int, rating: Rating) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(QuestionRow).where(QuestionRow.id == question_id)
                .values(rating=rating.value)
            )

    async def due(
        self, now: datetime, limit: int, compound_ids: Collection[int] | None = None
    ) -> list[Question]:
        """Open questions whose next check time has come (served by the state/next_check
        index), of these compounds (None: all) in one statement whatever their number."""
        query = select(QuestionRow).where(
            QuestionRow.state == _OPEN, QuestionRow.next_check_at <= now)
        if compound_ids is not None:
            query = query.where(QuestionRow.compound_id.in_(list(compound_ids)))
        return await self._many(query.order_by(QuestionRow.next_check_at).limit(limit))

    async def set_next_check(self, question_id: int, when: datetime | None) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(QuestionRow).where(QuestionRow.id == question_id)
                .values(next_check_at=when)
            )

    async def open_in_compounds(
        self, compound_ids: Sequence[int], limit: int
    ) -> tuple[list[Question], int]:
        """The oldest open questions of these compounds, and how many are open in all."""
        if not compound_ids:
            return [], 0
        where = (QuestionRow.compound_id.in_(list(compound_ids)), QuestionRow.state == _OPEN)
        async with self.db.session() as s:
            total = int(await s.scalar(select(func.count(QuestionRow.id)).where(*where)) or 0)
            rows = (await s.scalars(
                select(QuestionRow).where(*where).order_by(QuestionRow.asked_at).limit(limit)
            )).all()
            return await _with_flags(s, rows), total

    async def open_counts(self) -> tuple[int, int, int]:
        """For metrics, in one query: open questions, and how many of them have a posted flag
        and a posted escalation."""

        def posted(level: FlagLevel) -> Any:
            return case((exists().where(
                QuestionFlagRow.question_id == QuestionRow.id,
                QuestionFlagRow.level == level.value,
                QuestionFlagRow.status == FlagStatus.POSTED.value,
            ), 1), else_=0)

        async with self.db.session() as s:
            row = (await s.execute(
                select(
                    func.count(QuestionRow.id),
                    func.coalesce(func.sum(posted(FlagLevel.FLAG)), 0),
                    func.coalesce(func.sum(posted(FlagLevel.ESCALATION)), 0),
                ).where(QuestionRow.state == _OPEN)
            )).one()
        return int(row[0]), int(row[1]), int(row[2])

    async def asked_between(
        self, compound_ids: Sequence[int] | None, start: datetime, end: datetime
    ) -> list[Question]:
        query = select(QuestionRow).where(
            QuestionRow.asked_at >= start, QuestionRow.asked_at < end
        )
        if compound_ids is not None:
            query = query.where(QuestionRow.compound_id.in_(list(compound_ids)))
        return await self._many(query.order_by(QuestionRow.asked_at))

    # ---- flags ----------
    async def claim_flag(
        self, question_id: int, level: FlagLevel, room_id: str | None, now: datetime,
        retry_before: datetime,
    ) -> bool:
        """Claim the right to post this level's flag. True once per level, or again when an
        earlier claim stayed unconfirmed since before ``retry_before``. Without a room the
        level is recorded as skipped and never claimed again."""
        try:
            async with self.db.transaction() as s:
                row = await s.scalar(
                    select(QuestionFlagRow).where(
                        QuestionFlagRow.question_id == question_id,
                        QuestionFlagRow.level == level.value,
                    )
                )
                if row is None:
                    status = FlagStatus.PENDING if room_id else FlagStatus.SKIPPED
                    s.add(QuestionFlagRow(
                        question_id=question_id, level=level.value, status=status.value,
                        room_id=room_id, claimed_at=now,
                    ))
                    await s.flush()
                    return True
                if row.status != FlagStatus.PENDING.value or row.claimed_at > retry_before:
                    return False
                result = await s.execute(
                    update(QuestionFlagRow)
                    .where(
                        QuestionFlagRow.id == row.id,
                        QuestionFlagRow.status == FlagStatus.PENDING.value,
                        QuestionFlagRow.claimed_at == row.claimed_at,
                    )
                    .values(claimed_at=now)
                )
                return bool(result.rowcount)  # type: ignore[attr-defined]
        except IntegrityError:
            return False

    async def flag_posted(
        self, question_id: int, level: FlagLevel, event_id: str, now: datetime
    ) -> Question | None:
        async with self.db.transaction() as s:
            await s.execute(
                update(QuestionFlagRow)
                .where(
                    QuestionFlagRow.question_id == question_id,
                    QuestionFlagRow.level == level.value,
                )
                .values(status=FlagStatus.POSTED.value, event_id=event_id, posted_at=now)
            )
        return await self.get(question_id)

    # ---- digests ----------
    async def claim_digest(self, station_id: int, week: str, now: datetime) -> bool:
        """True the first time a station's digest for a week is claimed, False ever after."""
        try:
            async with self.db.transaction() as s:
                if await s.get(QuestionDigestRow, (station_id, week)) is not None:
                    return False
                s.add(QuestionDigestRow(station_id=station_id, week=week, claimed_at=now))
        except IntegrityError:
            return False
        return True

    # ---- the officers' corrections and retrained models ----------
    async def record_feedback(self, feedback: Feedback) -> bool:
        """Record a correction, one per resident message: True if it is new or changed the
        earlier one, False if the same correction was there already (an event handled again)."""
        f = feedback
        async with self.db.transaction() as s:
            row = await s.scalar(select(QuestionFeedbackRow).where(
                QuestionFeedbackRow.room_id == f.room_id,
                QuestionFeedbackRow.event_id == f.event_id,
            ))
            if row is not None:
                if row.kind == f.kind.value and row.urgent == f.urgent:
                    return False
                row.kind, row.urgent = f.kind.value, f.urgent
                row.given_by, row.given_at = f.given_by, f.given_at
                row.source_event_id = f.source_event_id
                row.question_id = f.question_id if f.question_id is not None else row.question_id
                return True
            s.add(QuestionFeedbackRow(
                compound_id=f.compound_id, room_id=f.room_id, event_id=f.event_id,
                kind=f.kind.value, urgent=f.urgent, text=f.text, message_at=f.message_at,
                question_id=f.question_id, given_by=f.given_by,
                source_event_id=f.source_event_id, given_at=f.given_at,
            ))
        return True

    async def feedback_between(
        self, compound_ids: Sequence[int] | None, start: datetime, end: datetime
    ) -> list[Feedback]:
        query = select(QuestionFeedbackRow).where(
            QuestionFeedbackRow.message_at >= start, QuestionFeedbackRow.message_at < end
        )
        if compound_ids is not None:
            query = query.where(QuestionFeedbackRow.compound_id.in_(list(compound_ids)))
        async with self.db.session() as s:
            return [_feedback(r) for r in (await s.scalars(query)).all()]

    async def all_feedback(self) -> list[Feedback]:
        async with self.db.session() as s:
            rows = (await s.scalars(
                select(QuestionFeedbackRow).order_by(QuestionFeedbackRow.id)
            )).all()
            return [_feedback(r) for r in rows]

    async def erase_feedback_text(self, room_id: str, event_id: str) -> None:
        """The resident redacted the message: its text leaves the training data too."""
        async with self.db.transaction() as s:
            await s.execute(
                update(QuestionFeedbackRow)
                .where(QuestionFeedbackRow.room_id == room_id,
                       QuestionFeedbackRow.event_id == event_id)
                .values(text="")
            )

    async def latest_model(self, newer_than: int = 0) -> tuple[int, str] | None:
        """The newest retrained model (id, JSON) if its id is above ``newer_than``."""
        async with self.db.session() as s:
            newest = await s.scalar(select(func.max(QuestionModelRow.id)))
            if newest is None or newest <= newer_than:
                return None
            row = await s.get(QuestionModelRow, newest)
            return (row.id, row.model) if row is not None else None

    async def save_model(self, model: str, examples: int, feedback: int, now: datetime) -> int:
        async with self.db.transaction() as s:
            row = QuestionModelRow(created_at=now, examples=examples, feedback=feedback,
                                   model=model)
            s.add(row)
            await s.flush()
            return row.id
