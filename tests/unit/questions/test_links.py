"""Links in flags and ``!questions`` open for an officer on another server or not yet in the
room: they carry ``?via=`` (room ids of version 12 name no server) — issue 15."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.questions.model import Question, QuestionState, matrix_to


def test_a_version_12_room_link_names_a_server_to_join_through() -> None:
    link = matrix_to("!AbCdEf123", "$ev:hs", via=["hs.example"])
    fragment = urlsplit(link).fragment
    path, _, query = fragment.partition("?")
    assert path == "/!AbCdEf123/$ev:hs"
    assert parse_qs(query) == {"via": ["hs.example"]}


def test_servers_are_named_once_each_in_order() -> None:
    link = matrix_to("!r:a.org", "$e", via=["b.org", "a.org", "b.org"])
    assert link.endswith("?via=b.org&via=a.org")


def test_a_question_links_through_its_askers_server() -> None:
    at = datetime(2026, 12, 6, 9, tzinfo=UTC)
    question = Question(
        id=1, compound_id=CompoundId(1), room_id=RoomID("!NoServerHere"), event_id=EventID("$q"),
        asker=UserID("@ren:xinhua.example"), asker_flat=None, text="去哪开证明", topic="other",
        urgent=False, state=QuestionState.OPEN, asked_at=at, due_at=at, escalate_at=at,
        expires_at=at)
    assert question.link.endswith("?via=xinhua.example")
