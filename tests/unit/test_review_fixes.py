"""Cases from the review: the bot's own redactions and removals reach the features, and a
``!verify`` error never repeats a name typed in the wrong place."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from linli.bot.features.verification.feature import _safe_to_echo
from linli.bot.runtime import Bot
from linli.common.errors import DomainError
from linli.common.events import (
    Membership,
    MembershipChanged,
    MessagePosted,
    ReactionAdded,
    Redacted,
)
from linli.common.ids import EventID, RoomID, UserID

BOT = UserID("@linli:hs")
AT = datetime(2026, 3, 2, tzinfo=UTC)
R, E = RoomID("!r:hs"), EventID("$e")


@pytest.mark.parametrize(
    ("event", "skipped"),
    [
        (MessagePosted(R, E, BOT, AT, body="公告"), True),
        (ReactionAdded(R, E, BOT, AT, target=E, key="✅"), True),
        (MembershipChanged(R, E, BOT, AT, user_id=BOT, membership=Membership.JOIN), True),
        (Redacted(R, E, BOT, AT, target=EventID("$question")), False),
        (MembershipChanged(R, E, BOT, AT, user_id=UserID("@kicked:hs"),
                           membership=Membership.LEAVE, prev_membership=Membership.JOIN), False),
        (MessagePosted(R, E, UserID("@resident:hs"), AT, body="你好"), False),
    ],
)
def test_which_of_the_bots_own_events_are_skipped(event: object, skipped: bool) -> None:
    fake = SimpleNamespace(gateway=SimpleNamespace(user_id=BOT))
    assert Bot._from_bot(fake, event) is skipped  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "echo"),
    [
        (DomainError("error.invalid_user_id", value="张三丰"), False),
        (DomainError("error.no_household", flat="张三丰"), False),
        (DomainError("error.no_household", flat="9-9-999"), True),
        (DomainError("error.invalid_user_id", value="@bad user"), True),
        (DomainError("verification.error.cap", name="张*"), False),
        (DomainError("verification.error.already_linked"), True),
    ],
)
def test_verify_errors_never_echo_a_name(error: DomainError, echo: bool) -> None:
    assert _safe_to_echo(error) is echo
