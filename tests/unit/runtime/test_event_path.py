"""The event path of the running bot, on SQLite and PostgreSQL, with a fake homeserver:
an event is done only when its effects are; a passing failure rolls everything back and the
retry repeats nothing (same transaction ids); a refusal for good or a bug is logged and the
event is done; an event that fails every time is left after MAX_EVENT_ATTEMPTS; an event of
a room created a moment ago by the CLI is placed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nio import RoomMessageText

from linli.bot.commands.router import Command, Router
from linli.bot.config import load_config
from linli.bot.matrix.gateway import MatrixActionError, Unreachable, txn_id_for
from linli.bot.messages import all_catalogs
from linli.bot.runtime import (
    MAX_EVENT_ATTEMPTS,
    Bot,
    DirectMessenger,
    DirectoryHolder,
    EventEnv,
    causal_order,
)
from linli.common.clock import FakeClock
from linli.common.events import ChatEvent, MessagePosted
from linli.common.i18n import Translator
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.botstate import BotStateRepository, DirectRoomRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.verification import VerificationRepository  # noqa: F401  (tables)

BOT = "@linli:test"
ROOM = "!meiyuan:test"


class FakeGateway:
    """Records sends with their transaction ids; fails as told."""

    user_id = BOT

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail: list[Exception] = []
        self.client = SimpleNamespace(joined_rooms=self._joined_rooms)

    async def _joined_rooms(self) -> SimpleNamespace:
        return SimpleNamespace(rooms=[ROOM, "!lanyuan:test"])

    async def send_text(self, room_id: str, body: str, *_: Any, **__: Any) -> str:
        txn = txn_id_for(room_id)
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((room_id, body, txn))
        return f"$sent{len(self.sent)}"


class RecordingFeature:
    """Writes a row (a decision) and sends two messages (effects) per message."""

    name = "recording"

    def __init__(self, gateway: FakeGateway, state: BotStateRepository) -> None:
        self.gateway = gateway
        self.state = state
        self.bug = False

    def commands(self) -> Iterable[Command]:
        return []

    async def start(self) -> None:
        return None

    async def tick(self, now: datetime) -> None:
        return None

    async def on_event(self, event: ChatEvent, env: EventEnv) -> None:
        assert isinstance(event, MessagePosted) and env.compound is not None
        await self.state.set(f"decided:{event.event_id}", event.body)
        if self.bug:
            raise ValueError("a bug")
        await self.gateway.send_text(event.room_id, "first")
        await self.gateway.send_text(event.room_id, "second")


def message(event_id: str, body: str = "hello") -> RoomMessageText:
    return RoomMessageText.from_dict({
        "type": "m.room.message", "event_id": event_id, "sender": "@resident:test",
        "origin_server_ts": 1_700_000_000_000, "content": {"msgtype": "m.text", "body": body},
    })


async def make_bot(db: Database, clock: FakeClock, tmp_path: Path) -> tuple[Bot, FakeGateway,
                                                                          RecordingFeature]:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"matrix:\n  homeserver: http://127.0.0.1:1\n  user_id: \"{BOT}\"\n"
                           "  access_token: test-token\n")
    config = load_config(config_file, environ={})
    community = CommunityRepository(db, clock)
    station = await community.create_station("xinhua", "新华")
    await community.create_compound(slug="meiyuan", name="梅园", station_id=station.id,
                                    room_id=ROOM)
    gateway = FakeGateway()
    translator = Translator(all_catalogs())
    directory = DirectoryHolder(community, [])
    await directory.reload()
    bot = Bot(
        config=config, db=db, gateway=gateway, clock=clock,  # type: ignore[arg-type]
        translator=translator, directory=directory,
        dms=DirectMessenger(gateway, DirectRoomRepository(db, clock)),  # type: ignore[arg-type]
        router=Router(translator), features=[], audit=AuditRepository(db, clock),
    )
    feature = RecordingFeature(gateway, BotStateRepository(db, clock))
    bot.add_feature(feature)
    return bot, gateway, feature


async def test_an_event_is_done_with_its_effects_and_a_retry_repeats_none(
    db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    bot, gateway, _ = await make_bot(db, clock, tmp_path)
    state = BotStateRepository(db, clock)
    # The second send fails for a passing reason: nothing of the event is kept.
    gateway.fail = [MatrixActionError("send", None, "unreachable", "unreachable")]
    gateway.sent = []
    real_send = gateway.send_text

    calls = 0

    async def first_ok_then_fail(room_id: str, body: str, *a: Any, **k: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            txn = txn_id_for(room_id)
            gateway.sent.append((room_id, body, txn))
            return "$sent"
        return await real_send(room_id, body, *a, **k)

    gateway.send_text = first_ok_then_fail  # type: ignore[method-assign]
    with pytest.raises(MatrixActionError):
        await bot.handle(ROOM, message("$e1"))
    assert await state.done_events(["$e1"]) == set()
    assert await state.get("decided:$e1") is None  # the decision was rolled back too
    first_txn = gateway.sent[0][2]

    gateway.send_text = real_send  # type: ignore[method-assign]
    gateway.sent = []
    await bot.handle(ROOM, message("$e1"))
    assert await state.done_events(["$e1"]) == {"$e1"}
    assert await state.get("decided:$e1") == "hello"
    # The retry sent both messages, the first with the same transaction id as before: the
    # homeserver returns the first event for it instead of posting it again.
    assert [body for _, body, _ in gateway.sent] == ["first", "second"]
    assert gateway.sent[0][2] == first_txn


async def test_a_bug_or_a_refusal_is_logged_and_the_event_is_done(
    db: Database, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    bot, gateway, feature = await make_bot(db, clock, tmp_path)
    state = BotStateRepository(db, clock)
    feature.bug = True
    await bot.handle(ROOM, message("$bug"))
    assert await state.done_events(["$bug"]) == {"$bug"}
    assert "recording failed on $bug" in caplog.text
    feature.bug = False
    gateway.fail = [MatrixActionError("send", "M_FORBIDDEN", "no")]
    await bot.handle(ROOM, message("$refused"))
    assert await state.done_events(["$refused"]) == {"$refused"}


async def test_an_event_failing_every_time_is_left_after_the_last_attempt(
    db: Database, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    bot, gateway, _ = await make_bot(db, clock, tmp_path)
    state = BotStateRepository(db, clock)
    for _ in range(MAX_EVENT_ATTEMPTS - 1):
        gateway.fail = [Unreachable("send", "refused")]
        with pytest.raises(Unreachable):
            await bot.handle(ROOM, message("$stuck"))
    assert await state.done_events(["$stuck"]) == set()
    gateway.fail = [Unreachable("send", "refused")]
    await bot.handle(ROOM, message("$stuck"))  # the last attempt: logged and left
    assert await state.done_events(["$stuck"]) == {"$stuck"}
    assert "gave up on event $stuck" in caplog.text


async def test_a_malformed_event_is_done_without_holding_up_the_batch(
    db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    bot, gateway, _ = await make_bot(db, clock, tmp_path)

    class Broken(RoomMessageText):
        """An event whose translation fails (translation tolerates any content shape, see
        test_translate_hostile; this stands for a failure no one foresaw)."""

        @property
        def sender(self) -> str:
            raise ValueError("unforeseen")

        @sender.setter
        def sender(self, value: str) -> None:
            pass

    broken = Broken.from_dict(message("$broken").source)
    await bot.handle(ROOM, broken)
    await bot.handle(ROOM, message("$next"))
    state = BotStateRepository(db, clock)
    assert await state.done_events(["$broken", "$next"]) == {"$broken", "$next"}
    assert [body for _, body, _ in gateway.sent] == ["first", "second"]


async def test_a_compound_created_after_start_is_placed_before_its_first_event(
    db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    bot, gateway, _ = await make_bot(db, clock, tmp_path)
    community = CommunityRepository(db, clock)  # what `linli compound create` does
    station = await community.station("xinhua")
    await community.create_compound(slug="lanyuan", name="兰园", station_id=station.id,
                                    room_id="!lanyuan:test")
    await bot.handle("!lanyuan:test", message("$new"))
    assert [room for room, _, _ in gateway.sent] == ["!lanyuan:test", "!lanyuan:test"]


def test_a_batch_is_handled_in_the_order_things_happened_across_rooms() -> None:
    """The direct room listed first, but the join (in the compound room) happened before the
    code was sent: the join is handled first; each room's own order is kept."""
    def at(event_id: str, ts: int) -> RoomMessageText:
        event = message(event_id)
        event.server_timestamp = ts
        return event

    rooms = [
        ("!dm:test", [at("$code", 30), at("$thanks", 50)]),
        (ROOM, [at("$join", 10), at("$question", 40), at("$late-but-after", 35)]),
        ("!empty:test", []),
    ]
    order = [e.event_id for _, e in causal_order(rooms)]
    assert order == ["$join", "$code", "$question", "$late-but-after", "$thanks"]


async def test_the_bots_own_messages_cost_no_unit_of_work(
    db: Database, clock: FakeClock, tmp_path: Path,
) -> None:
    """A fan-out to 2,000 rooms comes back as 2,000 events of the bot's own: nothing to
    decide, so no transaction and no done-mark for them."""
    bot, gateway, _ = await make_bot(db, clock, tmp_path)
    own = RoomMessageText.from_dict({**message("$own").source, "sender": BOT})
    await bot.handle(ROOM, own)
    assert gateway.sent == []
    assert await BotStateRepository(db, clock).done_events(["$own"]) == set()
