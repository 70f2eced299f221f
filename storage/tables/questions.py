"""Questions tables: residents' questions with absolute deadlines, the flags posted about them
(one row per question and level), and the weekly digests already sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from linli.storage.tables.base import Base
from linli.storage.types import UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class QuestionRow(Base):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("room_id", "event_id", name="uq_questions_room_id_event_id"),
        # the periodic due-check: open questions by the time they next need a look
        Index("ix_questions_state_next_check_at", "state", "next_check_at"),
        # !questions, statistics and digests: a station's compounds over a time range
        Index("ix_questions_compound_id_asked_at", "compound_id", "asked_at"),
        # "a staff member mentioned the asker": open questions of given askers in a room
        Index("ix_questions_room_id_asker", "room_id", "asker"),
        # ratings: the asker reacts to the staff answer
        Index("ix_questions_answer_event_id", "answer_event_id"),
    )
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    room_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255))
    asker: Mapped[str] = mapped_column(String(255))
    asker_flat: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalate_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    answer_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    answer_event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resident_replies: Mapped[int] = mapped_column(Integer, default=0)
    last_resident_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_resident_reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    rating: Mapped[str | None] = mapped_column(String(8), nullable=True)


class QuestionFlagRow(Base):
    __tablename__ = "question_flags"
    __table_args__ = (
        # at most one flag per level per question, whatever crashes or second processes do
        UniqueConstraint("question_id", "level", name="uq_question_flags_question_id_level"),
        # !answered sent as a reply to the flag in the officers' room
        Index("ix_question_flags_event_id", "event_id"),
    )
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE")
    )
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class QuestionDigestRow(Base):
    __tablename__ = "question_digests"
    station_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QuestionDetectionRow(Base):
    """Why the detector took a message as a question (the flag says it), and its scores. Kept
    beside ``questions`` (not a column of it) so the migration does not depend on 0004."""

    __tablename__ = "question_detections"
    question_id: Mapped[int] = mapped_column(_ID, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    urgent_score: Mapped[float | None] = mapped_column(Float, nullable=True)


class QuestionFeedbackRow(Base):
    """An officer's correction of the detector: a false alarm (❌ or ``!notquestion``) or a
    miss (``!flag``). One row per resident message, so a correction handled again after a
    crash, or given twice, changes nothing; a later opposite correction replaces it."""

    __tablename__ = "question_feedback"
    __table_args__ = (
        UniqueConstraint("room_id", "event_id", name="uq_question_feedback_room_id_event_id"),
        Index("ix_question_feedback_compound_id_message_at", "compound_id", "message_at"),
    )
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    room_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    message_at: Mapped[datetime] = mapped_column(UTCDateTime())
    question_id: Mapped[int | None] = mapped_column(_ID, nullable=True)
    given_by: Mapped[str] = mapped_column(String(255))
    source_event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QuestionModelRow(Base):
    """A model retrained for this deployment (``linli questions retrain``); the newest wins."""

    __tablename__ = "question_models"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    examples: Mapped[int] = mapped_column(Integer)
    feedback: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(Text)
