"""The verification policy: numbers with defaults, per-compound overrides, and pure rules.

Defaults come from the ``verification`` section of the config; a compound may override any of
them under ``settings["verification"]`` (durations as "72h", "14d"; lists of durations for
the reminder points), e.g. ``{"verification": {"grace": "96h", "household_cap": 3}}``.

Lock rule (chosen and documented): the fifth wrong pair within 24 hours locks the account for
24 hours from that fifth failure ("for a day"); a fixed length is fair whatever the hour of
the failure, where "until midnight" would be five minutes at 23:55. When the lock ends the
count starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from linli.common.durations import parse_duration
from linli.common.errors import DomainError


@dataclass(frozen=True)
class VerificationPolicy:
    grace: timedelta = timedelta(hours=72)
    reminders: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    household_cap: int | None = None
    adopted_grace: timedelta = timedelta(days=14)
    adopted_dm_per_minute: int = 20
    max_failures: int = 5
    failure_window: timedelta = timedelta(hours=24)
    lock_duration: timedelta = timedelta(hours=24)
    notice_period: timedelta = timedelta(hours=24)
    code_validity: timedelta = timedelta(days=365)

    def __post_init__(self) -> None:
        # Reminder points are "time before the deadline", largest first.
        ordered = tuple(sorted({r for r in self.reminders if r > timedelta(0)}, reverse=True))
        object.__setattr__(self, "reminders", ordered)

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> VerificationPolicy:
        """This policy with a compound's overrides; unknown keys or bad values raise
        DomainError("error.bad_policy", setting=...)."""
        if not overrides:
            return self
        names = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key not in names:
                raise DomainError("error.bad_policy", setting=key)
            try:
                changes[key] = _coerce(key, raw)
            except (DomainError, TypeError, ValueError):
                raise DomainError("error.bad_policy", setting=key) from None
        return replace(self, **changes)


def _coerce(key: str, raw: Any) -> Any:
    if key == "reminders":
        if not isinstance(raw, list | tuple):
            raise TypeError(key)
        return tuple(_as_duration(r) for r in raw)
    if key == "household_cap":
        if raw is None:
            return None
        value = int(raw)
        if value < 1:
            raise ValueError(key)
        return value
    if key in ("adopted_dm_per_minute", "max_failures"):
        value = int(raw)
        if value < 1:
            raise ValueError(key)
        return value
    return _as_duration(raw)


def _as_duration(raw: Any) -> timedelta:
    if isinstance(raw, timedelta):
        return raw
    if isinstance(raw, int | float):
        return timedelta(seconds=raw)
    return parse_duration(str(raw))


def policy_for(defaults: VerificationPolicy, settings: Mapping[str, Any]) -> VerificationPolicy:
    """The policy of a compound from its settings dict."""
    overrides = settings.get("verification") if settings else None
    return defaults.with_overrides(overrides if isinstance(overrides, Mapping) else None)


# pure rules ----------------------------------------------------------------------------------
def tries_left(policy: VerificationPolicy, failures: int) -> int:
    return max(0, policy.max_failures - failures)


def lock_until(policy: VerificationPolicy, now: datetime) -> datetime:
    return now + policy.lock_duration


def next_action_at(
    deadline: datetime, reminders_sent: int, reminders: Sequence[timedelta]
) -> datetime:
    """When the next reminder is due, or the deadline once every reminder is sent."""
    if reminders_sent < len(reminders):
        return deadline - reminders[reminders_sent]
    return deadline


def reminders_passed(deadline: datetime, now: datetime, reminders: Sequence[timedelta]) -> int:
    """How many reminder points lie at or before ``now``."""
    return sum(1 for r in reminders if deadline - r <= now)


def cap_reached(policy: VerificationPolicy, verified_in_household: int) -> bool:
    return policy.household_cap is not None and verified_in_household >= policy.household_cap
