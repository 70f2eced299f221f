"""The rooms the bot is in: managed rooms joined at start and when the directory adds them,
invitations (from staff; direct chats from residents), rooms the bot lost, and direct rooms
recognised by their marker."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from nio import (
    InviteMemberEvent,
    SyncResponse,
)

from linli.bot.cluster import Ownership
from linli.bot.matrix.gateway import (
    MatrixActionError,
    MatrixGateway,
    Unreachable,
    effect_cause,
    is_transient,
)
from linli.bot.runtime.direct import DM_INVITES_PER_DAY, DM_MARKER, DirectMessenger
from linli.bot.runtime.env import DirectoryHolder
from linli.common.clock import Clock
from linli.common.i18n import Translator
from linli.common.ids import CompoundId, UserID
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository

log = logging.getLogger(__name__)


ADOPTION_KEY = "adopt:{room}"
"""Bot state naming a room that ``linli compound adopt`` waits to be invited to (the value is
when it stops waiting, ISO 8601): a running bot leaves that room's invitation for the command
instead of refusing it as one from someone who is not staff."""


class RoomKeeping:
    """Joining, invitations, leaves and direct-room markers."""

    # Set up by ``Bot.__init__``; shared by the parts of the runtime.
    clock: Clock
    db: Database
    directory: DirectoryHolder
    dms: DirectMessenger
    gateway: MatrixGateway
    joined_rooms: set[str]
    ownership: Ownership
    translator: Translator
    _dm_invites: dict[str, list[float]]
    state: BotStateRepository
    resident_home: Callable[[UserID], Awaitable[CompoundId | None]] | None

    async def ensure_joined(self) -> None:
        """Join every managed room the bot is not in; say clearly which cannot be reached."""
        joined = await self.gateway.client.joined_rooms()
        if hasattr(joined, "rooms"):
            self.joined_rooms = set(joined.rooms)
        for room_id in sorted(self.directory.current.managed_room_ids() - self.joined_rooms):
            compound = self.directory.current.compound_by_room(room_id)
            what = f"compound {compound.slug}" if compound else "officers' room"
            try:
                await self.gateway.join(room_id)
                self.joined_rooms.add(room_id)
                log.info("joined %s of %s", room_id, what)
            except MatrixActionError as exc:
                if isinstance(exc, Unreachable):
                    raise  # the homeserver, not the room: the connection is tried again
                log.warning(
                    "cannot reach room %s of %s: %s (invite the bot or check the room id)",
                    room_id, what, exc.errcode or exc.message,
                )

    def _note_joined(self, response: SyncResponse) -> None:
        self.joined_rooms.update(response.rooms.join.keys())
        for room_id in response.rooms.leave:
            self.joined_rooms.discard(room_id)

    async def _note_direct_room(self, room_id: str, events: Sequence[Any]) -> None:
        """A direct room the bot opened carries its person in a marker state event: learn it
        from the sync, so an event that arrives in it is placed even if the record of the
        room was lost (or written by another process)."""
        if self.dms.user_of_room(room_id) is not None:
            return
        for ev in events:
            source = getattr(ev, "source", None) or {}
            if (source.get("type") == DM_MARKER and source.get("sender") == self.gateway.user_id
                    and source.get("state_key") == ""):
                user = (source.get("content") or {}).get("user_id")
                if isinstance(user, str) and user:
                    async with self.db.unit_of_work():
                        await self.dms.recognise(user, room_id)
                    log.info("found the direct room %s of %s by its marker", room_id, user)
                return

    async def _handle_invites(self, response: SyncResponse) -> None:
        me = self.gateway.user_id
        for room_id, info in response.rooms.invite.items():
            inviter, is_direct = None, False
            for ev in info.invite_state:
                if (isinstance(ev, InviteMemberEvent) and ev.state_key == me
                        and ev.membership == "invite"):
                    inviter = ev.sender
                    is_direct = (ev.content or {}).get("is_direct") is True
            if inviter is None or not await self.ownership.owns_invite(inviter):
                continue
            directory = self.directory.current
            if not (directory.may_invite_bot(inviter) or room_id in directory.managed_room_ids()):
                # The inviter may have been made staff since the last refresh: invitations are
                # rare, so look again before refusing.
                directory = await self.directory.reload()
            if directory.may_invite_bot(inviter) or room_id in directory.managed_room_ids():
                try:
                    await self.gateway.join(room_id)
                    self.joined_rooms.add(room_id)
                    log.info("joined %s on the invitation of %s", room_id, inviter)
                except MatrixActionError as exc:
                    if isinstance(exc, Unreachable):
                        raise  # the homeserver away: the batch is handled again
                    log.warning("could not join %s: %s", room_id, exc)
            elif await self._adoption_expected(room_id):
                log.info("left the invitation to %s from %s for linli compound adopt",
                         room_id, inviter)
            elif is_direct and await self._resident_direct_chat(room_id, UserID(inviter)):
                continue
            else:
                log.info("refused an invitation to %s from %s, who is not staff", room_id, inviter)
                try:
                    await self.gateway.leave(room_id)
                except MatrixActionError as exc:
                    if isinstance(exc, Unreachable):
                        raise
                    log.warning("could not refuse the invitation to %s: %s", room_id, exc)

    async def _adoption_expected(self, room_id: str) -> bool:
        """``linli compound adopt`` is waiting to be invited to this room (see
        ``ADOPTION_KEY``): the command joins it, the bot neither joins nor refuses."""
        until = await self.state.get(ADOPTION_KEY.format(room=room_id))
        if not until:
            return False
        try:
            return datetime.fromisoformat(until) > self.clock.now()
        except ValueError:
            return False

    async def _resident_direct_chat(self, room_id: str, inviter: UserID) -> bool:
        """A resident opened a direct chat with the bot (closed the bot's DM, or started one
        from its profile). Accepted from members of managed compound rooms only, at most
        ``DM_INVITES_PER_DAY`` a day each. An encrypted chat cannot be read: the bot says so
        there in plain text and writes to the person in its own, unencrypted direct room.
        Done in a unit of work with transaction ids derived from the room, so an invitation
        seen again after a crash repeats nothing."""
        if self.resident_home is None:
            return False
        compound_id = await self.resident_home(inviter)
        compound = self.directory.current.compounds.get(compound_id) if compound_id else None
        if compound is None:
            return False
        now = time.monotonic()
        recent = [t for t in self._dm_invites.get(inviter, []) if now - t < 86400]
        if len(recent) >= DM_INVITES_PER_DAY:
            log.warning("refused a direct chat from %s: %d accepted in the last day",
                        inviter, len(recent))
            return False
        self._dm_invites[inviter] = [*recent, now]
        locale = compound.locale
        async with self.db.unit_of_work():
            with effect_cause(f"direct-chat:{room_id}"):
                await self.gateway.join(room_id)
                self.joined_rooms.add(room_id)
                if await self._encrypted(room_id):
                    await self.gateway.send_text(
                        room_id, self.translator.render(locale, "dm.invite.encrypted"))
                    await self.dms.send(inviter, self.translator.render(locale,
                                                                         "dm.invite.hello"))
                    log.info("joined the encrypted direct chat %s of %s and pointed them to "
                             "the bot's own", room_id, inviter)
                else:
                    await self.dms.remember(inviter, room_id)
                    await self.gateway.send_text(
                        room_id, self.translator.render(locale, "dm.invite.hello"))
                    log.info("joined the direct chat %s that %s opened", room_id, inviter)
        return True

    async def _encrypted(self, room_id: str) -> bool:
        try:
            await self.gateway.state_event(room_id, "m.room.encryption")
        except MatrixActionError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return False
            raise
        return True

    def _handle_leaves(self, response: SyncResponse) -> None:
        managed = self.directory.current.managed_room_ids()
        for room_id in response.rooms.leave:
            if room_id in managed:
                compound = self.directory.current.compound_by_room(room_id)
                log.warning(
                    "the bot was removed from managed room %s%s; "
                    "invite it back to restore service",
                    room_id, f" (compound {compound.slug})" if compound else "",
                )

    async def _read_direct_marker(self, room_id: str) -> None:
        try:
            content = await self.gateway.state_event(room_id, DM_MARKER)
        except MatrixActionError as exc:
            if is_transient(exc):
                raise
            return
        user = content.get("user_id")
        if isinstance(user, str) and user:
            await self.dms.recognise(user, room_id)
