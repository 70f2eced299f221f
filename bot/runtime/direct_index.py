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
    already writes nothing. One write at a time in this process."""

    def __init__(self, gateway: MatrixGateway) -> None:
        self.gateway = gateway
        self._lock = asyncio.Lock()
        self._known: set[tuple[str, str]] = set()

    async def add(self, user_id: str, room_id: str) -> None:
        if (user_id, room_id) in self._known:
            return
        async with self._lock:
            try:
                await self._add(user_id, room_id)
            except MatrixActionError as exc:
                # Only how clients list the room: never worth holding a message back for.
                log.warning("could not record the direct room %s of %s in m.direct: %s",
                            room_id, user_id, exc.errcode or exc.message)

    async def _add(self, user_id: str, room_id: str) -> None:
        content = await self.gateway.account_data(M_DIRECT)
        rooms = content.get(user_id)
        rooms = [r for r in rooms if isinstance(r, str)] if isinstance(rooms, list) else []
        if room_id not in rooms:
            content[user_id] = [*rooms, room_id]
            await self.gateway.put_account_data(M_DIRECT, content)
            log.info("recorded the direct room %s of %s in m.direct", room_id, user_id)
        self._known.add((user_id, room_id))
