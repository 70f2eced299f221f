"""The verification policy: defaults, per-compound overrides, pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli.common.errors import DomainError
from linli.verification.policy import (
    VerificationPolicy,
    cap_reached,
    next_action_at,
    policy_for,
    reminders_passed,
    tries_left,
)

H = timedelta(hours=1)
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DEADLINE = T0 + 72 * H


def test_defaults() -> None:
    p = VerificationPolicy()
    assert p.grace == 72 * H and p.reminders == (24 * H, 2 * H)
    assert p.household_cap is None and p.adopted_grace == timedelta(days=14)
    assert p.max_failures == 5 and p.lock_duration == 24 * H


def test_compound_overrides() -> None:
    p = policy_for(VerificationPolicy(), {"verification": {
        "grace": "96h", "reminders": ["2h", "48h"], "household_cap": 2,
        "adopted_dm_per_minute": 5,
    }})
    assert p.grace == 96 * H
    assert p.reminders == (48 * H, 2 * H)  # ordered, largest first
    assert p.household_cap == 2 and p.adopted_dm_per_minute == 5
    assert policy_for(VerificationPolicy(), {}) == VerificationPolicy()


@pytest.mark.parametrize(
    "overrides",
    [{"grace": "soon"}, {"colour": "red"}, {"household_cap": 0}, {"reminders": "2h"},
     {"max_failures": -1}],
)
def test_bad_overrides_name_the_key(overrides: dict[str, object]) -> None:
    with pytest.raises(DomainError) as info:
        VerificationPolicy().with_overrides(overrides)
    assert info.value.key == "error.bad_policy"
    assert info.value.params["setting"] == next(iter(overrides))


@pytest.mark.parametrize(
    ("failures", "left"), [(0, 5), (1, 4), (4, 1), (5, 0), (9, 0)],
)
def test_tries_left(failures: int, left: int) -> None:
    assert tries_left(VerificationPolicy(), failures) == left


@pytest.mark.parametrize(
    ("sent", "expected"),
    [(0, DEADLINE - 24 * H), (1, DEADLINE - 2 * H), (2, DEADLINE)],
)
def test_next_action(sent: int, expected: datetime) -> None:
    assert next_action_at(DEADLINE, sent, VerificationPolicy().reminders) == expected


@pytest.mark.parametrize(
    ("now", "passed"),
    [(T0, 0), (DEADLINE - 24 * H - timedelta(seconds=1), 0), (DEADLINE - 24 * H, 1),
     (DEADLINE - 3 * H, 1), (DEADLINE - 2 * H, 2), (DEADLINE + H, 2)],
)
def test_reminders_passed(now: datetime, passed: int) -> None:
    assert reminders_passed(DEADLINE, now, VerificationPolicy().reminders) == passed


@pytest.mark.parametrize(
    ("cap", "verified", "reached"),
    [(None, 0, False), (None, 100, False), (1, 0, False), (1, 1, True), (3, 2, False),
     (3, 3, True)],
)
def test_cap(cap: int | None, verified: int, reached: bool) -> None:
    assert cap_reached(VerificationPolicy(household_cap=cap), verified) is reached



def test_every_message_key_the_package_uses_exists_in_both_languages() -> None:
    import re
    from pathlib import Path

    from linli import verification
    from linli.common.i18n import Translator, catalogue

    translator = Translator([catalogue("common"), catalogue("verification")])
    assert translator.problems() == []
    used: set[str] = set()
    for path in Path(verification.__file__).parent.glob("*.py"):
        used |= set(re.findall(r'"((?:verification\.(?:dm|room|kick|officers)|error|import|'
                               r'cards)\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    for reason in ("grace_expired", "moved_out", "removed_from_registry"):
        used |= {f"verification.kick.{reason}", f"verification.dm.{reason}"} - {
            "verification.dm.grace_expired"}
    assert len(used) > 30
    assert sorted(k for k in used if not translator.has(k)) == []
