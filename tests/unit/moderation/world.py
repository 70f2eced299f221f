"""A station, a compound and its staff in a migrated database, for moderation tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from linli.common.clock import FakeClock
from linli.common.ids import UserID
from linli.community.model import Compound, Directory, Role, StaffGrant, Station
from linli.moderation.model import ModerationSettings
from linli.moderation.service import ModerationService
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.moderation import ModerationRepository

BOT = "@linli:hs"
OFFICER = "@wang:hs"
PROPERTY = "@wuye:hs"
ADMIN = "@boss:hs"
CONFIG_ADMIN = "@root:hs"
RESIDENT = "@zhang:hs"
OTHER = "@li:hs"
ROOM = "!meiyuan:hs"
OFFICERS_ROOM = "!officers:hs"

SETTINGS = ModerationSettings(
    warn_limit=3,
    warn_window=timedelta(days=7),
    warn_mute=timedelta(hours=1),
    flood_messages=5,
    flood_window=timedelta(seconds=30),
    flood_mute=timedelta(minutes=10),
    flood_max_tracked=1000,
)


@dataclass
class World:
    db: Database
    clock: FakeClock
    station: Station
    compound: Compound
    directory: Directory

    def service(self, settings: ModerationSettings = SETTINGS) -> ModerationService:
        """A fresh service on the same database, as after a restart."""
        return ModerationService(
            ModerationRepository(self.db, self.clock),
            AuditRepository(self.db, self.clock),
            self.clock,
            lambda: self.directory,
            settings,
            BOT,
            transactions=self.db,
        )


async def build_world(db: Database, clock: FakeClock) -> World:
    repo = CommunityRepository(db, clock)
    station = await repo.create_station("xinhua", "新华派出所", officers_room_id=OFFICERS_ROOM)
    compound = await repo.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id=ROOM
    )
    await repo.add_grant(StaffGrant(UserID(OFFICER), Role.OFFICER, station_id=station.id))
    await repo.add_grant(StaffGrant(UserID(PROPERTY), Role.PROPERTY, compound_id=compound.id))
    await repo.add_grant(StaffGrant(UserID(ADMIN), Role.ADMIN))
    directory = await repo.load_directory(config_admins=[CONFIG_ADMIN])
    return World(db, clock, station, compound, directory)
