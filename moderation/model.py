"""Plain data for moderation: restrictions the bot imposed, warnings, and the effects the Matrix
edge carries out (set a power level, kick, ban, unban, redact, post a report, tell a user)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from linli.common.ids import CompoundId, EventID, RoomID, UserID


class Action(StrEnum):
    """What was done; also the ``action`` written to the audit table."""

    MUTE = "mute"
    UNMUTE = "unmute"
    AUTO_UNMUTE = "auto_unmute"
    KICK = "kick"
    BAN = "ban"
    UNBAN = "unban"
    WARN = "warn"
    WARN_MUTE = "warn_mute"
    FLOOD_MUTE = "flood_mute"
    REDACT = "redact"


class RestrictionKind(StrEnum):
    MUTE = "mute"
    BAN = "ban"


@dataclass(frozen=True)
class ModerationSettings:
    """Thresholds; field names match the ``moderation:`` config section one to one, so the
    edge can build this with ``ModerationSettings(**config.moderation.model_dump())``."""

    warn_limit: int = 3
    warn_window: timedelta = timedelta(days=30)
    warn_mute: timedelta = timedelta(hours=24)
    flood_messages: int = 10
    flood_window: timedelta = timedelta(seconds=30)
    flood_mute: timedelta = timedelta(minutes=10)
    flood_max_tracked: int = 100_000


@dataclass(frozen=True)
class RoomPower:
    """What the edge reads from the room's ``m.room.power_levels`` before a mute.

    ``user_level`` is the target's own entry in ``users`` (None when absent, so the user has
    ``users_default``); ``send_level`` is the level needed to send ``m.room.message``;
    ``granted_level`` is what verification gives the user now (None: it has no say)."""

    user_level: int | None = None
    users_default: int = 0
    send_level: int = 0
    granted_level: int | None = None

    @property
    def own_level(self) -> int | None:
        """The level a mute replaces and gives back: the user's entry, unless that entry is
        just the level verification grants. Then None: when the mute ends verification's
        state then decides (a member revoked while muted does not get posting back), while
        a level set by hand (a pending member given level 1) stays."""
        if self.granted_level and self.user_level == self.granted_level:
            return None
        return self.user_level

    @property
    def effective_level(self) -> int:
        return self.users_default if self.user_level is None else self.user_level

    def muted_level(self) -> int:
        """A level that cannot post, never higher than the user already has."""
        return min(self.send_level - 1, self.effective_level)


@dataclass(frozen=True)
class Restriction:
    """A mute or ban the bot imposed. Only these are ever lifted by the bot."""

    id: int
    compound_id: CompoundId
    room_id: RoomID
    user_id: UserID
    kind: RestrictionKind
    imposed_by: UserID
    reason: str
    imposed_at: datetime
    ends_at: datetime | None = None
    previous_level: int | None = None
    muted_level: int | None = None
    lifted_at: datetime | None = None
    lifted_by: str | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None


@dataclass(frozen=True)
class WarningRecord:
    """A warning an officer gave; ``escalated_at`` is set once it counted towards a mute."""

    id: int
    compound_id: CompoundId
    user_id: UserID
    actor: UserID
    reason: str
    at: datetime
    escalated_at: datetime | None = None


# Effects: what the edge must do, in order. ----------------------------------------------


@dataclass(frozen=True)
class SetPowerLevel:
    """Set ``user_id``'s power level in ``room_id``; ``level`` None removes the user's entry
    (they fall back to ``users_default``). When ``only_if_level`` is set, apply only if the
    user's entry still equals it: someone else changed it since, and the bot leaves it be."""

    room_id: RoomID
    user_id: UserID
    level: int | None
    only_if_level: int | None = None


@dataclass(frozen=True)
class Kick:
    room_id: RoomID
    user_id: UserID
    reason: str


@dataclass(frozen=True)
class Ban:
    room_id: RoomID
    user_id: UserID
    reason: str


@dataclass(frozen=True)
class Unban:
    room_id: RoomID
    user_id: UserID


@dataclass(frozen=True)
class Redact:
    room_id: RoomID
    event_id: EventID
    reason: str


@dataclass(frozen=True)
class Report:
    """Post ``translator.render(locale, key, **params)`` in the station's officers' room."""

    room_id: RoomID
    locale: str
    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class TellUser:
    """Tell the user (a direct message is best) ``render(locale, key, **params)``."""

    user_id: UserID
    locale: str
    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


Effect = SetPowerLevel | Kick | Ban | Unban | Redact | Report | TellUser


@dataclass(frozen=True)
class Refusal:
    """Why nothing was done; rendered for the officer who asked, in their room's locale."""

    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Outcome:
    """The result of a moderation call: effects to carry out, or a refusal and no effects."""

    effects: tuple[Effect, ...] = ()
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None

    @classmethod
    def refuse(cls, key: str, **params: Any) -> Outcome:
        return cls(refusal=Refusal(key, dict(params)))
