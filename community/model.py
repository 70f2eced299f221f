"""Plain data for stations, compounds and staff roles, and the Directory that answers
"who may do what where" from one in-memory snapshot (no database round trip per message)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from linli.common.ids import CompoundId, RoomID, StationId, UserID


class Role(StrEnum):
    RESIDENT = "resident"
    OFFICER = "officer"
    PROPERTY = "property"
    COMMUNITY = "community"
    JUDICIAL = "judicial"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.OFFICER, Role.PROPERTY, Role.COMMUNITY, Role.JUDICIAL})
ALL_ROLES = frozenset(Role)


class AdmissionMode(StrEnum):
    MUTE = "mute"
    KNOCK = "knock"


@dataclass(frozen=True)
class Station:
    id: StationId
    slug: str
    name: str
    locale: str = "zh-CN"
    officers_room_id: RoomID | None = None
    supervisors_room_id: RoomID | None = None


@dataclass(frozen=True)
class Compound:
    id: CompoundId
    slug: str
    name: str
    station_id: StationId
    room_id: RoomID | None
    timezone: str = "Asia/Shanghai"
    locale: str = "zh-CN"
    admission_mode: AdmissionMode = AdmissionMode.MUTE
    room_alias: str | None = None
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    created_at: datetime | None = None


@dataclass(frozen=True)
class StaffGrant:
    """A role held by a Matrix user: for one compound, for a station's compounds, or
    (admins with neither set) for the whole district."""

    user_id: UserID
    role: Role
    station_id: StationId | None = None
    compound_id: CompoundId | None = None
    display_name: str | None = None
    phone: str | None = None


class Directory:
    """An immutable snapshot of stations, compounds and grants with the look-ups the bot needs
    on every event. Rebuilt from the database when something changes."""

    def __init__(
        self,
        stations: Iterable[Station],
        compounds: Iterable[Compound],
        grants: Iterable[StaffGrant],
        config_admins: Iterable[str] = (),
    ) -> None:
        self.stations = {s.id: s for s in stations}
        self.compounds = {c.id: c for c in compounds}
        self.grants = list(grants)
        self.config_admins = frozenset(config_admins)
        self._by_room = {c.room_id: c for c in self.compounds.values() if c.room_id}
        self._by_slug = {c.slug: c for c in self.compounds.values()}
        self._station_by_slug = {s.slug: s for s in self.stations.values()}
        self._station_by_officers_room = {
            s.officers_room_id: s for s in self.stations.values() if s.officers_room_id
        }
        self._grants_by_user: dict[str, list[StaffGrant]] = {}
        for g in self.grants:
            self._grants_by_user.setdefault(g.user_id, []).append(g)

    # look-ups -------------------------------------------------------------------------
    def compound_by_room(self, room_id: str) -> Compound | None:
        return self._by_room.get(room_id)

    def compound_by_slug(self, slug: str) -> Compound | None:
        return self._by_slug.get(slug)

    def station_by_slug(self, slug: str) -> Station | None:
        return self._station_by_slug.get(slug)

    def station_by_officers_room(self, room_id: str) -> Station | None:
        return self._station_by_officers_room.get(room_id)

    def station_of(self, compound: Compound) -> Station:
        return self.stations[compound.station_id]

    def compounds_of_station(self, station_id: StationId) -> list[Compound]:
        return sorted(
            (c for c in self.compounds.values() if c.station_id == station_id),
            key=lambda c: c.slug,
        )

    def managed_room_ids(self) -> set[RoomID]:
        rooms: set[RoomID] = {c.room_id for c in self.compounds.values() if c.room_id}
        for s in self.stations.values():
            if s.officers_room_id:
                rooms.add(s.officers_room_id)
            if s.supervisors_room_id:
                rooms.add(s.supervisors_room_id)
        return rooms

    def locale_for_room(self, room_id: str, default: str = "zh-CN") -> str:
        compound = self.compound_by_room(room_id)
        if compound:
            return compound.locale
        station = self.station_by_officers_room(room_id)
        if station:
            return station.locale
        for s in self.stations.values():
            if s.supervisors_room_id == room_id:
                return s.locale
        return default

    # roles --------------------------------------------------------------------------------
    def is_admin(self, user_id: str) -> bool:
        if user_id in self.config_admins:
            return True
        return any(g.role is Role.ADMIN for g in self._grants_by_user.get(user_id, ()))

    def is_district_admin(self, user_id: str) -> bool:
        if user_id in self.config_admins:
            return True
        return any(
            g.role is Role.ADMIN and g.station_id is None and g.compound_id is None
            for g in self._grants_by_user.get(user_id, ())
        )

    def is_staff_anywhere(self, user_id: str) -> bool:
        return user_id in self.config_admins or bool(self._grants_by_user.get(user_id))

    def roles_anywhere(self, user_id: str) -> frozenset[Role]:
        """Every staff or admin role the user holds, wherever (no RESIDENT)."""
        roles = {g.role for g in self._grants_by_user.get(user_id, ())}
        if user_id in self.config_admins:
            roles.add(Role.ADMIN)
        return frozenset(roles)

    def roles_in_compound(self, user_id: str, compound: Compound) -> frozenset[Role]:
        roles = {Role.RESIDENT}
        if user_id in self.config_admins:
            roles.add(Role.ADMIN)
        for g in self._grants_by_user.get(user_id, ()):
            if g.compound_id == compound.id or g.station_id == compound.station_id or (
                g.role is Role.ADMIN and g.station_id is None and g.compound_id is None
            ):
                roles.add(g.role)
        return frozenset(roles)

    def roles_in_station(self, user_id: str, station: Station) -> frozenset[Role]:
        roles = {Role.RESIDENT}
        if user_id in self.config_admins:
            roles.add(Role.ADMIN)
        for g in self._grants_by_user.get(user_id, ()):
            if g.station_id == station.id or (
                g.role is Role.ADMIN and g.station_id is None and g.compound_id is None
            ):
                roles.add(g.role)
            elif g.compound_id is not None:
                c = self.compounds.get(g.compound_id)
                if c and c.station_id == station.id:
                    roles.add(g.role)
        return frozenset(roles)

    def roles_in_room(self, user_id: str, room_id: str) -> frozenset[Role]:
        compound = self.compound_by_room(room_id)
        if compound:
            return self.roles_in_compound(user_id, compound)
        station = self.station_by_officers_room(room_id)
        if station:
            return self.roles_in_station(user_id, station)
        roles = {Role.RESIDENT}
        if self.is_admin(user_id):
            roles.add(Role.ADMIN)
        return frozenset(roles)

    def is_staff_in_compound(self, user_id: str, compound: Compound) -> bool:
        return bool(self.roles_in_compound(user_id, compound) - {Role.RESIDENT})

    def may_invite_bot(self, user_id: str) -> bool:
        """Only staff and admins may bring the bot into a room."""
        return self.is_staff_anywhere(user_id)

    def staff_of_compound(self, compound: Compound) -> list[StaffGrant]:
        return [
            g
            for g in self.grants
            if g.compound_id == compound.id or g.station_id == compound.station_id
        ]
