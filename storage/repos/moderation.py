"""Restrictions and warnings."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, update

from linli.common.clock import Clock
from linli.common.ids import CompoundId, RoomID, UserID
from linli.moderation.model import Restriction, RestrictionKind, WarningRecord
from linli.storage.db import Database
from linli.storage.tables.moderation import RestrictionRow, WarningRow


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
            # One statement whatever the number of compounds (an expanding bind parameter).
            query = query.where(RestrictionRow.compound_id.in_(list(compound_ids)))
        if self.db.current_unit() is not None:
            # In the periodic work's unit of work: restrictions another process's tick
            # claimed and has not committed yet (a compound handed over mid-tick) are left
            # to it rather than waited for; the conditional update below hands each out once.
            query = query.with_for_update(skip_locked=True)
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
