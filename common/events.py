"""Chat events as the domain sees them. The Matrix edge builds these from nio's event classes
in one place (bot/matrix/translate.py); nothing past that point sees a nio type."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from linli.common.ids import EventID, RoomID, UserID


class Membership(StrEnum):
    JOIN = "join"
    LEAVE = "leave"
    INVITE = "invite"
    BAN = "ban"
    KNOCK = "knock"


@dataclass(frozen=True)
class ChatEvent:
    room_id: RoomID
    event_id: EventID
    sender: UserID
    at: datetime


@dataclass(frozen=True)
class MessagePosted(ChatEvent):
    body: str
    html: str | None = None
    reply_to: EventID | None = None
    thread_root: EventID | None = None
    mentions: frozenset[UserID] = field(default_factory=frozenset)
    room_mention: bool = False
    is_notice: bool = False


@dataclass(frozen=True)
class MessageEdited(ChatEvent):
    original: EventID
    body: str


@dataclass(frozen=True)
class ReactionAdded(ChatEvent):
    target: EventID
    key: str


@dataclass(frozen=True)
class Redacted(ChatEvent):
    target: EventID
    reason: str | None = None


@dataclass(frozen=True)
class MembershipChanged(ChatEvent):
    """A member's state changed. ``sender`` is who made the change (the member for a join,
    an officer for a kick), ``user_id`` is whose membership it is."""

    user_id: UserID
    membership: Membership
    prev_membership: Membership | None = None
    reason: str | None = None

    @property
    def joined(self) -> bool:
        return self.membership is Membership.JOIN and self.prev_membership is not Membership.JOIN

    @property
    def left(self) -> bool:
        return self.prev_membership is Membership.JOIN and self.membership in (
            Membership.LEAVE, Membership.BAN
        )

    @property
    def knocked(self) -> bool:
        return self.membership is Membership.KNOCK and self.prev_membership is not Membership.KNOCK
