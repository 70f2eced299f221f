"""Each compound's periodic work belongs to its owner (issue 12): two processes with disjoint
scopes each do only their compounds' due work (verification reminders and removals, question
flags, ends of mutes) and together all of it once; ticks whose scopes overlap, as while a
compound is handed over, still do each piece once (the claims in the database decide)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from linli.bot.features.moderation.feature import ModerationFeature
from linli.bot.features.questions.feature import QuestionsFeature
from linli.bot.features.verification.feature import VerificationFeature
from linli.bot.runtime import EventEnv
from linli.bot.runtime.periodic import PeriodicWork
from linli.common.clock import FakeClock
from linli.common.crypto import DataProtector
from linli.common.events import MessagePosted
from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.common.ports import CompoundScope
from linli.community.model import Compound, Directory
from linli.moderation.model import RestrictionKind
from linli.moderation.service import ModerationService
from linli.questions.service import QuestionService
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.moderation import ModerationRepository
from linli.storage.repos.questions import QuestionRepository
from linli.storage.repos.verification import VerificationRepository
from linli.verification.policy import VerificationPolicy
from linli.verification.service import VerificationService
from tests.unit.moderation.world import SETTINGS
from tests.unit.test_officer_commands import FakeGateway, T

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
BOT = "@linli:hs"
SLUGS = ("a", "b")


def room(slug: str) -> RoomID:
    return RoomID(f"!room-{slug}:hs")


def officers(slug: str) -> RoomID:
    return RoomID(f"!off-{slug}:hs")


def user(kind: str, slug: str) -> UserID:
    return UserID(f"@{kind}-{slug}:hs")


class Homeserver(FakeGateway):
    """The recording stand-in of test_officer_commands, with the flags' transaction ids and
    the edits of closed flags."""

    user_id = BOT

    async def send_text(self, room_id: str, body: str, html: str | None = None,
                        **kwargs: Any) -> EventID:
        self.calls.append(("send_text", room_id, body, kwargs.get("txn_id")))
        return EventID(f"$sent{len(self.calls)}")

    async def edit_text(self, room_id: str, event_id: str, body: str,
                        html: str | None = None) -> EventID:
        self.calls.append(("edit_text", room_id, event_id))
        return EventID(f"$edit{len(self.calls)}")


class Dms:
    def __init__(self, homeserver: Homeserver) -> None:
        self.homeserver = homeserver

    async def send(self, user_id: str, body: str, html: str | None = None) -> EventID:
        self.homeserver.calls.append(("dm", user_id, body))
        return EventID("$dm")


class Owning:
    """An ownership that owns ``scope`` (None: every compound), as ``ClusterOwnership`` does
    for the compounds it holds leases of."""

    def __init__(self, scope: CompoundScope) -> None:
        self.scope = scope

    def periodic_scope(self) -> CompoundScope:
        return self.scope

    def runs_periodic_work(self) -> bool:
        return self.scope is None


@dataclass
class Process:
    """One bot process's periodic work on the shared database: its own features, its own
    homeserver connection (recorded), the compounds it owns."""

    runtime: Any
    features: list[Any]
    homeserver: Homeserver = field(default_factory=Homeserver)

    async def tick(self) -> None:
        for feature in self.features:
            await PeriodicWork._tick(self.runtime, feature)

    def done(self) -> list[tuple[Any, ...]]:
        calls = list(self.homeserver.calls)
        self.homeserver.calls.clear()
        return calls


@dataclass
class City:
    db: Database
    clock: FakeClock
    compounds: dict[str, Compound]
    directory: Directory

    def process(self, scope: CompoundScope) -> Process:
        db, clock, directory = self.db, self.clock, self.directory
        hs = Homeserver()
        hs.pl = {"users": {user("muted", slug): -1 for slug in SLUGS}, "events_default": 0}
        audit = AuditRepository(db, clock)
        verification = VerificationService(
            VerificationRepository(db, clock, DataProtector(b"k" * 32)), audit, clock,
            VerificationPolicy(), transactions=db)
        moderation = ModerationService(ModerationRepository(db, clock), audit, clock,
                                       lambda: directory, SETTINGS, BOT, transactions=db)
        questions = QuestionRepository(db, clock)
        features = [
            VerificationFeature(verification, hs, Dms(hs), T,  # type: ignore[arg-type]
                                lambda: directory),
            QuestionsFeature(QuestionService(questions, clock, lambda: directory, T),
                             questions, hs, lambda: directory),  # type: ignore[arg-type]
            ModerationFeature(moderation, None, hs, Dms(hs), T),  # type: ignore[arg-type]
        ]
        runtime = SimpleNamespace(db=db, clock=clock, ownership=Owning(scope), _tick_locks={},
                                  _time=lambda name, started: None)
        return Process(runtime, features, hs)

    def scope(self, *slugs: str) -> frozenset[CompoundId]:
        return frozenset(self.compounds[s].id for s in slugs)


async def build_city(db: Database) -> City:
    """Two stations of one compound each, and in each compound every kind of due work at
    once: a member whose grace is over (removal), one due their first reminder, a question
    past its deadline (flag) and a mute that ended (unmute)."""
    clock = FakeClock(START)
    community = CommunityRepository(db, clock)
    compounds: dict[str, Compound] = {}
    for slug in SLUGS:
        station = await community.create_station(f"station-{slug}", f"派出所{slug}",
                                                 officers_room_id=officers(slug))
        compounds[slug] = await community.create_compound(
            slug=f"compound-{slug}", name=f"小区{slug}", station_id=station.id,
            room_id=room(slug), timezone="Etc/UTC",
            settings={"questions": {"office_start": "00:00", "office_end": "23:59"}},
        )
    directory = await community.load_directory(config_admins=[])
    city = City(db, clock, compounds, directory)
    setup = city.process(None)
    verification: VerificationFeature = setup.features[0]
    questions: QuestionsFeature = setup.features[1]
    for slug, compound in compounds.items():
        await verification.service.on_join(compound, user("early", slug))
    clock.advance(timedelta(hours=24))
    for slug, compound in compounds.items():
        await verification.service.on_join(compound, user("late", slug))
    clock.advance(timedelta(hours=49))  # early: grace over; late: the 24 h reminder is due
    moderation = ModerationRepository(db, clock)
    for slug, compound in compounds.items():
        async with db.unit_of_work():
            env = EventEnv(directory, compound=compound,
                           station=directory.stations[compound.station_id])
            await questions.on_event(MessagePosted(
                room(slug), EventID(f"$q-{slug}"), user("asker", slug), clock.now(),
                body="请问居住证在哪里办理？"), env)
        await moderation.add_restriction(
            compound_id=compound.id, room_id=room(slug), user_id=user("muted", slug),
            kind=RestrictionKind.MUTE, imposed_by=UserID("@wang:hs"), reason="",
            ends_at=clock.now() + timedelta(minutes=10), previous_level=0, muted_level=-1,
        )
    clock.advance(timedelta(minutes=31))  # the questions' deadline (30 min) and the mutes
    assert setup.done() == []  # setting up did nothing on the homeserver
    return city


def compound_of(call: tuple[Any, ...]) -> str:
    """Which compound a recorded call was for: every room and person is named after it."""
    target = str(call[1])
    return target.split(":")[0].rsplit("-", 1)[1]


def kinds(calls: list[tuple[Any, ...]], slug: str) -> Counter[str]:
    """The due work done for one compound, by kind."""
    found: Counter[str] = Counter()
    for call in calls:
        if compound_of(call) != slug:
            continue
        if call[0] == "kick":
            found[f"kick {call[2]}"] += 1
        elif call[0] == "dm":
            found[f"dm {call[1]}"] += 1
        elif call[0] == "put_state":
            found["power levels"] += 1
        elif call[0] == "send_text" and call[3] is not None and "question" in call[3]:
            found["flag"] += 1
        elif call[0] == "send_text":
            found["officers' message"] += 1
    return found


def expected(slug: str) -> Counter[str]:
    return Counter({
        f"kick {user('early', slug)}": 1,  # the removal
        f"dm {user('late', slug)}": 1,  # the reminder
        "power levels": 1,  # the end of the mute
        "flag": 1,  # the question past its deadline
        "officers' message": 2,  # the removal's report and the unmute's
    })


async def test_each_process_does_the_due_work_of_its_own_compounds_only(db: Database) -> None:
    city = await build_city(db)
    first, second = city.process(city.scope("a")), city.process(city.scope("b"))

    await first.tick()
    done_by_first = first.done()
    assert {compound_of(c) for c in done_by_first} == {"a"}
    assert kinds(done_by_first, "a") == expected("a")

    await second.tick()
    done_by_second = second.done()
    assert {compound_of(c) for c in done_by_second} == {"b"}
    assert kinds(done_by_second, "b") == expected("b")

    # Together they did all of it: a process owning every compound finds nothing left.
    everything = city.process(None)
    for process in (first, second, everything):
        await process.tick()
    assert first.done() == second.done() == everything.done() == []


async def test_a_process_owning_no_compound_does_no_compound_work(db: Database) -> None:
    city = await build_city(db)
    idle = city.process(frozenset())
    await idle.tick()
    assert idle.done() == []
    owner = city.process(None)
    await owner.tick()
    calls = owner.done()
    assert kinds(calls, "a") == expected("a") and kinds(calls, "b") == expected("b")


async def test_ticks_whose_scopes_overlap_during_a_handover_do_each_piece_once(
    db: Database,
) -> None:
    """Compound b is handed over from the first process to the second while their ticks
    run: both have it in their scope, at the same time (on PostgreSQL, side by side)."""
    city = await build_city(db)
    old_owner = city.process(city.scope("a", "b"))
    new_owner = city.process(city.scope("b"))
    await asyncio.gather(old_owner.tick(), new_owner.tick())
    calls = old_owner.done() + new_owner.done()
    assert kinds(calls, "a") == expected("a")
    assert kinds(calls, "b") == expected("b")
    await asyncio.gather(old_owner.tick(), new_owner.tick())
    assert old_owner.done() == new_owner.done() == []
