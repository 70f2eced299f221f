"""The bot's ``m.direct`` account data: which of its rooms are direct chats with whom, so that
clients (Element) show the bot's direct rooms as direct messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway

log = logging.getLogger(__name__)

M_DIRECT = "m.direct"
M_DIRECT_LOCK = "linli:m.direct"  # the advisory lock of every process's writes (storage/db.py)


class DirectIndex:
    """Adds rooms to ``m.direct`` (user id -> [room ids]) by read-modify-write, merged with what
    is there (rooms a client or another process recorded stay); adding a room that is listed
    already writes nothing. One write at a time, and one write for all the rooms added
    meanwhile: a hundred residents joining at once cost a couple of writes, not a hundred
    writes one behind the other (each prompt waited for the writes before it).

    The account data is one object rewritten whole, so two writers that both read before
    either writes would drop one's room. Writes take turns: in this process on an asyncio
    lock, across processes on ``exclusive`` (``Database.advisory_lock``: PostgreSQL's
    advisory lock, nothing on SQLite's single process), taken after the process's own lock
    so a process waits on the database with one connection at most."""

    def __init__(
        self, gateway: MatrixGateway,
        exclusive: Callable[[], AbstractAsyncContextManager[object]] | None = None,
    ) -> None:
        self.gateway = gateway
        self.exclusive = exclusive or contextlib.nullcontext
        self._lock = asyncio.Lock()
        self._known: set[tuple[str, str]] = set()
        self._pending: dict[tuple[str, str], None] = {}  # in the order they were added

    async def add(self, user_id: str, room_id: str) -> None:
        entry = (user_id, room_id)
        if entry in self._known:
            return
        self._pending[entry] = None
        # Only how clients list the room: never worth holding a message back for. A room
        # not recorded is tried again the next time it is added.
        locked = False
        async with self._lock:
            if entry not in self._pending:
                return  # written (or refused) with the rooms of the write before
            batch = list(self._pending)
            self._pending.clear()
            try:
                async with self.exclusive():
                    locked = True
                    await self._add(batch)
            except MatrixActionError as exc:
                log.warning("could not record %d direct rooms in m.direct: %s", len(batch),
                            exc.errcode or exc.message)
            except Exception as exc:
                if locked:
                    raise
                log.warning("could not record %d direct rooms in m.direct: the lock of its "
                            "writers was not available (%s)", len(batch), type(exc).__name__)

    async def _add(self, batch: list[tuple[str, str]]) -> None:
        content = await self.gateway.account_data(M_DIRECT)
        missing = 0
        for user_id, room_id in batch:
            rooms = content.get(user_id)
            rooms = [r for r in rooms if isinstance(r, str)] if isinstance(rooms, list) else []
            if room_id not in rooms:
                content[user_id] = [*rooms, room_id]
                missing += 1
        if missing:
            await self.gateway.put_account_data(M_DIRECT, content)
            log.info("recorded %d direct rooms in m.direct", missing)
        self._known.update(batch)
