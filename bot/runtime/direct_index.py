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
    already writes nothing.

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

    async def add(self, user_id: str, room_id: str) -> None:
        if (user_id, room_id) in self._known:
            return
        # Only how clients list the room: never worth holding a message back for. A room
        # not recorded is tried again the next time it is added.
        locked = False
        async with self._lock:
            try:
                async with self.exclusive():
                    locked = True
                    await self._add(user_id, room_id)
            except MatrixActionError as exc:
                log.warning("could not record the direct room %s of %s in m.direct: %s",
                            room_id, user_id, exc.errcode or exc.message)
            except Exception as exc:
                if locked:
                    raise
                log.warning("could not record the direct room %s of %s in m.direct: the "
                            "lock of its writers was not available (%s)", room_id, user_id,
                            type(exc).__name__)

    async def _add(self, user_id: str, room_id: str) -> None:
        content = await self.gateway.account_data(M_DIRECT)
        rooms = content.get(user_id)
        rooms = [r for r in rooms if isinstance(r, str)] if isinstance(rooms, list) else []
        if room_id not in rooms:
            content[user_id] = [*rooms, room_id]
            await self.gateway.put_account_data(M_DIRECT, content)
            log.info("recorded the direct room %s of %s in m.direct", room_id, user_id)
        self._known.add((user_id, room_id))
