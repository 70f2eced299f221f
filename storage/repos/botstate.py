"""The bot's own state: sync token, device id, and the ledger of handled event ids."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from linli.common.clock import Clock
from linli.storage.db import Database
from linli.storage.tables.core import BotStateRow, HandledEventRow


class BotStateRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def get(self, key: str) -> str | None:
        async with self.db.session() as s:
            row = await s.get(BotStateRow, key)
            return row.value if row else None

    async def set(self, key: str, value: str) -> None:
        async with self.db.transaction() as s:
            row = await s.get(BotStateRow, key)
            if row is None:
                s.add(BotStateRow(key=key, value=value, updated_at=self.clock.now()))
            else:
                row.value = value
                row.updated_at = self.clock.now()

    async def done_events(self, event_ids: Iterable[str]) -> builtins.set[str]:
        """Which of these event ids are handled already: one query per sync batch (per 500
        ids), whatever its size."""
        ids = list(dict.fromkeys(event_ids))
        done: builtins.set[str] = builtins.set()  # ``set`` is a method of this class
        async with self.db.session() as s:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                done.update((await s.scalars(
                    select(HandledEventRow.event_id).where(HandledEventRow.event_id.in_(chunk))
                )).all())
        return done

    async def mark_done(self, event_id: str) -> None:
        """Record an event as handled. Called inside the event's unit of work, so the mark
        commits with the decisions the event caused, and only after its effects were
        carried out."""
        # One INSERT that ignores an existing mark (no look-up first, and inside the unit no
        # savepoint of its own: it is the unit's last statement, committed or rolled back
        # with everything the event caused).
        # On the table, not the mapped class, and on the connection: a plain Core insert
        # (the ORM's bulk-insert path costs more than the statement itself).
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        stmt = dialect.insert(HandledEventRow.__table__).values(
            event_id=event_id, handled_at=self.clock.now()
        ).on_conflict_do_nothing()
        if self.db.current_unit() is not None:
            async with self.db.session() as s:
                await (await s.connection()).execute(stmt)
            return
        async with self.db.transaction() as s:
            await (await s.connection()).execute(stmt)

    async def prune_events(self, older_than: timedelta) -> int:
        async with self.db.transaction() as s:
            result = await s.execute(
                delete(HandledEventRow).where(
                    HandledEventRow.handled_at < self.clock.now() - older_than
                )
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class DirectRoomRepository:
    """Which room is the bot's DM with which person; loaded whole at start (one row per
    person who ever talked to the bot), kept in memory by the edge."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def all(self) -> dict[str, str]:
        from linli.storage.tables.core import DirectRoomRow

        # Two columns as plain rows, streamed in chunks: no ORM objects in the session's
        # identity map (at 300,000 people these took some 400 MiB at start).
        rooms: dict[str, str] = {}
        async with self.db.session() as s:
            result = await s.stream(
                select(DirectRoomRow.user_id, DirectRoomRow.room_id)
                .execution_options(yield_per=5000)
            )
            async for chunk in result.partitions():
                rooms.update(chunk)  # type: ignore[arg-type]
        return rooms

    async def set(self, user_id: str, room_id: str) -> None:
        from linli.storage.tables.core import DirectRoomRow

        # Another process may record the same room at the same moment (it found the room by
        # its marker in its sync): an upsert, not delete-then-insert, which would meet the
        # other's committed row on insert and fail.
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        insert = dialect.insert(DirectRoomRow.__table__).values(
            user_id=user_id, room_id=room_id, created_at=self.clock.now()
        ).on_conflict_do_nothing()  # any unique key: the person's or the room's
        async with self.db.transaction() as s:
            # A room recorded for someone else before (it cannot be theirs and this person's).
            await s.execute(delete(DirectRoomRow).where(
                (DirectRoomRow.room_id == room_id) & (DirectRoomRow.user_id != user_id)
            ))
            await s.execute(insert)
            # The person had another room: this one replaces it.
            await s.execute(update(DirectRoomRow).where(
                (DirectRoomRow.user_id == user_id) & (DirectRoomRow.room_id != room_id)
            ).values(room_id=room_id, created_at=self.clock.now()))
