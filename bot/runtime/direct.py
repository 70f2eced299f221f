"""Direct rooms: the one the bot opens per person (marked, so it is found again and never
opened twice) and the messages it sends there."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway
from linli.bot.runtime.direct_index import DirectIndex
from linli.bot.runtime.outbox import Outbox, person_target
from linli.common.ids import EventID, RoomID, UserID
from linli.storage.repos.botstate import DirectRoomRepository

DM_MARKER = "org.linli.direct"
"""State event the bot puts in each direct room it opens, naming the person: messages in a
room whose record was lost (a crash between opening it and committing) are still placed. The
room itself is never opened twice: it is created with an alias derived from the person, and a
second creation returns the first room (see ``MatrixGateway.create_dm``)."""

DM_INVITES_PER_DAY = 3
"""Direct chats a resident may open with the bot per day (each one is joined and answered)."""

class DirectMessenger:
    """Sends direct messages, opening (and remembering) a DM room per person on first use."""

    def __init__(self, gateway: MatrixGateway, repo: DirectRoomRepository,
                 index: DirectIndex | None = None, outbox: Outbox | None = None) -> None:
        self.gateway = gateway
        self.repo = repo
        self.index = index  # the bot's m.direct, where the rooms it opens are listed
        # Inside a unit of work, a message is recorded there and sent (its room opened if
        # need be) once the unit commits: opening a room is the slowest call the bot makes.
        self.outbox = outbox
        if outbox is not None:
            outbox.register("dm", self._send_recorded)
        self.rooms: dict[str, str] = {}
        self.by_room: dict[str, UserID] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Rooms opened whose record has not been written yet (the unit of work that opened
        # them was rolled back): written by the next unit that uses them.
        self._unsaved: set[str] = set()

    async def load(self) -> None:
        self.rooms = await self.repo.all()
        self.by_room = {room: UserID(user) for user, room in self.rooms.items()}

    def user_of_room(self, room_id: str) -> UserID | None:
        return self.by_room.get(room_id)

    async def remember(self, user_id: str, room_id: str) -> None:
        """Make ``room_id`` the room the bot writes to ``user_id`` in (a direct chat the
        person opened). Messages in their earlier direct rooms are still placed."""
        if self.rooms.get(user_id) == room_id:
            return
        await self.repo.set(user_id, room_id)
        self._adopt(user_id, room_id)
        if self.index is not None:
            await self.index.add(user_id, room_id)

    async def recognise(self, user_id: str, room_id: str) -> None:
        """A direct room found by its marker (see ``DM_MARKER``): its messages are placed;
        it becomes the room the bot writes in only if the person has none yet."""
        self.by_room[room_id] = UserID(user_id)
        if user_id not in self.rooms:
            await self.remember(user_id, room_id)

    def _adopt(self, user_id: str, room_id: str) -> None:
        self.rooms[user_id] = room_id
        self.by_room[room_id] = UserID(user_id)

    async def room_for(self, user_id: str, fresh: bool = False) -> RoomID:
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(user_id)
            if room and not fresh:
                if user_id in self._unsaved:
                    await self.repo.set(user_id, room)
                    self._unsaved.discard(user_id)
                return RoomID(room)
            alias = self._alias_localpart(user_id)
            if room:  # the old room cannot be written to: its alias goes to the new one
                try:
                    await self.gateway.delete_alias(f"#{alias}:{self._server()}")
                except MatrixActionError as exc:
                    if exc.errcode != "M_NOT_FOUND":
                        raise
            new = await self.gateway.create_dm(user_id, marker=(DM_MARKER, user_id),
                                               alias_localpart=alias)
            self._adopt(user_id, new)
            self._unsaved.add(user_id)
            if self.index is not None:
                await self.index.add(user_id, new)
            await self.repo.set(user_id, new)
            self._unsaved.discard(user_id)
            return new

    def _server(self) -> str:
        return str(self.gateway.user_id).split(":", 1)[1]

    def _alias_localpart(self, user_id: str) -> str:
        """The alias that makes opening a person's direct room idempotent: derived from the
        bot and the person (a hash, so the alias does not spell out the person's id)."""
        digest = hashlib.sha256(f"{self.gateway.user_id}\x00{user_id}".encode()).hexdigest()
        return f"linli-dm-{digest[:24]}"

    async def send(self, user_id: str, body: str, html: str | None = None) -> None:
        """Message ``user_id`` in their direct room (opened on first use); inside a unit of
        work, once it commits (see ``Outbox``)."""
        if self.outbox is not None:
            await self.outbox.submit("dm", person_target(user_id),
                                     {"user": user_id, "body": body, "html": html})
        else:
            await self.send_now(user_id, body, html)

    async def _send_recorded(self, p: dict[str, Any]) -> None:
        await self.send_now(p["user"], p["body"], p.get("html"))

    async def send_now(self, user_id: str, body: str, html: str | None = None) -> EventID:
        room = await self.room_for(user_id)
        try:
            return await self.gateway.send_text(room, body, html)
        except MatrixActionError as exc:
            if not exc.permanent:
                raise
            # The person left or the room is gone: open a new one.
            room = await self.room_for(user_id, fresh=True)
            return await self.gateway.send_text(room, body, html)
