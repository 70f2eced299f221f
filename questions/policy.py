"""Pure decisions: a question's deadlines, when to look at it next, which flag level is due."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli.questions.hours import add_office_time
from linli.questions.model import FlagLevel, FlagStatus, Question
from linli.questions.settings import QuestionSettings

_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}


@dataclass(frozen=True)
class Deadlines:
    due_at: datetime
    escalate_at: datetime
    expires_at: datetime


def deadlines(asked_at: datetime, urgent: bool, s: QuestionSettings, tz: str) -> Deadlines:
    """Absolute times for a question: urgent ones are due at once whatever the hour; the rest
    after ``deadline`` and ``escalate_after`` of office time."""
    if urgent:
        due = asked_at
        escalate = asked_at + s.urgent_escalate_after
    else:
        due = add_office_time(asked_at, s.deadline, s.office_hours, tz)
        escalate = add_office_time(asked_at, s.escalate_after, s.office_hours, tz)
    return Deadlines(due, escalate, max(asked_at + s.expire_after, escalate))


def due_levels(q: Question, now: datetime, retry: timedelta) -> list[FlagLevel]:
    """Levels to (re)post now: unclaimed and past due, or claimed but never confirmed posted
    for longer than ``retry`` (the edge crashed mid-post; the txn id makes a repeat safe)."""
    if not q.is_open:
        return []
    out = []
    for level in FlagLevel:
        flag = q.flag(level)
        if flag is None:
            if q.level_due_at(level) <= now:
                out.append(level)
        elif flag.status is FlagStatus.PENDING and flag.claimed_at + retry <= now:
            out.append(level)
    return out


def next_check(q: Question, retry: timedelta) -> datetime | None:
    """When the periodic check must look at this question again (None once closed)."""
    if not q.is_open:
        return None
    candidates = [q.expires_at]
    for level in FlagLevel:
        flag = q.flag(level)
        if flag is None:
            candidates.append(q.level_due_at(level))
        elif flag.status is FlagStatus.PENDING:
            candidates.append(flag.claimed_at + retry)
    return min(candidates)


def reaction_key(key: str) -> str:
    """Compare reactions without variation selectors or skin tones ("👍🏻" counts as "👍")."""
    return "".join(ch for ch in key if ch not in _SKIN_TONES and ch != "\ufe0f").strip()


def txn_id(room_id: str, event_id: str, level: FlagLevel) -> str:
    """The flag's transaction id, from the resident's message (not the question's row id,
    which a database sequence may hand out anew when the unit of work that recorded the
    question is rolled back and done again): a flag posted again is the same flag."""
    digest = hashlib.sha256(f"{room_id}\x00{event_id}\x00{level.value}".encode()).hexdigest()
    return f"linli-question-{digest[:32]}"
