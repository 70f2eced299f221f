"""The one place where Matrix events become domain events (common.events)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from nio import (
    Event,
    ReactionEvent,
    RedactionEvent,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageNotice,
    RoomMessageText,
    UnknownBadEvent,
    UnknownEvent,
)

from common.events import (
    ChatEvent,
    Membership,
    MembershipChanged,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    Redacted,
)
from common.ids import EventID, RoomID, UserID

_MATRIX_TO_USER = re.compile(r"https://matrix\.to/#/(@[^\"'<>\s?/]+)")


def _at(event: Any) -> datetime:
    ts = (getattr(event, "server_timestamp", None)
          or (event.source or {}).get("origin_server_ts", 0))
    return datetime.fromtimestamp(ts / 1000, UTC)


def _membership(value: str | None) -> Membership | None:
    if value is None:
        return None
    try:
        return Membership(value)
    except ValueError:
        return None


def _mentions(content: dict[str, Any]) -> tuple[frozenset[UserID], bool]:
    users: set[UserID] = set()
    room = False
    m = content.get("m.mentions")
    if isinstance(m, dict):
        users.update(UserID(u) for u in m.get("user_ids", []) if isinstance(u, str))
        room = bool(m.get("room"))
    html = content.get("formatted_body")
    if isinstance(html, str):
        users.update(
            UserID(u)
            for u in _MATRIX_TO_USER.findall(html.replace("%40", "@").replace("%3A", ":"))
        )
    return frozenset(users), room


def _strip_reply_fallback(body: str) -> str:
    """Drop the "> quoted" lines clients put at the top of a reply's plain body."""
    lines = body.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i and i < len(lines) and lines[i] == "":
        i += 1
    return "\n".join(lines[i:]) if i else body


def translate(room_id: str, event: Event) -> ChatEvent | None:
    """Map one nio timeline event to a domain event, or None for what the bot ignores."""
    source: dict[str, Any] = getattr(event, "source", None) or {}
    event_id = EventID(source.get("event_id") or getattr(event, "event_id", ""))
    sender = UserID(getattr(event, "sender", None) or source.get("sender", ""))
    if not event_id or not sender:
        return None
    room = RoomID(room_id)
    at = _at(event)
    content: dict[str, Any] = source.get("content", {}) or {}

    if isinstance(event, RoomMessageText | RoomMessageNotice | RoomMessageEmote):
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace" and relates.get("event_id"):
            new = content.get("m.new_content") or {}
            return MessageEdited(room, event_id, sender, at, EventID(relates["event_id"]),
                                 str(new.get("body", event.body)))
        reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        thread_root = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        mentions, room_mention = _mentions(content)
        body = event.body if not reply_to else _strip_reply_fallback(event.body)
        return MessagePosted(
            room, event_id, sender, at, body=body,
            html=(content.get("formatted_body")
                  if isinstance(content.get("formatted_body"), str) else None),
            reply_to=EventID(reply_to) if reply_to else None,
            thread_root=EventID(thread_root) if thread_root else None,
            mentions=mentions, room_mention=room_mention,
            is_notice=isinstance(event, RoomMessageNotice),
        )
    if isinstance(event, ReactionEvent):
        return ReactionAdded(room, event_id, sender, at, EventID(event.reacts_to), event.key)
    if isinstance(event, RedactionEvent):
        return Redacted(room, event_id, sender, at, EventID(event.redacts), event.reason)
    if (isinstance(event, UnknownEvent | UnknownBadEvent)
            and source.get("type") == "m.room.redaction"):
        # Room versions 11+ carry ``redacts`` in the content.
        target = content.get("redacts") or source.get("redacts")
        if target:
            return Redacted(room, event_id, sender, at, EventID(target), content.get("reason"))
        return None
    if isinstance(event, RoomMemberEvent):
        membership = _membership(event.membership)
        if membership is None:
            return None
        return MembershipChanged(
            room, event_id, sender, at, user_id=UserID(event.state_key), membership=membership,
            prev_membership=_membership(event.prev_membership),
            reason=event.content.get("reason"),
        )
    return None
