"""The audit table: who did what to whom, why and when."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from linli.common.clock import Clock
from linli.common.ports import AuditEntry
from linli.storage.db import Database
from linli.storage.tables.core import AuditRow

__all__ = ["AuditEntry", "AuditRepository"]


class AuditRepository:
    """Implements ``common.ports.AuditLog``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def record(self, entry: AuditEntry) -> None:
        await self.record_all([entry])

    async def record_all(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        now = self.clock.now()
        rows = [
            {
                "at": entry.at or now,
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "station_id": entry.station_id,
                "compound_id": entry.compound_id,
                "details": entry.details,
            }
            for entry in entries
        ]
        async with self.db.transaction() as s:
            await s.execute(insert(AuditRow), rows)  # one batch, not one INSERT per entry

    async def recent(
        self,
        limit: int = 100,
        station_ids: set[int] | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        if station_ids is not None:
            query = query.where(AuditRow.station_id.in_(station_ids))
        if action is not None:
            query = query.where(AuditRow.action == action)
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        return [
            AuditEntry(
                id=r.id, at=r.at, actor=r.actor, action=r.action, target=r.target,
                station_id=r.station_id, compound_id=r.compound_id, details=dict(r.details),
            )
            for r in rows
        ]
