"""Mentions as Element sends them: ``m.mentions`` is the complete list when present, and the
quoted ``<mx-reply>`` block of a rich reply never mentions anyone (issue 15)."""

from __future__ import annotations

from typing import Any

from nio import Event

from linli.bot.matrix.translate import translate
from linli.common.events import MessagePosted

ROOM = "!r:hs"
NEIGHBOUR_PILL = '<a href="https://matrix.to/#/@b:hs">B</a>'
QUOTED = (f'<mx-reply><blockquote><a href="https://matrix.to/#/!r:hs/$q">In reply to</a> '
          f'<a href="https://matrix.to/#/@a:hs">@a:hs</a><br>ask {NEIGHBOUR_PILL} too?'
          f'</blockquote></mx-reply>')


def posted(content: dict[str, Any]) -> MessagePosted:
    translated = translate(ROOM, Event.parse_event({
        "type": "m.room.message", "event_id": "$e", "sender": "@officer:hs",
        "origin_server_ts": 1_700_000_000_000, "content": {"msgtype": "m.text", **content}}))
    assert isinstance(translated, MessagePosted)
    return translated


def test_m_mentions_is_the_complete_list_when_present() -> None:
    message = posted({
        "body": "> <@a:hs> ask B too?\n\nthe office opens at 9",
        "format": "org.matrix.custom.html",
        "formatted_body": QUOTED + "the office opens at 9",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}},
        "m.mentions": {"user_ids": ["@a:hs"]},
    })
    assert message.mentions == frozenset({"@a:hs"})


def test_the_quoted_reply_block_is_never_read_for_mentions() -> None:
    """An older client without ``m.mentions``: pills in the officer's own text count, the
    quoted neighbour does not."""
    message = posted({
        "body": "> <@a:hs> ask B too?\n\n@c:hs will call", "format": "org.matrix.custom.html",
        "formatted_body": QUOTED + '<a href="https://matrix.to/#/@c:hs">C</a> will call',
        "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}},
    })
    assert message.mentions == frozenset({"@c:hs"})


def test_an_empty_m_mentions_mentions_nobody_even_with_pills_in_the_html() -> None:
    message = posted({"body": "B", "format": "org.matrix.custom.html",
                      "formatted_body": NEIGHBOUR_PILL, "m.mentions": {}})
    assert message.mentions == frozenset() and not message.room_mention


def test_pills_count_when_the_client_sends_no_m_mentions() -> None:
    message = posted({"body": "B", "format": "org.matrix.custom.html",
                      "formatted_body": NEIGHBOUR_PILL})
    assert message.mentions == frozenset({"@b:hs"})
