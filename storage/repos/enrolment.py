"""Enrolment reporting's storage: dashboard web tokens and daily enrolment snapshots."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from linli.common.clock import Clock
from linli.common.errors import NotFound
from linli.common.ids import CompoundId, StationId
from linli.enrolment.model import EnrolmentSnapshot, PrincipalKind, WebToken
from linli.storage.db import Database
from linli.storage.tables.enrolment import EnrolmentSnapshotRow, WebTokenRow
from linli.verification.model import EnrolmentFigures


def _token(row: WebTokenRow) -> WebToken:
    return WebToken(
        id=row.id,
        kind=PrincipalKind(row.role),
        station_id=StationId(row.station_id) if row.station_id is not None else None,
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _snapshot(row: EnrolmentSnapshotRow) -> EnrolmentSnapshot:
    return EnrolmentSnapshot(
        compound_id=CompoundId(row.compound_id),
        day=row.day,
        figures=EnrolmentFigures(
            households=row.households,
            households_enrolled=row.covered,
            verified_members=row.verified_members,
            pending_members=row.pending,
        ),
        taken_at=row.taken_at,
    )




class WebTokenRepository:
    """Dashboard tokens, by their hashes (implements ``enrolment.ports.TokenStore``)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def create(
        self, kind: PrincipalKind, station_id: StationId | None, label: str, token_hash: str
    ) -> WebToken:
        async with self.db.transaction() as s:
            row = WebTokenRow(
                role=kind.value,
                station_id=station_id,
                label=label,
                token_hash=token_hash,
                created_at=self.clock.now(),
            )
            s.add(row)
            await s.flush()
            return _token(row)

    async def by_hash(self, token_hash: str) -> WebToken | None:
        async with self.db.session() as s:
            row = await s.scalar(select(WebTokenRow).where(WebTokenRow.token_hash == token_hash))
        return _token(row) if row else None

    async def touch(self, token_id: int, at: datetime) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(WebTokenRow).where(WebTokenRow.id == token_id).values(last_used_at=at)
            )

    async def revoke(self, token_id: int, at: datetime) -> WebToken:
        async with self.db.transaction() as s:
            row = await s.get(WebTokenRow, token_id)
            if row is None:
                raise NotFound("error.no_token", id=token_id)
            if row.revoked_at is None:
                row.revoked_at = at
            await s.flush()
            return _token(row)

    async def list_tokens(self) -> list[WebToken]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(WebTokenRow).order_by(WebTokenRow.id))).all()
        return [_token(r) for r in rows]


class SnapshotRepository:
    """One row of enrolment figures per compound and day (implements
    ``enrolment.ports.SnapshotStore``). A row keeps the waiting members (pending and locked
    together) as ``pending``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def write(
        self,
        day: date,
        figures: Mapping[CompoundId, EnrolmentFigures],
        taken_at: datetime | None = None,
    ) -> int:
        """Insert or replace the day's row for each compound, in one statement."""
        if not figures:
            return 0
        taken_at = taken_at or self.clock.now()
        values = [
            {
                "compound_id": compound_id,
                "day": day,
                "households": f.households,
                "covered": f.households_enrolled,
                "verified_members": f.verified_members,
                "pending": f.waiting_members,
                "taken_at": taken_at,
            }
            for compound_id, f in figures.items()
        ]
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        stmt = insert(EnrolmentSnapshotRow).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["compound_id", "day"],
            set_={
                "households": stmt.excluded.households,
                "covered": stmt.excluded.covered,
                "verified_members": stmt.excluded.verified_members,
                "pending": stmt.excluded.pending,
                "taken_at": stmt.excluded.taken_at,
            },
        )
        async with self.db.transaction() as s:
            await s.execute(stmt)
        return len(values)

    async def series(
        self,
        compound_ids: Collection[int],
        start: date | None = None,
        end: date | None = None,
    ) -> dict[CompoundId, list[EnrolmentSnapshot]]:
        """Snapshots per compound, oldest day first, between ``start`` and ``end`` inclusive."""
        query = select(EnrolmentSnapshotRow).where(
            EnrolmentSnapshotRow.compound_id.in_(list(compound_ids))
        )
        if start is not None:
            query = query.where(EnrolmentSnapshotRow.day >= start)
        if end is not None:
            query = query.where(EnrolmentSnapshotRow.day <= end)
        query = query.order_by(EnrolmentSnapshotRow.compound_id, EnrolmentSnapshotRow.day)
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        out: dict[CompoundId, list[EnrolmentSnapshot]] = {
            CompoundId(c): [] for c in compound_ids
        }
        for row in rows:
            out[CompoundId(row.compound_id)].append(_snapshot(row))
        return out
