"""The questions feature at the edge, with a fake gateway: what it hands the service, how it
carries out effects, and the metrics query (on SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from nio import RoomGetEventResponse

from linli.bot.features.questions.feature import QuestionsFeature
from linli.bot.matrix.gateway import MatrixActionError, event_of
from linli.bot.messages import all_catalogs
from linli.bot.runtime import EventEnv
from linli.common.clock import FakeClock
from linli.common.events import MessagePosted, ReactionAdded
from linli.common.i18n import Translator
from linli.common.ids import CompoundId, EventID, RoomID, StationId, UserID
from linli.community.model import Compound, Directory, Role, StaffGrant, Station
from linli.questions.model import EditMessage, FlagLevel, MessageIn, PostFlag, QuestionState
from linli.questions.policy import txn_id
from linli.questions.service import QuestionService
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.questions import QuestionRepository
from tests.unit.questions.test_repo import _new

ROOM = RoomID("!compound:hs")
OFFICERS = RoomID("!officers:hs")
OFFICER = UserID("@wang:hs")
RESIDENT = UserID("@li:hs")
NEIGHBOUR = UserID("@zhao:hs")


@dataclass
class FakeClient:
    senders: dict[str, str] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    async def room_get_event(self, room_id: str, event_id: str) -> Any:
        self.fetched.append(event_id)
        return RoomGetEventResponse.from_dict({
            "type": "m.room.message", "event_id": event_id, "origin_server_ts": 1,
            "sender": self.senders[event_id], "content": {"msgtype": "m.text", "body": "?"},
        })


@dataclass
class FakeGateway:
    client: FakeClient = field(default_factory=FakeClient)
    sent: list[tuple[str, str, str | None]] = field(default_factory=list)
    edits: list[tuple[str, str, str]] = field(default_factory=list)
    fail_sends: int = 0
    fail_with: str = "M_FORBIDDEN"

    async def room_event(self, room_id: str, event_id: str) -> Any:
        return event_of(await self.client.room_get_event(room_id, event_id))

    async def send_text(self, room_id: str, body: str, html: str | None = None, *,
                        txn_id: str | None = None, **_: Any) -> EventID:
        if self.fail_sends:
            self.fail_sends -= 1
            raise MatrixActionError("send", self.fail_with, "boom")
        self.sent.append((room_id, body, txn_id))
        return EventID(f"$sent{len(self.sent)}")

    async def edit_text(self, room_id: str, event_id: str, body: str,
                        html: str | None = None) -> EventID:
        self.edits.append((room_id, event_id, body))
        return EventID(f"$edit{len(self.edits)}")


def _directory(compound_id: int = 1, station_id: int = 1) -> Directory:
    station = Station(StationId(station_id), "xinhua", "新华派出所", officers_room_id=OFFICERS)
    compound = Compound(CompoundId(compound_id), "meiyuan", "梅园小区", station.id, ROOM,
                        timezone="Etc/UTC")
    grant = StaffGrant(OFFICER, Role.OFFICER, station_id=station.id, display_name="王警官")
    return Directory([station], [compound], [grant])


@dataclass
class StubService:
    """Records what the feature hands the service."""

    messages: list[MessageIn] = field(default_factory=list)
    flags_posted: list[tuple[int, FlagLevel, str]] = field(default_factory=list)

    async def on_message(self, m: MessageIn, flat_of: Any = None) -> list[Any]:
        # As the service does for a message it records as a question: the flat looked up.
        if m.asker_flat is None and flat_of is not None:
            m = replace(m, asker_flat=await flat_of())
        self.messages.append(m)
        return []

    async def flag_posted(self, question_id: int, level: FlagLevel, event_id: str) -> list[Any]:
        self.flags_posted.append((question_id, level, event_id))
        return [EditMessage(OFFICERS, EventID(event_id), "answered meanwhile")]


def _feature(service: Any, gateway: FakeGateway, directory: Directory, **kw: Any) -> Any:
    return QuestionsFeature(service, None, gateway, lambda: directory, **kw)  # type: ignore[arg-type]


def _msg(event_id: str, sender: str, body: str, clock: FakeClock, reply_to: str | None = None,
         mentions: tuple[str, ...] = ()) -> MessagePosted:
    return MessagePosted(
        ROOM, EventID(event_id), UserID(sender), clock.now(), body=body,
        reply_to=EventID(reply_to) if reply_to else None,
        mentions=frozenset(UserID(m) for m in mentions),
    )


async def test_replied_to_sender_comes_from_the_cache_and_is_fetched_only_when_needed(
    clock: FakeClock,
) -> None:
    directory = _directory()
    env = EventEnv(directory, compound=directory.compound_by_room(ROOM),
                   station=directory.stations[StationId(1)])
    gateway = FakeGateway()
    gateway.client.senders = {"$old": RESIDENT, "$older": NEIGHBOUR}
    service = StubService()
    feature = _feature(service, gateway, directory, sender_cache_size=2)

    await feature.on_event(_msg("$q", RESIDENT, "派出所周六上班吗", clock), env)
    # staff reply with a mention, replied-to event cached: no fetch
    await feature.on_event(_msg("$a", OFFICER, "上班", clock, reply_to="$q",
                                mentions=(RESIDENT,)), env)
    # a resident's reply, or a staff reply without mentions: never fetched
    await feature.on_event(_msg("$r", NEIGHBOUR, "我也想知道", clock, reply_to="$old",
                                mentions=(RESIDENT,)), env)
    await feature.on_event(_msg("$b", OFFICER, "好的", clock, reply_to="$old"), env)
    assert gateway.client.fetched == []
    # staff reply mentioning someone, cache miss: fetched once, then cached
    await feature.on_event(_msg("$c", OFFICER, "请看", clock, reply_to="$old",
                                mentions=(RESIDENT, NEIGHBOUR)), env)
    await feature.on_event(_msg("$d", OFFICER, "请看", clock, reply_to="$old",
                                mentions=(RESIDENT,)), env)
    assert gateway.client.fetched == ["$old"]

    by_id = {m.event_id: m for m in service.messages}
    assert by_id[EventID("$a")].reply_to_sender == RESIDENT
    assert by_id[EventID("$r")].reply_to_sender is None
    assert by_id[EventID("$b")].reply_to_sender is None
    assert by_id[EventID("$c")].reply_to_sender == RESIDENT
    assert by_id[EventID("$d")].reply_to_sender == RESIDENT
    assert by_id[EventID("$c")].mentions == (RESIDENT, NEIGHBOUR)  # sorted
    # the cache is bounded: "$q" has been pushed out by later messages
    assert len(feature._senders) == 2 and "$q" not in feature._senders


async def test_asker_flat_for_residents_only_sync_or_async_and_never_fatal(
    clock: FakeClock,
) -> None:
    directory = _directory()
    env = EventEnv(directory, compound=directory.compound_by_room(ROOM))
    service = StubService()

    async def async_label(compound: Compound, user: UserID) -> str | None:
        return "3栋2单元501" if user == RESIDENT else None

    feature = _feature(service, FakeGateway(), directory, flat_label=async_label)
    await feature.on_event(_msg("$1", RESIDENT, "派出所周六上班吗", clock), env)
    await feature.on_event(_msg("$2", OFFICER, "上班", clock), env)
    await feature.on_event(_msg("$3", NEIGHBOUR, "几点开门？", clock), env)
    feature.flat_label = lambda compound, user: "1栋101"
    await feature.on_event(_msg("$4", NEIGHBOUR, "几点开门？", clock), env)

    def broken(compound: Compound, user: UserID) -> str | None:
        raise RuntimeError("registry down")

    feature.flat_label = broken
    feature._flats.clear()  # found labels are cached for a while; this checks a cold look-up
    await feature.on_event(_msg("$5", NEIGHBOUR, "几点开门？", clock), env)
    assert [m.asker_flat for m in service.messages] == ["3栋2单元501", None, None, "1栋101", None]

    # events outside compound rooms are not the feature's business
    await feature.on_event(_msg("$6", RESIDENT, "几点开门？", clock),
                           EventEnv(directory, station=directory.stations[StationId(1)]))
    assert len(service.messages) == 5


async def test_carry_out_posts_with_the_txn_id_follows_up_and_survives_failures() -> None:
    directory = _directory()
    gateway = FakeGateway(fail_sends=1)
    service = StubService()
    feature = _feature(service, gateway, directory)
    await feature.carry_out([
        PostFlag(7, FlagLevel.FLAG, OFFICERS, "first", "linli-question-7-flag"),
        PostFlag(8, FlagLevel.FLAG, OFFICERS, "second", "linli-question-8-flag"),
        EditMessage(OFFICERS, EventID("$x"), "edited"),
    ])
    # the first post was refused (stays pending in the service); the rest still went out,
    # and the edit that flag_posted returned was carried out too
    assert gateway.sent == [(OFFICERS, "second", "linli-question-8-flag")]
    assert service.flags_posted == [(8, FlagLevel.FLAG, "$sent1")]
    assert gateway.edits == [(OFFICERS, "$x", "edited"),
                             (OFFICERS, "$sent1", "answered meanwhile")]


async def test_a_passing_failure_propagates_so_the_unit_of_work_is_done_again() -> None:
    gateway = FakeGateway(fail_sends=1, fail_with="M_UNKNOWN")
    service = StubService()
    feature = _feature(service, gateway, _directory())
    with pytest.raises(MatrixActionError):
        await feature.carry_out([
            PostFlag(7, FlagLevel.FLAG, OFFICERS, "first", "linli-question-7-flag"),
            PostFlag(8, FlagLevel.FLAG, OFFICERS, "second", "linli-question-8-flag"),
        ])
    assert gateway.sent == [] and service.flags_posted == []


async def test_flag_then_answer_edits_the_flag_with_the_real_service(
    sqlite_db: Database, clock: FakeClock,
) -> None:
    community = CommunityRepository(sqlite_db, clock)
    station = await community.create_station("xinhua", "新华派出所", officers_room_id=OFFICERS)
    compound = await community.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id=ROOM, timezone="Etc/UTC",
        settings={"questions": {"office_start": "00:00", "office_end": "23:59"}},
    )
    directory = _directory(compound.id, station.id)
    directory = Directory(directory.stations.values(), [compound], directory.grants)
    env = EventEnv(directory, compound=compound, station=directory.stations[station.id])
    repo = QuestionRepository(sqlite_db, clock)
    service = QuestionService(repo, clock, lambda: directory, Translator(all_catalogs()))
    gateway = FakeGateway()
    feature = QuestionsFeature(service, repo, gateway, lambda: directory,  # type: ignore[arg-type]
                               flat_label=lambda c, u: "3栋2单元501")

    await feature.on_event(_msg("$q", RESIDENT, "请问居住证在哪里办理？", clock), env)
    assert await feature.metrics() == _samples(1, 0, 0)
    clock.advance(timedelta(minutes=31))
    await feature.tick(clock.now())
    await feature.tick(clock.now())
    assert len(gateway.sent) == 1
    room, body, txn = gateway.sent[0]
    assert room == OFFICERS and txn == txn_id(ROOM, "$q", FlagLevel.FLAG)
    assert "3栋2单元501" in body and "梅园小区" in body and "https://matrix.to/#/" in body
    assert await feature.metrics() == _samples(1, 1, 0)

    await feature.on_event(
        ReactionAdded(ROOM, EventID("$r"), OFFICER, clock.now(), EventID("$q"), "✅"), env
    )
    assert [e[1] for e in gateway.edits] == ["$sent1"]
    assert "王警官" in gateway.edits[0][2]
    q = await repo.by_event(ROOM, "$q")
    assert q is not None and q.state is QuestionState.ANSWERED
    assert await feature.metrics() == _samples(0, 0, 0)


def _samples(open_: int, flagged: int, escalated: int) -> list[Any]:
    from linli.bot.web.metrics import Sample

    text = "Open questions whose flag or escalation has been posted"
    return [
        Sample("linli_questions_open", open_, "Residents' questions not yet answered"),
        Sample("linli_questions_flagged", flagged, text, labels={"level": "flag"}),
        Sample("linli_questions_flagged", escalated, text, labels={"level": "escalation"}),
    ]


async def test_open_counts_in_one_query(db: Database, clock: FakeClock) -> None:
    community = CommunityRepository(db, clock)
    station = await community.create_station("xinhua", "新华派出所")
    compound = await community.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id="!r:hs"
    )
    repo = QuestionRepository(db, clock)
    assert await repo.open_counts() == (0, 0, 0)
    a = await repo.add(_new(compound.id, clock, "$a"), clock.now())
    b = await repo.add(_new(compound.id, clock, "$b"), clock.now())
    c = await repo.add(_new(compound.id, clock, "$c"), clock.now())
    now = clock.now()
    for q in (a, b, c):
        await repo.claim_flag(q.id, FlagLevel.FLAG, "!off:hs", now, now)
    await repo.flag_posted(a.id, FlagLevel.FLAG, "$fa", now)
    await repo.flag_posted(b.id, FlagLevel.FLAG, "$fb", now)  # c's flag stays pending
    await repo.claim_flag(a.id, FlagLevel.ESCALATION, "!sup:hs", now, now)
    await repo.flag_posted(a.id, FlagLevel.ESCALATION, "$ea", now)
    assert await repo.open_counts() == (3, 2, 1)
    await repo.close(b.id, QuestionState.ANSWERED, now)
    assert await repo.open_counts() == (2, 1, 1)


async def test_found_flat_labels_are_cached_missing_ones_are_not(clock: FakeClock) -> None:
    directory = _directory()
    env = EventEnv(directory, compound=directory.compound_by_room(ROOM))
    service = StubService()
    calls: list[str] = []

    def label(compound: Compound, user: UserID) -> str | None:
        calls.append(user)
        return "3栋2单元501" if user == RESIDENT else None

    feature = _feature(service, FakeGateway(), directory, flat_label=label)
    for i in range(3):
        await feature.on_event(_msg(f"$r{i}", RESIDENT, "派出所周六上班吗", clock), env)
        await feature.on_event(_msg(f"$n{i}", NEIGHBOUR, "几点开门？", clock), env)
    assert calls.count(RESIDENT) == 1
    assert calls.count(NEIGHBOUR) == 3
    assert [m.asker_flat for m in service.messages if m.sender == RESIDENT] == ["3栋2单元501"] * 3
