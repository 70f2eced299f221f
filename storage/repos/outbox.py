"""Effects waiting to be carried out (bot/runtime/outbox.py): recorded in the unit of work
that decided them, read back in order per target, removed once done. Payloads are encrypted:
they hold what a person is told (names, flats)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from linli.common.clock import Clock
from linli.common.crypto import DataProtector
from linli.storage.db import Database
from linli.storage.tables.outbox import PendingEffectRow


@dataclass(frozen=True)
class PendingEffect:
    id: int
    target: str
    kind: str
    cause: str
    payload: dict[str, Any]
    attempts: int


class OutboxRepository:
    def __init__(self, db: Database, clock: Clock, protector: DataProtector) -> None:
        self.db = db
        self.clock = clock
        self.protector = protector

    async def add(self, target: str, kind: str, cause: str, payload: dict[str, Any]) -> None:
        """Record an effect; inside a unit of work, with it (one INSERT, no savepoint)."""
        now = self.clock.now()
        stmt = insert(PendingEffectRow.__table__).values(
            target=target, kind=kind, cause=cause, attempts=0, created_at=now, next_try_at=now,
            payload=self.protector.encrypt(json.dumps(payload, ensure_ascii=False)),
        )
        if self.db.current_unit() is not None:
            async with self.db.session() as s:
                await (await s.connection()).execute(stmt)
            return
        async with self.db.transaction() as s:
            await (await s.connection()).execute(stmt)

    async def pending(self, target: str) -> list[PendingEffect]:
        """The target's effects, oldest first."""
        async with self.db.session() as s:
            rows = (await s.execute(
                select(PendingEffectRow).where(PendingEffectRow.target == target)
                .order_by(PendingEffectRow.id)
            )).scalars().all()
            return [self._effect(r) for r in rows]

    async def due_targets(self, now: datetime, limit: int = 500) -> list[str]:
        """Targets with an effect due again (after a failure, or left by a crash)."""
        async with self.db.session() as s:
            return list((await s.scalars(
                select(PendingEffectRow.target).where(PendingEffectRow.next_try_at <= now)
                .group_by(PendingEffectRow.target).order_by(func.min(PendingEffectRow.id))
                .limit(limit)
            )).all())

    async def remove(self, effect_id: int) -> None:
        async with self.db.transaction() as s:
            await s.execute(delete(PendingEffectRow).where(PendingEffectRow.id == effect_id))

    async def postpone(self, effect_id: int, until: datetime) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(PendingEffectRow).where(PendingEffectRow.id == effect_id)
                .values(attempts=PendingEffectRow.attempts + 1, next_try_at=until)
            )

    async def count(self) -> int:
        async with self.db.session() as s:
            return int(await s.scalar(select(func.count()).select_from(PendingEffectRow)) or 0)

    def _effect(self, row: PendingEffectRow) -> PendingEffect:
        return PendingEffect(row.id, row.target, row.kind, row.cause,
                             dict(json.loads(self.protector.decrypt(row.payload))), row.attempts)
