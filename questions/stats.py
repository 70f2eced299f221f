"""Response-time figures: answered share, median and 90th percentile of first-response time,
share answered within the deadline, share of good ratings. Pure functions over questions.

Definitions (also in the README):
- withdrawn questions are left out: nobody was asked any more;
- answered share = answered / asked;
- median and p90 over the answered ones (p90 by nearest rank: the smallest time such that at
  least 90 % of answers came no later);
- within-deadline share = answered by ``due_at`` / questions already decided (answered, or
  whose deadline has passed): a question still inside its deadline counts for neither side;
- good share = good ratings / rated answers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from linli.questions.model import Feedback, FeedbackKind, Question, QuestionState, Rating


@dataclass(frozen=True)
class Figures:
    asked: int
    answered: int
    median: timedelta | None
    p90: timedelta | None
    decided: int
    within_deadline: int
    rated: int
    good: int

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.asked if self.asked else None

    @property
    def within_share(self) -> float | None:
        return self.within_deadline / self.decided if self.decided else None

    @property
    def good_share(self) -> float | None:
        return self.good / self.rated if self.rated else None


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def figures(questions: Iterable[Question], now: datetime) -> Figures:
    # withdrawn questions and false alarms are nobody's to answer
    counted = [q for q in questions
               if q.state not in (QuestionState.WITHDRAWN, QuestionState.DISMISSED)]
    times = [t for q in counted if (t := q.response_time) is not None]
    answered = [q for q in counted if q.state is QuestionState.ANSWERED]
    decided = [q for q in counted if q.state is QuestionState.ANSWERED or q.due_at <= now]
    within = [
        q for q in answered if q.closed_at is not None and q.closed_at <= q.due_at
    ]
    rated = [q for q in answered if q.rating is not None]
    return Figures(
        asked=len(counted),
        answered=len(answered),
        median=timedelta(seconds=statistics.median(times)) if times else None,
        p90=timedelta(seconds=percentile(times, 0.9)) if times else None,
        decided=len(decided),
        within_deadline=len(within),
        rated=len(rated),
        good=sum(1 for q in rated if q.rating is Rating.GOOD),
    )


def grouped(
    questions: Iterable[Question], key: Callable[[Question], Hashable | None], now: datetime
) -> dict[Hashable, Figures]:
    groups: dict[Hashable, list[Question]] = {}
    for q in questions:
        k = key(q)
        if k is not None:
            groups.setdefault(k, []).append(q)
    return {k: figures(v, now) for k, v in groups.items()}


def by_compound(questions: Iterable[Question], now: datetime) -> dict[Hashable, Figures]:
    return grouped(questions, lambda q: q.compound_id, now)


def by_staff(questions: Iterable[Question], now: datetime) -> dict[Hashable, Figures]:
    """Per staff member, over the questions each one answered."""
    return grouped(questions, lambda q: q.answered_by, now)


def by_week(questions: Iterable[Question], tz: str, now: datetime) -> dict[Hashable, Figures]:
    zone = ZoneInfo(tz)
    return grouped(questions, lambda q: iso_week(q.asked_at.astimezone(zone).date()), now)


# ---- ISO weeks ---------------------------------------------------------------------------------


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str, tz: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 in ``tz``, as aware datetimes."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    zone = ZoneInfo(tz)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=zone)
    return start, end


def parse_week(text: str) -> tuple[int, int]:
    """``2026-W10`` / ``2026W10`` -> (2026, 10); ValueError otherwise."""
    value = text.strip().upper().replace(" ", "")
    try:
        year_text, week_text = value.split("W", 1)
        year, week = int(year_text.rstrip("-")), int(week_text)
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO week like 2026-W10") from None
    return year, week


def resolve_week(text: str | None, now: datetime, tz: str) -> str:
    """A week argument as people type it: none (this week), ``last``/``上周``, ``W10``, ``10``,
    ``2026-W10``. Raises ValueError on anything else."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if text is None or text.strip().lower() in ("", "this", "本周"):
        return iso_week(today)
    value = text.strip().lower()
    if value in ("last", "上周", "previous"):
        return iso_week(today - timedelta(days=7))
    bare = value.removeprefix("w")
    if bare.isdigit():
        year, week = today.isocalendar()[0], int(bare)
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO week like 2026-W10") from None
        return f"{year}-W{week:02d}"
    year, week = parse_week(value)
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class DetectionFigures:
    """Question detection as the officers' corrections measure it. Every detected question
    nobody marked a false alarm counts as right, so these are upper bounds: precision is
    (detected - false alarms) / detected, recall is that over itself plus the misses flagged
    with ``!flag``."""

    detected: int
    false_alarms: int
    misses: int

    @property
    def precision(self) -> float | None:
        return (self.detected - self.false_alarms) / self.detected if self.detected else None

    @property
    def recall(self) -> float | None:
        right = self.detected - self.false_alarms
        return right / (right + self.misses) if right + self.misses else None


def detection_figures(
    questions: Iterable[Question], feedback: Iterable[Feedback]
) -> DetectionFigures:
    """Detected = questions recorded by the detector (not those staff flagged by hand)."""
    misses = {(f.room_id, f.event_id) for f in feedback if f.kind is FeedbackKind.MISS}
    false_alarms = {(f.room_id, f.event_id) for f in feedback
                    if f.kind is FeedbackKind.FALSE_ALARM}
    detected = [q for q in questions if (q.room_id, q.event_id) not in misses]
    wrong = sum(1 for q in detected if (q.room_id, q.event_id) in false_alarms)
    return DetectionFigures(len(detected), wrong, len(misses))


def detection_by_week(
    questions: Iterable[Question], feedback: Iterable[Feedback], tz: str
) -> dict[str, DetectionFigures]:
    zone = ZoneInfo(tz)
    qs: dict[str, list[Question]] = {}
    fs: dict[str, list[Feedback]] = {}
    for q in questions:
        qs.setdefault(iso_week(q.asked_at.astimezone(zone).date()), []).append(q)
    for f in feedback:
        fs.setdefault(iso_week(f.message_at.astimezone(zone).date()), []).append(f)
    return {w: detection_figures(qs.get(w, []), fs.get(w, [])) for w in sorted({*qs, *fs})}
