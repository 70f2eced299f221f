"""The Matrix edge of bulletins without a homeserver: the transport's mapping of gateway
errors, the ``@room`` decision, message content, command helpers; and the broadcasts core
where the edge relies on it (an urgent notice running beside the tick, CJK emphasis)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiohttp import ClientConnectionError

from linli.bot.features.broadcasts.feature import _number, split_mention
from linli.bot.features.broadcasts.transport import MatrixTransport, bulletin_content
from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway, RateLimited, RoomInfo
from linli.broadcasts.model import RenderedMessage, Report
from linli.broadcasts.ports import PermanentFailure, SendResult, Sent, TemporaryFailure
from linli.broadcasts.ports import RateLimited as RateLimitedResult
from linli.broadcasts.render import render_bulletin
from linli.common.clock import FakeClock
from linli.common.errors import DomainError
from linli.common.ids import EventID, RoomID
from linli.storage.db import Database
from tests.unit.broadcasts.world import OFFICER, make_world

BOT = "@linli:hs"
ROOM = RoomID("!r:hs")
MESSAGE = RenderedMessage("标题\n\n正文", "<p><strong>标题</strong></p>\n<p>正文</p>")


class FakeGateway:
    def __init__(
        self,
        error: Exception | None = None,
        creators: set[str] | None = None,
        levels: dict[str, Any] | None = None,
        state_error: Exception | None = None,
    ) -> None:
        self.user_id = BOT
        self.error = error
        self.creators = creators or set()
        self.levels = levels or {}
        self.state_error = state_error
        self.sent: list[tuple[str, dict[str, Any], str | None]] = []

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str | None = None
                   ) -> EventID:
        self.sent.append((room_id, content, txn_id))
        if self.error is not None:
            raise self.error
        return EventID("$event")

    async def room_info(self, room_id: str) -> RoomInfo:
        if self.state_error is not None:
            raise self.state_error
        return RoomInfo(RoomID(room_id), "12" if self.creators else "10", self.creators)

    async def state_event(self, room_id: str, event_type: str) -> dict[str, Any]:
        if self.state_error is not None:
            raise self.state_error
        return self.levels


def transport(gateway: FakeGateway) -> MatrixTransport:
    return MatrixTransport(cast(MatrixGateway, gateway))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, Sent(EventID("$event"))),
        (RateLimited("send", 1500, "slow down"), RateLimitedResult(timedelta(seconds=1.5))),
        (RateLimited("send", None, "slow down"), RateLimitedResult(timedelta(seconds=5))),
        (MatrixActionError("send", "M_FORBIDDEN", "not in room"), PermanentFailure("M_FORBIDDEN")),
        (MatrixActionError("send", "M_NOT_FOUND", "no room"), PermanentFailure("M_NOT_FOUND")),
        # Synapse answers a 500 with M_UNKNOWN: worth another try, not a verdict.
        (MatrixActionError("send", "M_UNKNOWN", "internal"), TemporaryFailure("M_UNKNOWN")),
        (MatrixActionError("send", None, "bad gateway", "502"), TemporaryFailure("502")),
        (ClientConnectionError("refused"), TemporaryFailure("ClientConnectionError")),
        (TimeoutError(), TemporaryFailure("TimeoutError")),
    ],
)
async def test_transport_maps_gateway_outcomes(
    error: Exception | None, expected: SendResult
) -> None:
    gateway = FakeGateway(error=error)
    assert await transport(gateway).send(ROOM, MESSAGE, "linli.bc.1.abc") == expected
    [(room, content, txn)] = gateway.sent
    assert (room, txn) == (ROOM, "linli.bc.1.abc")  # the ledger's txn id, unchanged
    assert content == {
        "msgtype": "m.text",
        "body": "标题\n\n正文",
        "format": "org.matrix.custom.html",
        "formatted_body": "<p><strong>标题</strong></p>\n<p>正文</p>",
        "m.mentions": {},
    }


MENTION = RenderedMessage(MESSAGE.body, MESSAGE.formatted_body, mention_room=True)


@pytest.mark.parametrize(
    ("gateway", "mentioned"),
    [
        (FakeGateway(creators={BOT}), True),  # v12 creator: unlimited power
        (FakeGateway(levels={"users": {BOT: 100}}), True),  # default notifications.room 50
        (FakeGateway(levels={"users": {BOT: 50}, "notifications": {"room": 50}}), True),
        (FakeGateway(levels={"users": {BOT: 50}, "notifications": {"room": 75}}), False),
        (FakeGateway(levels={"users_default": 0}), False),
        (FakeGateway(levels={"users": {BOT: "100"}}), True),  # old rooms: strings
        (FakeGateway(levels={"users": {BOT: "x"}}), False),
        (FakeGateway(state_error=MatrixActionError("read", "M_FORBIDDEN", "no")), False),
    ],
)
async def test_room_mention_only_where_the_bot_has_the_power(
    gateway: FakeGateway, mentioned: bool
) -> None:
    assert isinstance(await transport(gateway).send(ROOM, MENTION, "t"), Sent)
    [(_, content, _)] = gateway.sent
    assert content["m.mentions"] == ({"room": True} if mentioned else {})
    assert content["body"].startswith("@room\n") is mentioned
    assert content["formatted_body"].startswith("<p>@room</p>\n") is mentioned


def test_content_without_mention_pings_nobody() -> None:
    # A text that names @room is not a room mention unless the officer asked for one.
    content = bulletin_content(RenderedMessage("@room 注意", "<p>@room 注意</p>"))
    assert content["m.mentions"] == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@room 今晚停水", (True, "今晚停水")),
        ("@ROOM   今晚停水 ", (True, "今晚停水")),
        ("今晚停水 @room", (False, "今晚停水 @room")),
        ("@roommate 你好", (False, "@roommate 你好")),
    ],
)
def test_split_mention(text: str, expected: tuple[bool, str]) -> None:
    assert split_mention(text) == expected


@pytest.mark.parametrize(("text", "number"), [("3", 3), ("#12", 12), (" 7 ", 7)])
def test_bulletin_numbers(text: str, number: int) -> None:
    assert _number(text) == number


@pytest.mark.parametrize("text", ["", "x", "-1", "3a"])
def test_bad_bulletin_numbers(text: str) -> None:
    with pytest.raises(DomainError) as info:
        _number(text)
    assert info.value.key == "broadcasts.error.bad_number"


def test_placeholder_in_emphasis_before_cjk_text() -> None:
    """``**{compound}**明天``: braces are punctuation to CommonMark, and a closing ``**``
    after punctuation needs a space or punctuation after it; CJK text has neither."""
    values = {"compound": "梅园<小区>", "station": "新华", "officer": "王警官",
              "date": "2026-03-02"}
    message = render_bulletin("提醒", "**{compound}**明天检查，{officer}负责", values)
    assert message.body == "提醒\n\n**梅园<小区>**明天检查，王警官负责"
    assert message.formatted_body == (
        "<p><strong>提醒</strong></p>\n<p><strong>梅园&lt;小区&gt;</strong>明天检查，王警官负责</p>"
    )


async def test_a_notice_beside_the_tick_sends_each_room_once(
    db: Database, clock: FakeClock
) -> None:
    """The edge runs an urgent notice in the background while the tick resumes open
    occurrences in the same process: the tick must leave the notice's fan-out alone."""
    world = await make_world(db, clock, rooms=8)
    delivery = world.service()
    commands = world.commands(delivery)
    tick_reports: list[Report] = []

    async def ticks() -> None:
        for _ in range(30):
            tick_reports.extend(await delivery.tick())
            await asyncio.sleep(0)

    result, _ = await asyncio.gather(
        commands.notice(OFFICER, "station:xinhua", "停水通知"), ticks()
    )
    assert world.homeserver.rooms_posted() == {room: 1 for room in world.rooms}
    assert set(world.homeserver.calls.values()) == {1}  # no room sent twice, even deduplicated
    assert len(result.reports) + len(tick_reports) == 1  # reported once


class FailingDelivery:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def fan_out(self, bulletin: object, occurrence: object) -> list[Report]:
        raise self.error


@pytest.mark.parametrize(("error", "replies"), [
    # A passing failure (database busy, homeserver away): the tick resumes the open
    # occurrence and its report follows; a second answer to the command would double it.
    (MatrixActionError("send", None, "bad gateway", "502"), 0),
    (ClientConnectionError("refused"), 0),
    # A fault that will not go away by itself: the officer hears of it, once.
    (ValueError("bug"), 1),
])
async def test_a_notice_whose_fan_out_fails_for_a_passing_reason_is_answered_once(
    error: Exception, replies: int
) -> None:
    from linli.bot.commands.router import CommandContext
    from linli.bot.features.broadcasts.feature import BroadcastsFeature
    from linli.common.i18n import Locale, Translator

    sent: list[str] = []

    async def reply_fn(body: str, html: str | None) -> EventID:
        sent.append(body)
        return EventID("$reply")

    feature = BroadcastsFeature.__new__(BroadcastsFeature)
    feature.delivery = cast(Any, FailingDelivery(error))
    ctx = CommandContext.__new__(CommandContext)
    ctx.reply_fn = reply_fn
    ctx.translator = Translator([{"cmd.failed": {"zh-CN": "失败 {ref}", "en": "failed {ref}"}}])
    ctx.locale = Locale.ZH_CN
    await feature._notice(ctx, cast(Any, SimpleNamespace(id=7)), cast(Any, None))
    assert len(sent) == replies
