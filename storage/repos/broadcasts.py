"""Bulletins, occurrences, the delivery ledger and the scheduler lease (implements
broadcasts.ports.BroadcastStore).

Every state change that guards exactly-once delivery is a conditional UPDATE whose row count
says who won, so it holds on SQLite and PostgreSQL alike without explicit row locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from linli.broadcasts.model import (
    Bulletin,
    BulletinKind,
    Delivery,
    DeliveryState,
    Occurrence,
    OccurrenceOutcome,
    OccurrenceState,
    RoomTarget,
    Schedule,
    ScheduleKind,
    Target,
    TargetKind,
    Text,
)
from linli.common.errors import NotFound
from linli.common.ids import CompoundId, EventID, RoomID, StationId
from linli.storage.db import Database
from linli.storage.tables.broadcasts import (
    BroadcastLeaseRow,
    BulletinDeliveryRow,
    BulletinOccurrenceRow,
    BulletinRow,
)

_BATCH = 500


def _text(data: dict[str, Any]) -> Text:
    return Text(title=str(data["title"]), bodies=tuple(str(b) for b in data["bodies"]))


def _bulletin(row: BulletinRow) -> Bulletin:
    target = Target(
        kind=TargetKind(row.target_kind),
        station_id=StationId(row.target_station_id) if row.target_station_id else None,
        compound_ids=tuple(CompoundId(int(i)) for i in row.target_compound_ids or ()),
    )
    schedule = Schedule(
        kind=ScheduleKind(row.schedule_kind),
        timezone=row.timezone,
        run_at=row.run_at,
        cron=row.cron,
        interval=timedelta(seconds=row.interval_seconds) if row.interval_seconds else None,
        start_at=row.start_at,
        end_at=row.end_at,
    )
    return Bulletin(
        id=row.id,
        kind=BulletinKind(row.kind),
        text=Text(title=row.title, bodies=tuple(row.bodies)),
        translations={loc: _text(t) for loc, t in (row.translations or {}).items()},
        target=target,
        schedule=schedule,
        created_by=row.created_by,
        created_at=row.created_at,
        station_id=StationId(row.station_id) if row.station_id is not None else None,
        paused=row.paused,
        deleted=row.deleted_at is not None,
        next_at=row.next_at,
        fired_count=row.fired_count,
        mention_room=row.mention_room,
    )


def _occurrence(row: BulletinOccurrenceRow) -> Occurrence:
    return Occurrence(
        id=row.id,
        bulletin_id=row.bulletin_id,
        at=row.at,
        outcome=OccurrenceOutcome(row.outcome),
        series_index=row.series_index,
        late=row.late,
        coalesced=row.coalesced,
        state=OccurrenceState(row.state),
    )


def _delivery(row: BulletinDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        bulletin_id=row.bulletin_id,
        occurrence=row.occurrence,
        room_id=RoomID(row.room_id),
        compound_id=CompoundId(row.compound_id) if row.compound_id is not None else None,
        station_id=StationId(row.station_id) if row.station_id is not None else None,
        txn_id=row.txn_id,
        state=DeliveryState(row.state),
        event_id=EventID(row.event_id) if row.event_id else None,
        error=row.error,
        attempts=row.attempts,
        sent_at=row.sent_at,
    )


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


class BroadcastRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _insert(self, table: Any) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING in the dialect at hand."""
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        stmt: Insert = dialect.insert(table)
        return stmt

    # --- bulletins ------------------------------------------------------------------------------

    async def create_bulletin(
        self,
        *,
        kind: BulletinKind,
        text: Text,
        translations: dict[str, Text],
        target: Target,
        schedule: Schedule,
        created_by: str,
        station_id: StationId | None,
        next_at: datetime | None,
        mention_room: bool,
        now: datetime,
    ) -> Bulletin:
        async with self.db.transaction() as s:
            row = BulletinRow(
                kind=kind.value,
                title=text.title,
                bodies=list(text.bodies),
                translations={
                    loc: {"title": t.title, "bodies": list(t.bodies)}
                    for loc, t in translations.items()
                },
                target_kind=target.kind.value,
                target_station_id=target.station_id,
                target_compound_ids=[int(i) for i in target.compound_ids],
                schedule_kind=schedule.kind.value,
                timezone=schedule.timezone,
                run_at=schedule.run_at,
                cron=schedule.cron,
                interval_seconds=int(schedule.interval.total_seconds())
                if schedule.interval else None,
                start_at=schedule.start_at,
                end_at=schedule.end_at,
                station_id=station_id,
                paused=False,
                deleted_at=None,
                next_at=next_at,
                fired_count=0,
                mention_room=mention_room,
                created_by=created_by,
                created_at=now,
            )
            s.add(row)
            await s.flush()
            return _bulletin(row)

    async def get_bulletin(self, bulletin_id: int) -> Bulletin | None:
        async with self.db.session() as s:
            row = await s.get(BulletinRow, bulletin_id)
            return _bulletin(row) if row else None

    async def list_bulletins(self, station_ids: set[StationId] | None) -> list[Bulletin]:
        query = (
            select(BulletinRow)
            .where(
                BulletinRow.kind == BulletinKind.BULLETIN.value,
                BulletinRow.deleted_at.is_(None),
            )
            .order_by(BulletinRow.id)
        )
        if station_ids is not None:
            query = query.where(
                or_(BulletinRow.station_id.in_(station_ids), BulletinRow.station_id.is_(None))
            )
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        return [_bulletin(r) for r in rows]

    async def update_bulletin(
        self,
        bulletin_id: int,
        *,
        paused: bool | None = None,
        next_at: datetime | None = None,
        clear_next_at: bool = False,
        translations: dict[str, Text] | None = None,
    ) -> Bulletin:
        async with self.db.transaction() as s:
            row = await s.get(BulletinRow, bulletin_id)
            if row is None or row.deleted_at is not None:
                raise NotFound("broadcasts.error.no_bulletin", id=bulletin_id)
            if paused is not None:
                row.paused = paused
            if next_at is not None:
                row.next_at = next_at
            if clear_next_at:
                row.next_at = None
            if translations is not None:
                row.translations = {
                    loc: {"title": t.title, "bodies": list(t.bodies)}
                    for loc, t in translations.items()
                }
            await s.flush()
            return _bulletin(row)

    async def delete_bulletin(self, bulletin_id: int, now: datetime) -> None:
        async with self.db.transaction() as s:
            result = await s.execute(
                update(BulletinRow)
                .where(BulletinRow.id == bulletin_id, BulletinRow.deleted_at.is_(None))
                .values(deleted_at=now, next_at=None)
            )
            if not _rowcount(result):
                raise NotFound("broadcasts.error.no_bulletin", id=bulletin_id)
            await s.execute(
                update(BulletinDeliveryRow)
                .where(
                    BulletinDeliveryRow.bulletin_id == bulletin_id,
                    BulletinDeliveryRow.state == DeliveryState.PENDING.value,
                )
                .values(state=DeliveryState.SKIPPED.value, error="deleted", updated_at=now)
            )

    def _due_filter(self) -> list[Any]:
        return [
            BulletinRow.next_at.is_not(None),
            BulletinRow.paused.is_(False),
            BulletinRow.deleted_at.is_(None),
        ]

    async def due_bulletins(self, now: datetime, limit: int) -> list[Bulletin]:
        query = (
            select(BulletinRow)
            .where(*self._due_filter(), BulletinRow.next_at <= now)
            .order_by(BulletinRow.next_at, BulletinRow.id)
            .limit(limit)
        )
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        return [_bulletin(r) for r in rows]

    async def next_wakeup(self) -> datetime | None:
        async with self.db.session() as s:
            return await s.scalar(
                select(func.min(BulletinRow.next_at)).where(*self._due_filter())
            )

    # --- occurrences ----------------------------------------------------------------------------

    async def fire(
        self,
        bulletin_id: int,
        *,
        expected_next_at: datetime,
        new_next_at: datetime | None,
        at: datetime,
        outcome: OccurrenceOutcome,
        late: bool,
        coalesced: int,
        now: datetime,
    ) -> Occurrence | None:
        fired = outcome is OccurrenceOutcome.FIRED
        try:
            async with self.db.transaction() as s:
                result = await s.execute(
                    update(BulletinRow)
                    .where(
                        BulletinRow.id == bulletin_id,
                        BulletinRow.next_at == expected_next_at,
                        BulletinRow.paused.is_(False),
                        BulletinRow.deleted_at.is_(None),
                    )
                    .values(
                        next_at=new_next_at,
                        fired_count=BulletinRow.fired_count + (1 if fired else 0),
                    )
                )
                if not _rowcount(result):
                    return None
                count = await s.scalar(
                    select(BulletinRow.fired_count).where(BulletinRow.id == bulletin_id)
                )
                row = BulletinOccurrenceRow(
                    bulletin_id=bulletin_id,
                    at=at,
                    outcome=outcome.value,
                    series_index=max(0, int(count or 0) - (1 if fired else 0)),
                    late=late,
                    coalesced=coalesced,
                    state=OccurrenceState.OPEN.value,
                    created_at=now,
                )
                s.add(row)
                await s.flush()
                return _occurrence(row)
        except IntegrityError:
            return None  # the same instant was decided before: nothing to do twice

    async def create_notice_occurrence(
        self, bulletin_id: int, at: datetime, now: datetime
    ) -> Occurrence:
        async with self.db.transaction() as s:
            row = BulletinOccurrenceRow(
                bulletin_id=bulletin_id,
                at=at,
                outcome=OccurrenceOutcome.FIRED.value,
                series_index=0,
                late=False,
                coalesced=0,
                state=OccurrenceState.OPEN.value,
                created_at=now,
            )
            s.add(row)
            await s.execute(
                update(BulletinRow)
                .where(BulletinRow.id == bulletin_id)
                .values(fired_count=BulletinRow.fired_count + 1)
            )
            await s.flush()
            return _occurrence(row)

    async def open_occurrences(self, limit: int) -> list[Occurrence]:
        query = (
            select(BulletinOccurrenceRow)
            .where(BulletinOccurrenceRow.state == OccurrenceState.OPEN.value)
            .order_by(BulletinOccurrenceRow.id)
            .limit(limit)
        )
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        return [_occurrence(r) for r in rows]

    async def complete_occurrence(self, occurrence_id: int, now: datetime) -> bool:
        async with self.db.transaction() as s:
            result = await s.execute(
                update(BulletinOccurrenceRow)
                .where(
                    BulletinOccurrenceRow.id == occurrence_id,
                    BulletinOccurrenceRow.state == OccurrenceState.OPEN.value,
                )
                .values(state=OccurrenceState.DONE.value, completed_at=now)
            )
        return _rowcount(result) == 1

    async def occurrences(self, bulletin_id: int) -> list[Occurrence]:
        """Every decided occurrence of a bulletin, oldest first (for reports and tests)."""
        query = (
            select(BulletinOccurrenceRow)
            .where(BulletinOccurrenceRow.bulletin_id == bulletin_id)
            .order_by(BulletinOccurrenceRow.at)
        )
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        return [_occurrence(r) for r in rows]

    # --- the ledger -----------------------------------------------------------------------------

    async def create_deliveries(
        self,
        bulletin_id: int,
        occurrence: datetime,
        rooms: Sequence[tuple[RoomTarget, str]],
        now: datetime,
    ) -> None:
        if not rooms:
            return
        values = [
            {
                "bulletin_id": bulletin_id,
                "occurrence": occurrence,
                "room_id": room.room_id,
                "compound_id": room.compound_id,
                "station_id": room.station_id,
                "txn_id": txn,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for room, txn in rooms
        ]
        async with self.db.transaction() as s:
            for start in range(0, len(values), _BATCH):
                stmt = self._insert(BulletinDeliveryRow).on_conflict_do_nothing()
                await s.execute(stmt, values[start:start + _BATCH])

    async def deliveries(self, bulletin_id: int, occurrence: datetime) -> list[Delivery]:
        query = (
            select(BulletinDeliveryRow)
            .where(
                BulletinDeliveryRow.bulletin_id == bulletin_id,
                BulletinDeliveryRow.occurrence == occurrence,
            )
            .order_by(BulletinDeliveryRow.id)
        )
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        return [_delivery(r) for r in rows]

    async def delivery_counts(self) -> dict[DeliveryState, int]:
        """Ledger rows per state, in one grouped query (for the metrics endpoint)."""
        query = select(BulletinDeliveryRow.state, func.count()).group_by(
            BulletinDeliveryRow.state
        )
        async with self.db.session() as s:
            rows = (await s.execute(query)).all()
        counts = dict.fromkeys(DeliveryState, 0)
        for state, count in rows:
            counts[DeliveryState(state)] = int(count)
        return counts

    async def claim(self, delivery_id: int, owner: str, until: datetime, now: datetime) -> bool:
        async with self.db.transaction() as s:
            result = await s.execute(
                update(BulletinDeliveryRow)
                .where(
                    BulletinDeliveryRow.id == delivery_id,
                    BulletinDeliveryRow.state == DeliveryState.PENDING.value,
                    or_(
                        BulletinDeliveryRow.claimed_by.is_(None),
                        BulletinDeliveryRow.claimed_by == owner,
                        BulletinDeliveryRow.claimed_until < now,
                    ),
                )
                .values(
                    claimed_by=owner,
                    claimed_until=until,
                    attempts=BulletinDeliveryRow.attempts + 1,
                    updated_at=now,
                )
            )
        return _rowcount(result) == 1

    async def mark_delivered(self, delivery_id: int, event_id: EventID, now: datetime) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(BulletinDeliveryRow)
                .where(BulletinDeliveryRow.id == delivery_id)
                .values(
                    state=DeliveryState.DELIVERED.value,
                    event_id=event_id,
                    error=None,
                    sent_at=now,
                    updated_at=now,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    async def mark_failed(self, delivery_id: int, error: str, now: datetime) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(BulletinDeliveryRow)
                .where(
                    BulletinDeliveryRow.id == delivery_id,
                    BulletinDeliveryRow.state == DeliveryState.PENDING.value,
                )
                .values(
                    state=DeliveryState.FAILED.value,
                    error=error[:200],
                    updated_at=now,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    # --- the lease ------------------------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, until: datetime, now: datetime) -> bool:
        async with self.db.transaction() as s:
            result = await s.execute(
                update(BroadcastLeaseRow)
                .where(
                    BroadcastLeaseRow.name == name,
                    or_(BroadcastLeaseRow.owner == owner, BroadcastLeaseRow.expires_at < now),
                )
                .values(owner=owner, expires_at=until)
            )
            if _rowcount(result):
                return True
            inserted = await s.execute(
                self._insert(BroadcastLeaseRow)
                .values(name=name, owner=owner, expires_at=until)
                .on_conflict_do_nothing()
            )
            return _rowcount(inserted) == 1

    async def release_lease(self, name: str, owner: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                delete(BroadcastLeaseRow).where(
                    BroadcastLeaseRow.name == name, BroadcastLeaseRow.owner == owner
                )
            )
