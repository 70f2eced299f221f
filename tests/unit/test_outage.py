"""A homeserver outage under the periodic work, with a stand-in homeserver that can be "down"
and a FakeClock (issue 15, "Outage"; the long-running version with a real Synapse behind a
cut proxy is tests/integration/test_outage.py):

- the gateway turns a connection failure into ``Unreachable``, in one place;
- a reminder, an officers' notice and a removal that fall due while the homeserver is away
  are done once after it returns, however long it was away, and the member is marked
  removed only together with the kick;
- a flag whose post failed during the outage goes out on the first tick after recovery, not
  ``questions.pending_retry`` later;
- while the homeserver is away each feature's tick logs one warning line, no traceback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import ClientConnectorError

from linli.bot.cluster import Ownership
from linli.bot.config import load_config
from linli.bot.features.questions.feature import QuestionsFeature
from linli.bot.features.verification.feature import VerificationFeature
from linli.bot.matrix.gateway import MatrixGateway, RoomInfo, Unreachable
from linli.bot.runtime import EventEnv
from linli.bot.runtime.periodic import PeriodicWork
from linli.common.clock import FakeClock
from linli.common.events import MessagePosted
from linli.common.ids import EventID, RoomID, UserID
from linli.questions.model import FlagLevel
from linli.questions.policy import txn_id
from linli.questions.service import QuestionService
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.questions import QuestionRepository
from linli.verification.model import MemberState
from tests.unit.questions.test_feature import FakeGateway as QuestionsGateway
from tests.unit.runtime.test_event_path import make_bot
from tests.unit.test_officer_commands import FakeGateway, T
from tests.unit.verification.fixtures import make_world, with_registry

WAITING = UserID("@waiting:hs")
MOVER = UserID("@zhang:hs")
ROOM = RoomID("!room:hs")
OFFICERS_ROOM = RoomID("!off:hs")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TICK = timedelta(minutes=15)
QUESTIONS_ROOM = RoomID("!compound:hs")
QUESTIONS_OFFICERS = RoomID("!officers:hs")


# the gateway --------------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_connection_failure_reaches_the_caller_as_unreachable(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        f"matrix:\n  homeserver: http://127.0.0.1:{_closed_port()}\n"
        "  user_id: \"@linli:hs\"\n  access_token: secret-token\n"
        "  max_connection_retries: 0\n")
    gateway = MatrixGateway(load_config(config_file, environ={}).matrix)
    gateway.client.restore_login("@linli:hs", "DEVICE", "secret-token")
    try:
        for call in (lambda: gateway.send_text("!r:hs", "hello"),
                     lambda: gateway.kick("!r:hs", "@a:hs"),
                     lambda: gateway.client.sync(timeout=0),
                     gateway.default_room_version_gives_creator_power):
            with pytest.raises(Unreachable) as caught:
                await call()
            assert isinstance(caught.value.__cause__, ClientConnectorError)
            assert "secret-token" not in str(caught.value)
    finally:
        await gateway.close()


# verification's due work ------------------------------------------------------------------------
class Homeserver(FakeGateway):
    """The recording stand-in of test_officer_commands, which refuses every request while
    ``down`` as the real gateway does: ``Unreachable``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused = 0

    def reach(self, action: str) -> None:
        if self.down:
            self.refused += 1
            raise Unreachable(action, "Cannot connect to host: Connection refused")

    async def room_info(self, room_id: str) -> RoomInfo:
        self.reach("read m.room.create")
        return await super().room_info(room_id)

    async def state_event(self, room_id: str, event_type: str,
                          state_key: str = "") -> dict[str, Any]:
        self.reach(f"read {event_type}")
        return await super().state_event(room_id, event_type, state_key)

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any],
                        state_key: str = "") -> None:
        self.reach(f"write {event_type}")
        await super().put_state(room_id, event_type, content, state_key)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        self.reach("redact")
        await super().redact(room_id, event_id, reason)

    async def send_text(self, room_id: str, body: str, html: str | None = None,
                        **kwargs: Any) -> EventID:
        self.reach(f"send to {room_id}")
        return await super().send_text(room_id, body, html, **kwargs)

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self.reach("kick")
        await super().kick(room_id, user_id, reason)

    async def invite(self, room_id: str, user_id: str) -> None:
        self.reach("invite")
        await super().invite(room_id, user_id)


class Dms:
    def __init__(self, homeserver: Homeserver) -> None:
        self.homeserver = homeserver

    async def send(self, user_id: str, body: str, html: str | None = None) -> EventID:
        self.homeserver.reach("send to the direct room")
        self.homeserver.calls.append(("dm", user_id, body))
        return EventID("$dm")


def periodic(db: Database, clock: FakeClock) -> Any:
    """The runtime's periodic work (``PeriodicWork._tick``) without the rest of the bot."""
    return SimpleNamespace(
        db=db, clock=clock, ownership=Ownership(), _tick_locks={},
        _time=lambda name, started: None,
    )


async def tick(runtime: Any, feature: Any) -> None:
    await PeriodicWork._tick(runtime, feature)


def runtime_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("linli")]


async def test_due_work_during_an_outage_is_done_once_after_it(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(START)
    w = await make_world(sqlite_db, clock)
    codes = await with_registry(w)
    directory = await CommunityRepository(sqlite_db, clock).load_directory(config_admins=[])
    hs = Homeserver()
    feature = VerificationFeature(w.service, hs, Dms(hs), T,  # type: ignore[arg-type]
                                  lambda: directory)
    runtime = periodic(sqlite_db, clock)
    await w.service.on_join(w.compound, WAITING)  # grace 72 h; reminders 24 h and 2 h before
    await w.service.on_join(w.compound, MOVER)
    assert (await w.service.attempt(w.compound, MOVER, f"{codes['3-2-301']} 张伟")).effects

    async def away(until: datetime) -> None:
        """The homeserver is away until ``until``, a tick every 15 minutes."""
        hs.down = True
        caplog.clear()
        ticks = 0
        while clock.now() < until:
            clock.advance(TICK)
            await tick(runtime, feature)
            ticks += 1
        hs.down = False
        records = runtime_records(caplog)
        # At most one line a tick (none while nothing is due), a warning without a
        # traceback; nothing else.
        assert 0 < len(records) <= ticks, [r.getMessage() for r in records]
        assert all(r.levelno == logging.WARNING and r.exc_info is None for r in records)
        assert "paused by a passing failure" in records[0].getMessage()

    def done() -> list[tuple[Any, ...]]:
        calls = list(hs.calls)
        hs.calls.clear()
        return calls

    # The first reminder (48 h after joining) and the officers' notice of a move falls
    # due during an outage of 3 hours.
    clock.advance(timedelta(hours=47))
    await tick(runtime, feature)
    done()
    await w.registry.move_out(w.compound, "3-2-301", "张伟", "officer")
    await away(START + timedelta(hours=50))
    assert hs.refused > 0 and hs.calls == []
    member = await w.service.state(w.compound, WAITING)
    assert member is not None and member.reminders_sent == 0

    await tick(runtime, feature)
    calls = done()
    assert [c[:2] for c in calls if c[0] == "dm" and c[1] == WAITING] == [("dm", WAITING)]
    assert [c[:2] for c in calls if c[0] == "dm" and c[1] == MOVER] == [("dm", MOVER)]
    notices = [c for c in calls if c[0] == "send_text" and c[1] == OFFICERS_ROOM]
    assert len(notices) == 1 and MOVER in notices[0][2]
    await tick(runtime, feature)
    assert done() == []  # nothing twice

    # The removal (72 h after joining) falls due during an outage of a whole day.
    await away(START + timedelta(hours=95))
    member = await w.service.state(w.compound, WAITING)
    assert member is not None and member.state is MemberState.PENDING  # not removed yet
    clock.advance(TICK)
    await tick(runtime, feature)
    calls = done()
    assert ("kick", ROOM, WAITING) in calls and ("kick", ROOM, MOVER) in calls
    assert len([c for c in calls if c[0] == "kick"]) == 2
    reports = [c for c in calls if c[0] == "send_text" and c[1] == OFFICERS_ROOM]
    assert len(reports) == 2
    for user in (WAITING, MOVER):
        member = await w.service.state(w.compound, user)
        assert member is not None and member.state is MemberState.REMOVED
    clock.advance(TICK)
    await tick(runtime, feature)
    assert done() == []


async def test_an_outage_of_any_length_ends_in_one_tick(sqlite_db: Database) -> None:
    """However many ticks failed, the first one after recovery does the work: nothing counts
    failed attempts and gives up."""
    clock = FakeClock(START)
    w = await make_world(sqlite_db, clock)
    directory = await CommunityRepository(sqlite_db, clock).load_directory(config_admins=[])
    hs = Homeserver()
    feature = VerificationFeature(w.service, hs, Dms(hs), T,  # type: ignore[arg-type]
                                  lambda: directory)
    runtime = periodic(sqlite_db, clock)
    await w.service.on_join(w.compound, WAITING)
    clock.advance(timedelta(hours=73))
    hs.down = True
    for _ in range(200):
        await tick(runtime, feature)
    hs.down = False
    await tick(runtime, feature)
    assert [c for c in hs.calls if c[0] == "kick"] == [("kick", ROOM, WAITING)]


# questions' flags -------------------------------------------------------------------------------
class FlagHomeserver(QuestionsGateway):
    """The questions feature's stand-in homeserver, refusing every send while ``down``."""

    down: bool = False

    async def send_text(self, room_id: str, body: str, html: str | None = None, *,
                        txn_id: str | None = None, **kw: Any) -> EventID:
        if self.down:
            raise Unreachable(f"send to {room_id}", "Cannot connect to host")
        return await super().send_text(room_id, body, html, txn_id=txn_id, **kw)


async def test_a_flag_that_failed_in_an_outage_goes_out_on_the_first_tick_after_it(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(START)
    community = CommunityRepository(sqlite_db, clock)
    station = await community.create_station("xinhua", "新华派出所",
                                             officers_room_id=QUESTIONS_OFFICERS)
    compound = await community.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id=QUESTIONS_ROOM,
        timezone="Etc/UTC",
        settings={"questions": {"office_start": "00:00", "office_end": "23:59"}},
    )
    directory = await community.load_directory(config_admins=[])
    env = EventEnv(directory, compound=compound, station=directory.stations[station.id])
    repo = QuestionRepository(sqlite_db, clock)
    service = QuestionService(repo, clock, lambda: directory, T)
    hs = FlagHomeserver()
    feature = QuestionsFeature(service, repo, hs, lambda: directory)  # type: ignore[arg-type]
    runtime = periodic(sqlite_db, clock)
    async with sqlite_db.unit_of_work():
        await feature.on_event(MessagePosted(QUESTIONS_ROOM, EventID("$q"), UserID("@li:hs"),
                                             clock.now(), body="请问居住证在哪里办理？"), env)
    settings = service.settings_for(compound)

    # The flag falls due during an outage longer than pending_retry; a tick every minute.
    hs.down = True
    clock.advance(settings.deadline + timedelta(minutes=1))
    for _ in range(int(settings.pending_retry / timedelta(minutes=1)) + 3):
        clock.advance(timedelta(minutes=1))
        caplog.clear()
        await tick(runtime, feature)
        records = runtime_records(caplog)
        assert len(records) == 1 and records[0].levelno == logging.WARNING
        assert records[0].exc_info is None
    assert hs.sent == []

    hs.down = False
    clock.advance(timedelta(minutes=1))
    await tick(runtime, feature)
    assert [(room, txn) for room, _, txn in hs.sent] == [
        (QUESTIONS_OFFICERS, txn_id(QUESTIONS_ROOM, "$q", FlagLevel.FLAG))]
    for _ in range(10):
        clock.advance(timedelta(minutes=1))
        await tick(runtime, feature)
    assert len(hs.sent) == 1  # posted once, confirmed: never again
    q = await repo.by_event(QUESTIONS_ROOM, "$q")
    assert q is not None and q.flag(FlagLevel.FLAG) is not None


# resuming at once -------------------------------------------------------------------------------
class Ticking:
    name = "ticking"

    def __init__(self) -> None:
        self.ticks = 0
        self.ticked = asyncio.Event()

    def commands(self) -> list[Any]:
        return []

    async def start(self) -> None:
        return None

    async def on_event(self, event: Any, env: Any) -> None:
        return None

    async def tick(self, now: datetime) -> None:
        self.ticks += 1
        self.ticked.set()


async def test_the_periodic_work_runs_at_once_when_the_homeserver_is_back(
    sqlite_db: Database, tmp_path: Path,
) -> None:
    """The sync loop calls ``resume_periodic_work`` once the first batch after an outage is
    handled: every feature's periodic work runs then, not up to a tick (15 s) later."""
    bot, _, _ = await make_bot(sqlite_db, FakeClock(START), tmp_path)
    ticking = Ticking()
    bot.add_feature(ticking)
    assert bot.config.bot.tick_interval >= timedelta(seconds=15)
    tasks = bot._periodic_tasks()
    try:
        async with asyncio.timeout(5):
            await ticking.ticked.wait()
            ticking.ticked.clear()
            await asyncio.sleep(0.2)
            assert ticking.ticks == 1  # the next tick is 15 s away
            bot.resume_periodic_work()
            await ticking.ticked.wait()
    finally:
        bot.stop_event.set()
        bot.resume_periodic_work()
        await asyncio.gather(*tasks)
    assert ticking.ticks == 2
