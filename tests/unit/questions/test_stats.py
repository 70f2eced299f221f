"""Response-time statistics on a known data set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.questions.model import Question, QuestionState, Rating
from linli.questions.stats import (
    by_compound,
    by_staff,
    by_week,
    figures,
    iso_week,
    percentile,
    resolve_week,
    week_bounds,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, ISO week 2026-W10
NOW = T0 + timedelta(days=1)
M = timedelta(minutes=1)
_ids = iter(range(1, 10_000))


def q(
    *, answered_after: timedelta | None = None, state: QuestionState | None = None,
    by: str = "@wang:hs", compound: int = 1, asked: datetime = T0, due: timedelta = 5 * M,
    rating: Rating | None = None,
) -> Question:
    n = next(_ids)
    if state is None:
        state = QuestionState.ANSWERED if answered_after is not None else QuestionState.OPEN
    return Question(
        id=n, compound_id=CompoundId(compound), room_id=RoomID("!r:hs"),
        event_id=EventID(f"$e{n}"), asker=UserID("@li:hs"), asker_flat=None, text="?",
        topic="other", urgent=False, state=state, asked_at=asked, due_at=asked + due,
        escalate_at=asked + 4 * due, expires_at=asked + timedelta(days=7),
        closed_at=asked + answered_after if answered_after is not None else None,
        answered_by=UserID(by) if answered_after is not None else None, rating=rating,
    )


def known_set() -> list[Question]:
    answered = [
        q(answered_after=m * M, by="@wang:hs" if m <= 6 else "@wuye:hs",
          rating=Rating.GOOD if m in (1, 2, 3) else Rating.BAD if m == 10 else None)
        for m in range(1, 11)
    ]
    unanswered_overdue = [q(), q()]
    open_not_yet_due = [q(asked=NOW - M)]
    withdrawn = [q(state=QuestionState.WITHDRAWN)]
    return answered + unanswered_overdue + open_not_yet_due + withdrawn


def test_figures_on_a_known_set() -> None:
    f = figures(known_set(), NOW)
    assert f.asked == 13  # the withdrawn one is left out
    assert f.answered == 10
    assert f.answered_share == pytest.approx(10 / 13)
    assert f.median == timedelta(minutes=5, seconds=30)  # between 5 and 6 minutes
    assert f.p90 == 9 * M  # nearest rank: the 9th of 10
    # answered within 5 minutes: 1..5; decided: 10 answered + 2 overdue (not the fresh one)
    assert (f.within_deadline, f.decided) == (5, 12)
    assert f.within_share == pytest.approx(5 / 12)
    assert (f.good, f.rated) == (3, 4)
    assert f.good_share == pytest.approx(0.75)


def test_empty_set_has_no_shares() -> None:
    f = figures([], NOW)
    assert f.asked == 0 and f.median is None and f.p90 is None
    assert f.answered_share is None and f.within_share is None and f.good_share is None


def test_percentile_nearest_rank() -> None:
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0], 0.9) == 2.0
    assert percentile([float(x) for x in range(1, 21)], 0.9) == 18.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_grouping_by_compound_staff_and_week() -> None:
    data = known_set() + [q(answered_after=20 * M, compound=2, by="@wuye:hs")]
    per_compound = by_compound(data, NOW)
    assert set(per_compound) == {1, 2}
    assert per_compound[2].asked == 1 and per_compound[2].median == 20 * M
    per_staff = by_staff(data, NOW)
    assert per_staff["@wang:hs"].answered == 6
    assert per_staff["@wang:hs"].median == timedelta(minutes=3, seconds=30)
    assert per_staff["@wuye:hs"].answered == 5
    assert per_staff["@wuye:hs"].p90 == 20 * M
    # Sunday 23:30 in Shanghai is still week 9 even though it is Sunday 15:30 UTC
    late_sunday = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    weeks = by_week(data + [q(asked=late_sunday, answered_after=M)], "Asia/Shanghai", NOW)
    assert set(weeks) == {"2026-W09", "2026-W10"}
    assert weeks["2026-W09"].asked == 1


def test_weeks() -> None:
    assert iso_week(datetime(2026, 1, 1, tzinfo=UTC).date()) == "2026-W01"
    assert iso_week(datetime(2027, 1, 1, tzinfo=UTC).date()) == "2026-W53"
    start, end = week_bounds("2026-W10", "Asia/Shanghai")
    assert start == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7)
    assert resolve_week(None, NOW, "Asia/Shanghai") == "2026-W10"
    assert resolve_week("last", NOW, "Asia/Shanghai") == "2026-W09"
    assert resolve_week("上周", NOW, "Asia/Shanghai") == "2026-W09"
    assert resolve_week("W7", NOW, "Asia/Shanghai") == "2026-W07"
    assert resolve_week("12", NOW, "Asia/Shanghai") == "2026-W12"
    assert resolve_week("2025-W52", NOW, "Asia/Shanghai") == "2025-W52"
    for bad in ("W60", "yesterday", "2026-W99"):
        with pytest.raises(ValueError):
            resolve_week(bad, NOW, "Asia/Shanghai")
