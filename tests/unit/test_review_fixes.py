"""Cases from the review: the bot's own redactions and removals reach the features, and a
``!verify`` error never repeats a name typed in the wrong place."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from bot.features.verification import _safe_to_echo
from bot.runtime import Bot
from common.errors import DomainError
from common.events import Membership, MembershipChanged, MessagePosted, ReactionAdded, Redacted
from common.ids import EventID, RoomID, UserID

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


async def test_a_delayed_admit_is_dropped_once_the_member_is_no_longer_verified() -> None:
    from bot.features.verification import VerificationFeature
    from common.ids import CompoundId
    from community.model import Compound, Directory
    from verification.model import Effect, EffectKind, MemberState

    compound = Compound(CompoundId(1), "meiyuan", "梅园", 1, RoomID("!r:hs"))  # type: ignore[arg-type]
    states = {"@a:hs": MemberState.PENDING, "@b:hs": MemberState.VERIFIED,
              "@c:hs": MemberState.VERIFIED}

    class Service:
        async def state(self, c: Compound, user: str) -> object:
            return SimpleNamespace(state=states[user])

    fake = SimpleNamespace(directory=lambda: Directory([], [compound], []), service=Service())
    still = VerificationFeature._still_applies
    admit_revoked = Effect(EffectKind.ADMIT, compound.id, UserID("@a:hs"))
    admit_verified = Effect(EffectKind.ADMIT, compound.id, UserID("@b:hs"))
    kick_verified = Effect(EffectKind.KICK, compound.id, UserID("@c:hs"))
    assert await still(fake, admit_revoked) is False  # type: ignore[arg-type]
    assert await still(fake, admit_verified) is True  # type: ignore[arg-type]
    assert await still(fake, kick_verified) is False  # type: ignore[arg-type]
