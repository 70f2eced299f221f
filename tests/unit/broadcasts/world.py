"""A small world for broadcast tests: two stations, compounds with rooms, staff, a fake
homeserver that deduplicates transaction ids like Synapse, and a sleep that moves the clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta

from linli.bot.features.broadcasts.fire_times import ApschedulerFireTimes
from linli.bot.messages import all_catalogs
from linli.broadcasts.delivery import BroadcastSettings, DeliveryService
from linli.broadcasts.model import RenderedMessage
from linli.broadcasts.ports import (
    PermanentFailure,
    RateLimited,
    SendResult,
    Sent,
    TemporaryFailure,
)
from linli.broadcasts.service import BulletinCommands
from linli.common.clock import FakeClock
from linli.common.i18n import Translator
from linli.common.ids import EventID, RoomID, StationId, UserID
from linli.community.model import Directory, Role, StaffGrant
from linli.storage.db import Database
from linli.storage.repos.broadcasts import BroadcastRepository
from linli.storage.repos.community import CommunityRepository

OFFICER = UserID("@wang:hs")  # officer of the whole station xinhua
COMPOUND_OFFICER = UserID("@li:hs")  # officer of compound c00 only
STATION_ADMIN = UserID("@sadmin:hs")  # admin of station xinhua
DISTRICT_ADMIN = UserID("@admin:hs")
OTHER_OFFICER = UserID("@zhao:hs")  # officer of station dongcheng
PROPERTY = UserID("@wuye:hs")  # property manager of c00
RESIDENT = UserID("@resident:hs")
OFFICERS_ROOM = RoomID("!off-x:hs")
OTHER_OFFICERS_ROOM = RoomID("!off-d:hs")


class Crash(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the service catches it."""


class FakeHomeserver:
    """Accepts sends, deduplicating by transaction id (as Synapse does per access token)."""

    def __init__(self) -> None:
        self.by_txn: dict[str, EventID] = {}
        self.posts: list[tuple[RoomID, RenderedMessage]] = []
        self.calls: Counter[str] = Counter()
        self.permanent: set[str] = set()
        self.rate_limit_once: set[str] = set()
        self.temporary: set[str] = set()
        self.crash_after_posts: int | None = None

    async def send(self, room_id: RoomID, message: RenderedMessage, txn_id: str) -> SendResult:
        await asyncio.sleep(0)  # let racing tasks interleave
        self.calls[txn_id] += 1
        if room_id in self.permanent:
            return PermanentFailure("M_FORBIDDEN")
        if room_id in self.rate_limit_once:
            self.rate_limit_once.discard(room_id)
            return RateLimited(timedelta(seconds=7))
        if room_id in self.temporary:
            return TemporaryFailure("timeout")
        if txn_id in self.by_txn:
            return Sent(self.by_txn[txn_id])
        event = EventID(f"$ev{len(self.posts)}")
        self.by_txn[txn_id] = event
        self.posts.append((room_id, message))
        if self.crash_after_posts is not None and len(self.posts) >= self.crash_after_posts:
            self.crash_after_posts = None
            raise Crash  # the event was accepted, the ledger never hears of it
        await asyncio.sleep(0)
        return Sent(event)

    def rooms_posted(self) -> Counter[str]:
        return Counter(room for room, _ in self.posts)


@dataclass
class World:
    db: Database
    clock: FakeClock
    directory: Directory
    station_id: StationId
    other_station_id: StationId
    rooms: list[RoomID]
    store: BroadcastRepository
    homeserver: FakeHomeserver = field(default_factory=FakeHomeserver)
    sleeps: list[float] = field(default_factory=list)
    translator: Translator = field(default_factory=lambda: Translator(all_catalogs()))
    settings: BroadcastSettings = field(default_factory=BroadcastSettings)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))

    def service(self, owner: str = "proc-a", **changes: object) -> DeliveryService:
        return DeliveryService(
            self.store,
            self.homeserver,
            ApschedulerFireTimes(),
            lambda: self.directory,
            self.translator,
            self.clock,
            owner=owner,
            settings=replace(self.settings, **changes),  # type: ignore[arg-type]
            sleep=self.sleep,
        )

    def commands(self, delivery: DeliveryService | None = None) -> BulletinCommands:
        return BulletinCommands(
            self.store,
            ApschedulerFireTimes(),
            lambda: self.directory,
            self.translator,
            self.clock,
            delivery=delivery or self.service(),
        )


async def make_world(db: Database, clock: FakeClock, rooms: int = 3) -> World:
    repo = CommunityRepository(db, clock)
    station = await repo.create_station("xinhua", "新华派出所", officers_room_id=OFFICERS_ROOM)
    other = await repo.create_station(
        "dongcheng", "东城派出所", locale="en", officers_room_id=OTHER_OFFICERS_ROOM
    )
    room_ids = []
    first = None
    for i in range(rooms):
        compound = await repo.create_compound(
            slug=f"c{i:02d}", name=f"小区{i:02d}", station_id=station.id,
            room_id=f"!room{i:02d}:hs",
        )
        first = first or compound
        room_ids.append(RoomID(f"!room{i:02d}:hs"))
    await repo.create_compound(
        slug="east", name="East Court", station_id=other.id, room_id="!east:hs", locale="en"
    )
    assert first is not None
    for grant in (
        StaffGrant(OFFICER, Role.OFFICER, station_id=station.id, display_name="王警官"),
        StaffGrant(COMPOUND_OFFICER, Role.OFFICER, compound_id=first.id),
        StaffGrant(STATION_ADMIN, Role.ADMIN, station_id=station.id),
        StaffGrant(DISTRICT_ADMIN, Role.ADMIN),
        StaffGrant(OTHER_OFFICER, Role.OFFICER, station_id=other.id),
        StaffGrant(PROPERTY, Role.PROPERTY, compound_id=first.id),
    ):
        await repo.add_grant(grant)
    directory = await repo.load_directory()
    return World(
        db=db,
        clock=clock,
        directory=directory,
        station_id=station.id,
        other_station_id=other.id,
        rooms=room_ids,
        store=BroadcastRepository(db),
    )
