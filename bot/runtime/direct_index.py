"""The bot's ``m.direct`` account data: which of its rooms are direct chats with whom, so that
clients (Element) show the bot's direct rooms as direct messages."""

from __future__ import annotations

import asyncio
import logging

from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway

log = logging.getLogger(__name__)

M_DIRECT = "m.direct"


class DirectIndex:
    """Adds rooms to ``m.direct`` (user id -> [room ids]) by read-modify-write, merged with what
    is there (rooms a client or another process recorded stay); adding a room that is listed
    already writes nothing. One write at a time in this process, and one write for all the
    rooms added meanwhile: a hundred residents joining at once cost a couple of writes, not a
    hundred writes one behind the other (each prompt waited for the writes before it)."""

    def __init__(self, gateway: MatrixGateway) -> None:
        self.gateway = gateway
        self._lock = asyncio.Lock()
        self._known: set[tuple[str, str]] = set()
        self._pending: dict[tuple[str, str], None] = {}  # in the order they were added

    async def add(self, user_id: str, room_id: str) -> None:
        entry = (user_id, room_id)
        if entry in self._known:
            return
        self._pending[entry] = None
        async with self._lock:
            if entry not in self._pending:
                return  # written (or refused) with the rooms of the write before
            batch = list(self._pending)
            self._pending.clear()
            try:
                await self._add(batch)
            except MatrixActionError as exc:
                # Only how clients list the room: never worth holding a message back for.
                log.warning("could not record %d direct rooms in m.direct: %s", len(batch),
                            exc.errcode or exc.message)

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
