"""Plain data of the questions feature: questions, flags, what the edge passes in (events) and
what it gets back (effects), and the storage port the service needs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from urllib.parse import quote

from linli.common.ids import CompoundId, EventID, RoomID, StationId, UserID


class QuestionState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"  # the asker redacted the question
    EXPIRED = "expired"  # nobody answered within questions.expire_after
    DISMISSED = "dismissed"  # staff said it is not a question (a false alarm)


class AnswerKind(StrEnum):
    REPLY = "reply"
    THREAD = "thread"
    REACTION = "reaction"
    MENTION = "mention"
    COMMAND = "command"


class FlagLevel(StrEnum):
    FLAG = "flag"  # officers' room, past the deadline
    ESCALATION = "escalation"  # supervisors' room, past the second deadline


class FlagStatus(StrEnum):
    PENDING = "pending"  # claimed; the edge is posting it
    POSTED = "posted"  # the edge reported the event id
    SKIPPED = "skipped"  # no room to post to


class Rating(StrEnum):
    GOOD = "good"
    BAD = "bad"


@dataclass(frozen=True)
class Flag:
    question_id: int
    level: FlagLevel
    status: FlagStatus
    claimed_at: datetime
    room_id: RoomID | None = None
    event_id: EventID | None = None
    posted_at: datetime | None = None


@dataclass(frozen=True)
class NewQuestion:
    compound_id: CompoundId
    room_id: RoomID
    event_id: EventID
    asker: UserID
    asker_flat: str | None = field(repr=False)
    text: str = field(repr=False)
    topic: str
    urgent: bool
    asked_at: datetime
    due_at: datetime
    escalate_at: datetime
    expires_at: datetime
    reason: str | None = None
    score: float | None = None
    urgent_score: float | None = None


class FeedbackKind(StrEnum):
    FALSE_ALARM = "false_alarm"  # flagged, but not a question for staff (❌, !notquestion)
    MISS = "miss"  # a question for staff the detector let through (!flag)


@dataclass(frozen=True)
class Feedback:
    """An officer's correction of the detector, one per resident message."""

    compound_id: CompoundId
    room_id: RoomID
    event_id: EventID
    kind: FeedbackKind
    text: str = field(repr=False)
    message_at: datetime
    given_by: UserID
    given_at: datetime
    urgent: bool | None = None
    question_id: int | None = None
    source_event_id: EventID | None = None


@dataclass(frozen=True)
class Question:
    """A resident's question. ``text`` and ``asker_flat`` are resident data: kept out of repr."""

    id: int
    compound_id: CompoundId
    room_id: RoomID
    event_id: EventID
    asker: UserID
    asker_flat: str | None = field(repr=False)
    text: str = field(repr=False)
    topic: str
    urgent: bool
    state: QuestionState
    asked_at: datetime
    due_at: datetime
    escalate_at: datetime
    expires_at: datetime
    next_check_at: datetime | None = None
    closed_at: datetime | None = None
    answered_by: UserID | None = None
    answer_kind: AnswerKind | None = None
    answer_event_id: EventID | None = None
    resident_replies: int = 0
    last_resident_reply_at: datetime | None = None
    last_resident_reply: str | None = field(default=None, repr=False)
    rating: Rating | None = None
    flags: tuple[Flag, ...] = ()
    reason: str | None = None  # why the detector took it as a question (detect.Reason)

    @property
    def is_open(self) -> bool:
        return self.state is QuestionState.OPEN

    @property
    def link(self) -> str:
        return matrix_to(self.room_id, self.event_id, via=[self.asker.rpartition(":")[2]])

    def flag(self, level: FlagLevel) -> Flag | None:
        return next((f for f in self.flags if f.level is level), None)

    def level_due_at(self, level: FlagLevel) -> datetime:
        return self.due_at if level is FlagLevel.FLAG else self.escalate_at

    @property
    def response_time(self) -> float | None:
        """Seconds from asking to the first staff answer, or None if not answered."""
        if self.state is not QuestionState.ANSWERED or self.closed_at is None:
            return None
        return max(0.0, (self.closed_at - self.asked_at).total_seconds())


def matrix_to(room_id: str, event_id: str, via: Sequence[str] = ()) -> str:
    """A permalink to one event: https://matrix.to/#/<room_id>/<event_id>?via=<server>.

    ``via`` names servers in the room to join through: a room id of version 12 names none, and
    an officer on another server or not yet in the room could not open the link without it.
    A question links through its asker's server (the asker is in the room)."""
    safe = "!$:@.-_~+=/"
    link = f"https://matrix.to/#/{quote(room_id, safe=safe)}/{quote(event_id, safe=safe)}"
    servers = [s for s in dict.fromkeys(via) if s]
    return link + ("?" + "&".join(f"via={quote(s, safe=':.-')}" for s in servers)
                   if servers else "")


# ---- what the edge passes in ----------------------------------------------------------------


@dataclass(frozen=True)
class MessageIn:
    """An ``m.room.message`` (not a command, not the bot's own) in a compound room.

    ``sent_at`` is the event's origin_server_ts; ``reply_to`` the m.in_reply_to event;
    ``thread_root`` the m.thread root; ``mentions`` the user ids the message mentions;
    ``asker_flat`` the sender's flat label from verification ("3栋2单元501"), never a name;
    ``reply_to_sender`` the sender of the replied-to event if known (its automatic mention in
    a reply is not taken as the staff member answering that person).
    """

    room_id: RoomID
    event_id: EventID
    sender: UserID
    text: str = field(repr=False)
    sent_at: datetime
    reply_to: EventID | None = None
    thread_root: EventID | None = None
    mentions: tuple[UserID, ...] = ()
    asker_flat: str | None = field(default=None, repr=False)
    reply_to_sender: UserID | None = None


# ---- what the edge carries out --------------------------------------------------------------


@dataclass(frozen=True)
class PostFlag:
    """Post ``body`` in ``room_id`` with transaction id ``txn_id`` (stable across retries, so
    the homeserver deduplicates a repeat), then call ``QuestionService.flag_posted``."""

    question_id: int
    level: FlagLevel
    room_id: RoomID
    body: str
    txn_id: str


@dataclass(frozen=True)
class EditMessage:
    """Replace the text of an earlier bot message (m.replace of ``event_id``)."""

    room_id: RoomID
    event_id: EventID
    body: str


@dataclass(frozen=True)
class PostDigest:
    """Post a weekly digest in a station's officers' room."""

    station_id: StationId
    week: str
    room_id: RoomID
    body: str
    txn_id: str


Effect = PostFlag | EditMessage | PostDigest


@dataclass(frozen=True)
class CommandResult:
    """A chat command's reply text for the edge to send, plus effects to carry out."""

    text: str
    effects: tuple[Effect, ...] = ()


# ---- the storage port -------------------------------------------------------------------------


class QuestionStore(Protocol):
    """What the service needs from storage; storage.repos.questions implements it."""

    async def add(self, new: NewQuestion, next_check_at: datetime) -> Question: ...

    async def get(self, question_id: int) -> Question | None: ...

    async def by_event(self, room_id: str, event_id: str) -> Question | None: ...

    async def by_flag_event(self, room_id: str, event_id: str) -> Question | None: ...

    async def by_answer_event(self, room_id: str, event_id: str) -> Question | None: ...

    async def open_by_askers(
        self, room_id: str, askers: Sequence[str], since: datetime
    ) -> list[Question]: ...

    async def update_text(
        self, question_id: int, text: str, topic: str, urgent: bool, due_at: datetime,
        escalate_at: datetime, next_check_at: datetime,
    ) -> None: ...

    async def close(
        self, question_id: int, state: QuestionState, at: datetime,
        answered_by: str | None = None, kind: AnswerKind | None = None,
        answer_event_id: str | None = None,
    ) -> Question | None: ...

    async def erase_text(self, question_id: int) -> Question | None: ...

    async def record_resident_reply(self, question_id: int, at: datetime, text: str) -> None: ...

    async def erase_feedback_text(self, room_id: str, event_id: str) -> None: ...

    async def set_rating(self, question_id: int, rating: Rating) -> None: ...

    async def due(
        self, now: datetime, limit: int, compound_ids: Collection[int] | None = None
    ) -> list[Question]:
        """Open questions whose next check time has come, of these compounds (None: all)."""
        ...

    async def set_next_check(self, question_id: int, when: datetime | None) -> None: ...

    async def claim_flag(
        self, question_id: int, level: FlagLevel, room_id: str | None, now: datetime,
        retry_before: datetime,
    ) -> bool: ...

    async def flag_posted(
        self, question_id: int, level: FlagLevel, event_id: str, now: datetime
    ) -> Question | None: ...

    async def open_in_compounds(
        self, compound_ids: Sequence[int], limit: int
    ) -> tuple[list[Question], int]: ...

    async def asked_between(
        self, compound_ids: Sequence[int] | None, start: datetime, end: datetime
    ) -> list[Question]: ...

    async def claim_digest(self, station_id: int, week: str, now: datetime) -> bool: ...

    async def record_feedback(self, feedback: Feedback) -> bool: ...

    async def feedback_between(
        self, compound_ids: Sequence[int] | None, start: datetime, end: datetime
    ) -> list[Feedback]: ...

    async def all_feedback(self) -> list[Feedback]: ...

    async def latest_model(self, newer_than: int = 0) -> tuple[int, str] | None: ...

    async def save_model(self, model: str, examples: int, feedback: int, now: datetime) -> int: ...
