"""Translation tolerates any content shape a client can send: a bad field is ignored, never
an exception that would hold up the other events of the batch."""

from __future__ import annotations

from typing import Any

import pytest
from nio import Event

from linli.bot.matrix.translate import translate
from linli.common.events import MessageEdited, MessagePosted

ROOM = "!r:hs"


def event(content: Any, type_: str = "m.room.message") -> Event:
    return Event.parse_event({
        "type": type_, "event_id": "$e", "sender": "@u:hs", "origin_server_ts": 1_700_000_000_000,
        "content": content,
    })


HOSTILE = [
    {"msgtype": "m.text", "body": "hi", "m.relates_to": "x"},
    {"msgtype": "m.text", "body": "hi", "m.relates_to": ["x"]},
    {"msgtype": "m.text", "body": "hi", "m.relates_to": {"m.in_reply_to": "x"}},
    {"msgtype": "m.text", "body": "hi", "m.relates_to": {"m.in_reply_to": {"event_id": 5}}},
    {"msgtype": "m.text", "body": "hi", "m.relates_to": {"rel_type": "m.replace",
                                                         "event_id": "$o", "m.new_content": "x"}},
    {"msgtype": "m.text", "body": "hi", "m.relates_to": {"rel_type": "m.replace",
                                                         "event_id": ["$o"]}},
    {"msgtype": "m.text", "body": "hi", "m.relates_to": {"rel_type": "m.thread",
                                                         "event_id": {"a": 1}}},
    {"msgtype": "m.text", "body": "hi", "m.mentions": "everyone"},
    {"msgtype": "m.text", "body": "hi", "m.mentions": {"user_ids": "@a:hs"}},
]


@pytest.mark.parametrize("content", HOSTILE)
def test_a_message_with_a_bad_field_is_still_a_message(content: dict[str, Any]) -> None:
    translated = translate(ROOM, event(content))
    assert isinstance(translated, MessagePosted | MessageEdited)
    assert translated.body == "hi"


@pytest.mark.parametrize("content", [
    {"msgtype": "m.text", "body": "hi", "format": "org.matrix.custom.html",
     "formatted_body": 42},  # nio itself refuses this one: ignored
    {"msgtype": "m.text", "body": ["hi"]},
    "not a dict",
])
def test_messages_nio_cannot_read_are_ignored(content: Any) -> None:
    assert translate(ROOM, event(content)) is None


@pytest.mark.parametrize("content", [
    {"m.relates_to": "x", "key": "👍"},
    {"m.relates_to": {"rel_type": "m.annotation", "event_id": 5, "key": []}},
    {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$t", "key": None}},
])
def test_bad_reactions_are_ignored(content: dict[str, Any]) -> None:
    translate(ROOM, event(content, "m.reaction"))  # no exception is all that matters


@pytest.mark.parametrize("content", [
    {"membership": ["join"]}, {"membership": "join", "reason": {"x": 1}}, "not a dict",
])
def test_bad_memberships_are_ignored(content: Any) -> None:
    raw = {"type": "m.room.member", "event_id": "$m", "sender": "@u:hs", "state_key": "@u:hs",
           "origin_server_ts": 1, "content": content}
    translate(ROOM, Event.parse_event(raw))
