"""Restrictions, warnings, web tokens and enrolment snapshots."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from linli.common.clock import Clock
from linli.common.errors import NotFound
from linli.common.ids import CompoundId, RoomID, StationId, UserID
from linli.moderation.model import Restriction, RestrictionKind, WarningRecord
from linli.moderation.snapshots import EnrolmentFigures, EnrolmentSnapshot
from linli.moderation.tokens import PrincipalKind, WebToken
from linli.storage.db import Database
from linli.storage.tables.moderation import (
    EnrolmentSnapshotRow,
    RestrictionRow,
    WarningRow,
    WebTokenRow,
)


def _restriction(row: RestrictionRow) -> Restriction:
    return Restriction(
        id=row.id,
        compound_id=CompoundId(row.compound_id),
        room_id=RoomID(row.room_id),
        user_id=UserID(row.user_id),
        kind=RestrictionKind(row.kind),
        imposed_by=UserID(row.imposed_by),
        reason=row.reason,
        imposed_at=row.imposed_at,
        ends_at=row.ends_at,
        previous_level=row.previous_level,
        muted_level=row.muted_level,
        lifted_at=row.lifted_at,
        lifted_by=row.lifted_by,
    )


def _warning(row: WarningRow) -> WarningRecord:
    return WarningRecord(
        id=row.id,
        compound_id=CompoundId(row.compound_id),
        user_id=UserID(row.user_id),
        actor=UserID(row.actor),
        reason=row.reason,
        at=row.at,
        escalated_at=row.escalated_at,
    )


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
            covered=row.covered,
            verified_members=row.verified_members,
            pending=row.pending,
        ),
        taken_at=row.taken_at,
    )


class ModerationRepository:
    """Restrictions the bot imposed and the warnings officers gave; implements
    ``moderation.ports.ModerationStore``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def add_restriction(
        self,
        *,
        compound_id: CompoundId,
        room_id: RoomID,
        user_id: UserID,
        kind: RestrictionKind,
        imposed_by: UserID,
        reason: str,
        ends_at: datetime | None = None,
        previous_level: int | None = None,
        muted_level: int | None = None,
        escalate_warnings: Collection[int] = (),
    ) -> Restriction:
        """Store a new restriction; ``escalate_warnings`` marks those warnings as used up by
        it in the same transaction."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = RestrictionRow(
                compound_id=compound_id,
                room_id=room_id,
                user_id=user_id,
                kind=kind.value,
                imposed_by=imposed_by,
                reason=reason,
                imposed_at=now,
                ends_at=ends_at,
                previous_level=previous_level,
                muted_level=muted_level,
            )
            s.add(row)
            if escalate_warnings:
                await s.execute(
                    update(WarningRow)
                    .where(WarningRow.id.in_(list(escalate_warnings)))
                    .values(escalated_at=now)
                )
            await s.flush()
            return _restriction(row)

    async def active(
        self, room_id: str, user_id: str, kind: RestrictionKind
    ) -> Restriction | None:
        query = (
            select(RestrictionRow)
            .where(
                RestrictionRow.room_id == room_id,
                RestrictionRow.user_id == user_id,
                RestrictionRow.kind == kind.value,
                RestrictionRow.lifted_at.is_(None),
            )
            .order_by(RestrictionRow.id.desc())
            .limit(1)
        )
        async with self.db.session() as s:
            row = await s.scalar(query)
        return _restriction(row) if row else None

    async def active_in_compounds(
        self, compound_ids: Collection[int], kind: RestrictionKind | None = None
    ) -> list[Restriction]:
        query = select(RestrictionRow).where(
            RestrictionRow.compound_id.in_(list(compound_ids)),
            RestrictionRow.lifted_at.is_(None),
        )
        if kind is not None:
            query = query.where(RestrictionRow.kind == kind.value)
        async with self.db.session() as s:
            rows = (await s.scalars(query.order_by(RestrictionRow.id))).all()
        return [_restriction(r) for r in rows]

    async def count_active(self) -> dict[RestrictionKind, int]:
        """Active restrictions by kind, in one query (for metrics)."""
        query = (
            select(RestrictionRow.kind, func.count())
            .where(RestrictionRow.lifted_at.is_(None))
            .group_by(RestrictionRow.kind)
        )
        async with self.db.session() as s:
            rows = (await s.execute(query)).all()
        counts = dict.fromkeys(RestrictionKind, 0)
        for kind, count in rows:
            counts[RestrictionKind(kind)] = int(count)
        return counts

    async def change_end(self, restriction_id: int, ends_at: datetime, reason: str) -> bool:
        """Move the end of a restriction still in force; False if it was lifted meanwhile."""
        async with self.db.transaction() as s:
            result = await s.execute(
                update(RestrictionRow)
                .where(RestrictionRow.id == restriction_id, RestrictionRow.lifted_at.is_(None))
                .values(ends_at=ends_at, reason=reason)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def lift(self, restriction_id: int, lifted_by: str) -> Restriction | None:
        """Mark lifted, unless someone already did; None then (so nobody lifts it twice)."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            result = await s.execute(
                update(RestrictionRow)
                .where(RestrictionRow.id == restriction_id, RestrictionRow.lifted_at.is_(None))
                .values(lifted_at=now, lifted_by=lifted_by)
                .returning(RestrictionRow.id)
            )
            if result.scalar_one_or_none() is None:
                return None
            row = await s.get(RestrictionRow, restriction_id, populate_existing=True)
            return _restriction(row) if row else None

    async def claim_due(
        self,
        now: datetime,
        lifted_by: str,
        limit: int = 500,
        compound_ids: Collection[int] | None = None,
    ) -> list[Restriction]:
        """Mark timed restrictions that ended by ``now`` as lifted and return them. The
        conditional update means each is handed out once, even to two callers at a time."""
        query = (
            select(RestrictionRow.id)
            .where(RestrictionRow.ends_at <= now, RestrictionRow.lifted_at.is_(None))
            .order_by(RestrictionRow.ends_at, RestrictionRow.id)
            .limit(limit)
        )
        if compound_ids is not None:
            query = query.where(RestrictionRow.compound_id.in_(list(compound_ids)))
        async with self.db.transaction() as s:
            ids = list((await s.scalars(query)).all())
            if not ids:
                return []
            claimed = (
                await s.scalars(
                    update(RestrictionRow)
                    .where(RestrictionRow.id.in_(ids), RestrictionRow.lifted_at.is_(None))
                    .values(lifted_at=now, lifted_by=lifted_by)
                    .returning(RestrictionRow.id)
                )
            ).all()
            if not claimed:
                return []
            rows = (
                await s.scalars(
                    select(RestrictionRow)
                    .where(RestrictionRow.id.in_(list(claimed)))
                    .order_by(RestrictionRow.ends_at, RestrictionRow.id)
                    .execution_options(populate_existing=True)
                )
            ).all()
            return [_restriction(r) for r in rows]

    async def add_warning(
        self, compound_id: CompoundId, user_id: UserID, actor: UserID, reason: str
    ) -> WarningRecord:
        async with self.db.transaction() as s:
            row = WarningRow(
                compound_id=compound_id,
                user_id=user_id,
                actor=actor,
                reason=reason,
                at=self.clock.now(),
            )
            s.add(row)
            await s.flush()
            return _warning(row)

    async def open_warnings(
        self, compound_id: CompoundId, user_id: str, since: datetime
    ) -> list[WarningRecord]:
        """Warnings given after ``since`` that have not yet led to a mute, oldest first."""
        query = (
            select(WarningRow)
            .where(
                WarningRow.compound_id == compound_id,
                WarningRow.user_id == user_id,
                WarningRow.at > since,
                WarningRow.escalated_at.is_(None),
            )
            .order_by(WarningRow.at, WarningRow.id)
        )
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        return [_warning(r) for r in rows]


class WebTokenRepository:
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
    """One row of enrolment figures per compound and day."""

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
                "covered": f.covered,
                "verified_members": f.verified_members,
                "pending": f.pending,
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
