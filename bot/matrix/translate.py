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

from linli.common.events import (
    ChatEvent,
    Membership,
    MembershipChanged,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    Redacted,
)
from linli.common.ids import EventID, RoomID, UserID

_MATRIX_TO_USER = re.compile(r"https://matrix\.to/#/(@[^\"'<>\s?/]+)")
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.S | re.I)


def _dict(value: Any) -> dict[str, Any]:
    """A content field that should be an object; anything else a client sent counts as absent."""
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


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
    """Who a message mentions. ``m.mentions``, when present, is the complete list (the spec's
    intentional mentions); only a client that sends none has its pills read from the HTML, and
    never from the quoted ``<mx-reply>`` block of a rich reply (it quotes someone else)."""
    m = content.get("m.mentions")
    if isinstance(m, dict):
        ids = m.get("user_ids")
        users = {UserID(u) for u in ids if isinstance(u, str)} if isinstance(ids, list) else set()
        return frozenset(users), m.get("room") is True
    html = content.get("formatted_body")
    if not isinstance(html, str):
        return frozenset(), False
    own = _MX_REPLY.sub("", html).replace("%40", "@").replace("%3A", ":")
    return frozenset(UserID(u) for u in _MATRIX_TO_USER.findall(own)), False


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
    event_id = EventID(_str(source.get("event_id")) or _str(getattr(event, "event_id", None))
                       or "")
    sender = UserID(_str(getattr(event, "sender", None)) or _str(source.get("sender")) or "")
    if not event_id or not sender:
        return None
    room = RoomID(room_id)
    at = _at(event)
    content = _dict(source.get("content"))

    if isinstance(event, RoomMessageText | RoomMessageNotice | RoomMessageEmote):
        # Every field below is the sender's to fill: a wrong shape counts as absent.
        relates = _dict(content.get("m.relates_to"))
        text = event.body if isinstance(event.body, str) else ""
        edited = _str(relates.get("event_id"))
        if relates.get("rel_type") == "m.replace" and edited:
            new_body = _dict(content.get("m.new_content")).get("body")
            return MessageEdited(room, event_id, sender, at, EventID(edited),
                                 new_body if isinstance(new_body, str) else text)
        reply_to = _str(_dict(relates.get("m.in_reply_to")).get("event_id"))
        thread_root = edited if relates.get("rel_type") == "m.thread" else None
        mentions, room_mention = _mentions(content)
        body = text if not reply_to else _strip_reply_fallback(text)
        return MessagePosted(
            room, event_id, sender, at, body=body,
            html=_str(content.get("formatted_body")),
            reply_to=EventID(reply_to) if reply_to else None,
            thread_root=EventID(thread_root) if thread_root else None,
            mentions=mentions, room_mention=room_mention,
            is_notice=isinstance(event, RoomMessageNotice),
        )
    if isinstance(event, ReactionEvent):
        target, key = _str(event.reacts_to), _str(event.key)
        if target is None or key is None:
            return None
        return ReactionAdded(room, event_id, sender, at, EventID(target), key)
    if isinstance(event, RedactionEvent):
        if _str(event.redacts) is None:
            return None
        return Redacted(room, event_id, sender, at, EventID(event.redacts),
                        _str(event.reason))
    if (isinstance(event, UnknownEvent | UnknownBadEvent)
            and source.get("type") == "m.room.redaction"):
        # Room versions 11+ carry ``redacts`` in the content.
        target = _str(content.get("redacts")) or _str(source.get("redacts"))
        if target:
            return Redacted(room, event_id, sender, at, EventID(target),
                            _str(content.get("reason")))
        return None
    if isinstance(event, RoomMemberEvent):
        membership = _membership(_str(event.membership))
        if membership is None or _str(event.state_key) is None:
            return None
        return MembershipChanged(
            room, event_id, sender, at, user_id=UserID(event.state_key), membership=membership,
            prev_membership=_membership(_str(event.prev_membership)),
            reason=_str(_dict(event.content).get("reason")),
        )
    return None
