"""Stations, compounds and staff grants."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from linli.common.clock import Clock
from linli.common.errors import Conflict, NotFound
from linli.common.ids import CompoundId, RoomID, StationId, UserID
from linli.community.model import AdmissionMode, Compound, Directory, Role, StaffGrant, Station
from linli.storage.db import Database
from linli.storage.tables.core import CompoundRow, DirectoryVersionRow, StaffRow, StationRow


def _station(row: StationRow) -> Station:
    return Station(
        id=StationId(row.id),
        slug=row.slug,
        name=row.name,
        locale=row.locale,
        officers_room_id=RoomID(row.officers_room_id) if row.officers_room_id else None,
        supervisors_room_id=RoomID(row.supervisors_room_id) if row.supervisors_room_id else None,
    )


def _compound(row: CompoundRow) -> Compound:
    return Compound(
        id=CompoundId(row.id),
        slug=row.slug,
        name=row.name,
        station_id=StationId(row.station_id),
        room_id=RoomID(row.room_id) if row.room_id else None,
        timezone=row.timezone,
        locale=row.locale,
        admission_mode=AdmissionMode(row.admission_mode),
        room_alias=row.room_alias,
        settings=dict(row.settings or {}),
        created_at=row.created_at,
    )


def _grant(row: StaffRow) -> StaffGrant:
    return StaffGrant(
        user_id=UserID(row.user_id),
        role=Role(row.role),
        station_id=StationId(row.station_id) if row.station_id is not None else None,
        compound_id=CompoundId(row.compound_id) if row.compound_id is not None else None,
        display_name=row.display_name,
        phone=row.phone,
    )


class CommunityRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def directory_version(self) -> int:
        """A number that changes whenever stations, compounds or staff change (triggers
        raise it, whoever writes): one indexed row, cheap enough to read per sync batch."""
        async with self.db.session() as s:
            return int(await s.scalar(
                select(DirectoryVersionRow.version).where(DirectoryVersionRow.id == 1)
            ) or 0)

    async def load_directory(self, config_admins: Iterable[str] = ()) -> Directory:
        """Everything the bot needs per event, in three queries."""
        async with self.db.session() as s:
            stations = [_station(r) for r in (await s.scalars(select(StationRow))).all()]
            compounds = [_compound(r) for r in (await s.scalars(select(CompoundRow))).all()]
            grants = [_grant(r) for r in (await s.scalars(select(StaffRow))).all()]
        return Directory(stations, compounds, grants, config_admins)

    async def create_station(
        self, slug: str, name: str, locale: str = "zh-CN", officers_room_id: str | None = None
    ) -> Station:
        async with self.db.transaction() as s:
            if await s.scalar(select(StationRow).where(StationRow.slug == slug)):
                raise Conflict("error.station_exists", slug=slug)
            row = StationRow(
                slug=slug,
                name=name,
                locale=locale,
                officers_room_id=officers_room_id,
                created_at=self.clock.now(),
            )
            s.add(row)
            await s.flush()
            return _station(row)

    async def update_station(self, slug: str, **changes: Any) -> Station:
        async with self.db.transaction() as s:
            row = await s.scalar(select(StationRow).where(StationRow.slug == slug))
            if row is None:
                raise NotFound("error.no_station", slug=slug)
            for key, value in changes.items():
                setattr(row, key, value)
            await s.flush()
            return _station(row)

    async def station(self, slug: str) -> Station:
        async with self.db.session() as s:
            row = await s.scalar(select(StationRow).where(StationRow.slug == slug))
        if row is None:
            raise NotFound("error.no_station", slug=slug)
        return _station(row)

    async def compound(self, slug: str) -> Compound:
        async with self.db.session() as s:
            row = await s.scalar(select(CompoundRow).where(CompoundRow.slug == slug))
        if row is None:
            raise NotFound("error.no_compound", slug=slug)
        return _compound(row)

    async def create_compound(
        self,
        *,
        slug: str,
        name: str,
        station_id: StationId,
        room_id: str | None,
        room_alias: str | None = None,
        timezone: str = "Asia/Shanghai",
        locale: str = "zh-CN",
        admission_mode: AdmissionMode = AdmissionMode.MUTE,
        settings: dict[str, Any] | None = None,
    ) -> Compound:
        async with self.db.transaction() as s:
            if await s.scalar(select(CompoundRow).where(CompoundRow.slug == slug)):
                raise Conflict("error.compound_exists", slug=slug)
            if room_id and await s.scalar(
                select(CompoundRow).where(CompoundRow.room_id == room_id)
            ):
                raise Conflict("error.room_taken", room=room_id)
            row = CompoundRow(
                slug=slug,
                name=name,
                station_id=station_id,
                room_id=room_id,
                room_alias=room_alias,
                timezone=timezone,
                locale=locale,
                admission_mode=admission_mode.value,
                settings=settings or {},
                created_at=self.clock.now(),
            )
            s.add(row)
            await s.flush()
            return _compound(row)

    async def update_compound(self, slug: str, **changes: Any) -> Compound:
        async with self.db.transaction() as s:
            row = await s.scalar(select(CompoundRow).where(CompoundRow.slug == slug))
            if row is None:
                raise NotFound("error.no_compound", slug=slug)
            for key, value in changes.items():
                if key == "admission_mode":
                    value = AdmissionMode(value).value
                setattr(row, key, value)
            await s.flush()
            return _compound(row)

    async def list_compounds(self) -> list[Compound]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(CompoundRow).order_by(CompoundRow.slug))).all()
        return [_compound(r) for r in rows]

    async def list_stations(self) -> list[Station]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(StationRow).order_by(StationRow.slug))).all()
        return [_station(r) for r in rows]

    async def add_grant(self, grant: StaffGrant) -> None:
        # NULLs are distinct in unique constraints, so district-wide grants are checked here.
        try:
            async with self.db.transaction() as s:
                existing = await s.scalar(
                    select(StaffRow.id).where(
                        StaffRow.user_id == grant.user_id,
                        StaffRow.role == grant.role.value,
                        StaffRow.station_id.is_(None) if grant.station_id is None
                        else StaffRow.station_id == grant.station_id,
                        StaffRow.compound_id.is_(None) if grant.compound_id is None
                        else StaffRow.compound_id == grant.compound_id,
                    )
                )
                if existing is not None:
                    raise Conflict("error.grant_exists", user=grant.user_id, role=grant.role.value)
                s.add(
                    StaffRow(
                        user_id=grant.user_id,
                        role=grant.role.value,
                        station_id=grant.station_id,
                        compound_id=grant.compound_id,
                        display_name=grant.display_name,
                        phone=grant.phone,
                        created_at=self.clock.now(),
                    )
                )
        except IntegrityError as exc:
            raise Conflict(
                "error.grant_exists", user=grant.user_id, role=grant.role.value
            ) from exc

    async def remove_grant(
        self, user_id: str, role: Role, station_id: int | None, compound_id: int | None
    ) -> bool:
        async with self.db.transaction() as s:
            result = await s.execute(
                delete(StaffRow).where(
                    StaffRow.user_id == user_id,
                    StaffRow.role == role.value,
                    StaffRow.station_id.is_(None) if station_id is None
                    else StaffRow.station_id == station_id,
                    StaffRow.compound_id.is_(None) if compound_id is None
                    else StaffRow.compound_id == compound_id,
                )
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list_grants(self) -> list[StaffGrant]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(StaffRow).order_by(StaffRow.user_id))).all()
        return [_grant(r) for r in rows]
