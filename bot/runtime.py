"""The running bot: log-in, the sync loop, event dispatch, periodic work and shutdown.

Order of work for each sync response: invites, rooms the bot lost, the directory re-read if
anyone changed it, then every joined room's timeline (gaps filled from /messages), dispatched
in order, and only then the sync token stored.

Each event is handled at least once and its decisions exactly once: one unit of work (one
database transaction) holds everything the features decide for it and the mark that it is
done, and commits only after every effect on the homeserver was carried out. Messages and
redactions carry a transaction id derived from the event, state changes re-read the state
first, so an event handled again after a kill or a passing failure repeats nothing. A
passing failure (homeserver or database unreachable) rolls the event back and the batch is
tried again with back-off; a bug in one feature is logged and does not hold up the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiohttp import ClientError
from nio import (
    InviteMemberEvent,
    LocalProtocolError,
    MessageDirection,
    RoomMessagesResponse,
    SyncError,
    SyncResponse,
)

from linli.bot.cluster import Ownership
from linli.bot.commands.router import Command, CommandContext, Router
from linli.bot.config import Config
from linli.bot.errors import new_ref
from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway, effect_cause, is_transient
from linli.bot.matrix.translate import translate
from linli.common.clock import Clock
from linli.common.events import ChatEvent, MembershipChanged, MessagePosted, Redacted
from linli.common.i18n import Translator
from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.community.model import Compound, Directory, Station
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.botstate import BotStateRepository, DirectRoomRepository
from linli.storage.repos.community import CommunityRepository

log = logging.getLogger(__name__)

SYNC_TOKEN = "sync_token"
DEVICE_ID = "device_id"
ACCESS_TOKEN = "access_token"


class FatalSyncError(Exception):
    """The homeserver no longer accepts the bot's credentials; restarting will not help."""


@dataclass(frozen=True)
class EventEnv:
    """Where an event happened, resolved once from the directory snapshot."""

    directory: Directory
    compound: Compound | None = None
    station: Station | None = None  # set for events in a station's officers' room
    dm_user: UserID | None = None  # set for events in the bot's DM with this person


class Feature(Protocol):
    name: str

    def commands(self) -> Iterable[Command]: ...

    async def start(self) -> None: ...

    async def on_event(self, event: ChatEvent, env: EventEnv) -> None: ...

    async def tick(self, now: datetime) -> None: ...


DM_MARKER = "org.linli.direct"
"""State event the bot puts in each direct room it opens, naming the person: messages in a
room whose record was lost (a crash between opening it and committing) are still placed. The
room itself is never opened twice: it is created with an alias derived from the person, and a
second creation returns the first room (see ``MatrixGateway.create_dm``)."""

DM_INVITES_PER_DAY = 3
"""Direct chats a resident may open with the bot per day (each one is joined and answered)."""

MAX_EVENT_ATTEMPTS = 12
"""Times one event is tried before it is logged as failed and left: passing failures are
waited out with back-off, so this is only reached by an event that fails every time."""


class DirectoryHolder:
    """The current Directory snapshot. ``refresh`` reloads it when the directory version
    (raised by database triggers on every change) moved: one single-row read per call."""

    def __init__(self, repo: CommunityRepository, admins: Iterable[str]) -> None:
        self.repo = repo
        self.admins = list(admins)
        self.current = Directory([], [], [], self.admins)
        self.version: int | None = None

    async def reload(self) -> Directory:
        version = await self.repo.directory_version()  # read first: a later change reloads
        self.current = await self.repo.load_directory(self.admins)
        self.version = version
        return self.current

    async def refresh(self) -> bool:
        """Reload if anyone changed stations, compounds or staff since the last load."""
        if await self.repo.directory_version() == self.version:
            return False
        await self.reload()
        return True


class DirectMessenger:
    """Sends direct messages, opening (and remembering) a DM room per person on first use."""

    def __init__(self, gateway: MatrixGateway, repo: DirectRoomRepository) -> None:
        self.gateway = gateway
        self.repo = repo
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

    async def send(self, user_id: str, body: str, html: str | None = None) -> EventID:
        room = await self.room_for(user_id)
        try:
            return await self.gateway.send_text(room, body, html)
        except MatrixActionError as exc:
            if not exc.permanent:
                raise
            # The person left or the room is gone: open a new one.
            room = await self.room_for(user_id, fresh=True)
            return await self.gateway.send_text(room, body, html)


@dataclass
class SyncStats:
    started_monotonic: float = field(default_factory=time.monotonic)
    last_sync_monotonic: float | None = None
    syncs: int = 0
    events_handled: int = 0
    failures: int = 0  # syncs that failed
    handling_failures: int = 0  # sync batches rolled back by a passing failure, retried
    events_given_up: int = 0  # events left after MAX_EVENT_ATTEMPTS or a bug outside features
    connected: bool = False
    handler_seconds: dict[str, float] = field(default_factory=dict)

    def lag(self) -> float | None:
        if self.last_sync_monotonic is None:
            return None
        return time.monotonic() - self.last_sync_monotonic


class Bot:
    """Composition of the gateway, the router and the features, with the loops that drive them."""

    def __init__(
        self,
        *,
        config: Config,
        db: Database,
        gateway: MatrixGateway,
        clock: Clock,
        translator: Translator,
        directory: DirectoryHolder,
        dms: DirectMessenger,
        router: Router,
        features: Sequence[Feature],
        audit: AuditRepository,
    ) -> None:
        self.config = config
        self.db = db
        self.gateway = gateway
        self.clock = clock
        self.translator = translator
        self.directory = directory
        self.dms = dms
        self.router = router
        self.features = list(features)
        self.audit = audit
        self.state = BotStateRepository(db, clock)
        self.stats = SyncStats()
        self.stop_event = asyncio.Event()
        self.ready = asyncio.Event()
        self.joined_rooms: set[str] = set()
        self._tasks: list[asyncio.Task[Any]] = []
        self.metric_sources: list[Any] = []
        self._last_prune: datetime | None = None
        self._due_lock = asyncio.Lock()
        self.fatal: BaseException | None = None
        self._attempts: dict[str, int] = {}  # event id -> failed attempts (passing failures)
        self._unplaced: set[str] = set()  # rooms logged once as having no home
        self._dm_invites: dict[str, list[float]] = {}  # resident -> direct chats accepted
        # Where a resident is a member (verification's view), for direct chats they open.
        self.resident_home: Callable[[UserID], Awaitable[CompoundId | None]] | None = None
        # Which rooms and work are this process's (bot/cluster.py); by default all of them.
        self.ownership = Ownership()

    def add_feature(self, feature: Feature) -> None:
        self.features.append(feature)
        self.router.add(feature.commands())
        metrics = getattr(feature, "metrics", None)
        if metrics is not None:
            self.metric_sources.append(metrics)

    @property
    def tasks(self) -> list[asyncio.Task[Any]]:
        return list(self._tasks)

    # start-up ------------------------------------------------------------------------------
    async def login(self) -> None:
        device, token = await self.gateway.login(
            await self.state.get(DEVICE_ID), await self.state.get(ACCESS_TOKEN)
        )
        await self.state.set(DEVICE_ID, device)
        if self.config.matrix.access_token is None:
            # Password log-ins keep their token so a restart reuses the same device.
            await self.state.set(ACCESS_TOKEN, token)
        log.info("logged in as %s (device %s)", self.gateway.user_id, device)

    def sync_filter(self, initial: bool) -> dict[str, Any]:
        return {
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
            "room": {
                "timeline": {"limit": 1 if initial else self.config.matrix.timeline_limit,
                             "lazy_load_members": True},
                "state": {"lazy_load_members": True},
                "ephemeral": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            },
        }

    async def start(self) -> None:
        """Log in, load state, catch up with the homeserver; then start the loops.

        An unreachable homeserver at start-up is waited for with back-off (and said so in the
        log); credentials the homeserver refuses stop the start with a clear error.
        """
        await self.directory.reload()
        await self.dms.load()
        failures = 0
        while True:
            try:
                await self._connect()
                break
            except MatrixActionError as exc:
                if exc.errcode in ("M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_MISSING_TOKEN",
                                   "M_USER_DEACTIVATED", "M_INVALID_USERNAME"):
                    raise FatalSyncError(
                        f"the homeserver refused the bot's log-in ({exc.errcode}): check "
                        "matrix.user_id and the access token or password"
                    ) from exc
                failures += 1
                reason = f"{exc.errcode or exc.status}: {exc.message}"
            except (OSError, TimeoutError, ClientError) as exc:
                failures += 1
                reason = type(exc).__name__
            delay = min(self.config.matrix.reconnect_max_delay.total_seconds(), 2.0 * failures)
            log.warning("cannot reach the homeserver %s (%s); retrying in %.0f s",
                        self.config.matrix.homeserver, reason, delay)
            try:
                await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
                return  # asked to stop before the homeserver came back
            except TimeoutError:
                pass
        for feature in self.features:
            await feature.start()
        self._tasks = [
            asyncio.create_task(self._sync_loop(), name="linli-sync"),
            asyncio.create_task(self._tick_loop(), name="linli-tick"),
            asyncio.create_task(self._refresh_loop(), name="linli-directory"),
        ]

    async def _connect(self) -> None:
        await self.login()
        token = await self.state.get(self.ownership.sync_token_key(SYNC_TOKEN))
        if token is None:
            # First start: learn where "now" is without handling history; pending invites
            # still get an answer.
            response = await self._sync_call(None, initial=True)
            await self._handle_invites(response)
            self._note_joined(response)
            await self.state.set(self.ownership.sync_token_key(SYNC_TOKEN), response.next_batch)
        else:
            self.gateway.client.next_batch = token
        await self.ensure_joined()

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
                log.warning(
                    "cannot reach room %s of %s: %s (invite the bot or check the room id)",
                    room_id, what, exc.errcode or exc.message,
                )

    # loops -----------------------------------------------------------------------------------
    async def _sync_call(self, since: str | None, initial: bool = False) -> SyncResponse:
        timeout = 0 if initial else int(self.config.matrix.sync_timeout.total_seconds() * 1000)
        try:
            response = await self.gateway.client.sync(
                timeout=timeout, since=since,
                sync_filter=await self.ownership.sync_filter(self.sync_filter(initial), since),
            )
        except LocalProtocolError as exc:
            raise FatalSyncError(str(exc)) from exc
        if isinstance(response, SyncError):
            if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                raise FatalSyncError(f"the homeserver refused the bot's token: {response.message}")
            raise MatrixActionError("sync", response.status_code, response.message)
        return response

    async def _sync_loop(self) -> None:
        failures = 0
        processing_failures = 0
        while not self.stop_event.is_set():
            since = await self.state.get(self.ownership.sync_token_key(SYNC_TOKEN))
            try:
                response = await self._interruptible(self._sync_call(since),
                                                     self.ownership.changed)
                if response is None:
                    if not self.stop_event.is_set():
                        continue  # the rooms this process owns changed: the new filter
                    return  # stopping: the long poll was abandoned, nothing half-done
            except FatalSyncError as exc:
                log.error("stopping: %s", exc)
                self.fatal = exc
                self.stop_event.set()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # unreachable homeserver, 5xx, timeouts
                failures += 1
                self.stats.failures += 1
                self.stats.connected = False
                delay = min(
                    self.config.matrix.reconnect_max_delay.total_seconds(),
                    0.5 * 2 ** min(failures, 10),
                ) * random.uniform(0.8, 1.2)
                log.warning("homeserver unreachable (%s); retrying in %.1f s",
                            type(exc).__name__ if not str(exc) else str(exc)[:200], delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
                continue
            if failures:
                log.info("homeserver reachable again after %d failed syncs", failures)
            failures = 0
            self.stats.connected = True
            try:
                await self.process(response, since)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Nothing of the failed event was kept; the batch is fetched again from the
                # stored token and handled from that event on.
                processing_failures += 1
                self.stats.handling_failures += 1
                delay = min(self.config.matrix.reconnect_max_delay.total_seconds(),
                            0.5 * 2 ** min(processing_failures, 10)) * random.uniform(0.8, 1.2)
                if is_transient(exc):
                    log.warning("handling paused by a passing failure (%s); retrying in %.1f s",
                                _describe(exc), delay)
                else:
                    log.exception("could not process a sync response (ref: %s); retrying in "
                                  "%.1f s", new_ref(), delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
                continue
            processing_failures = 0
            self.stats.syncs += 1
            self.stats.last_sync_monotonic = time.monotonic()
            self.ready.set()

    async def _tick_loop(self) -> None:
        interval = self.config.bot.tick_interval.total_seconds()
        while not self.stop_event.is_set():
            await self.run_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), timeout=interval)

    async def run_due(self) -> None:
        """Give each feature the chance to do its time-dependent work (reminders, deadlines,
        schedules) as of the clock's ``now``. Tests call this after moving a FakeClock."""
        async with self._due_lock:  # the tick loop and a caller never overlap
            await self._run_due()

    async def _run_due(self) -> None:
        if not self.ownership.runs_periodic_work():
            return  # another process's (bot/cluster.py)
        now = self.clock.now()
        await self._prune_handled_events(now)
        for feature in self.features:
            started = time.monotonic()
            try:
                if getattr(feature, "durable_tick", False):
                    # What the work claims and what it carries out commit together: a crash
                    # or a passing failure leaves it all to the next tick.
                    async with self.db.unit_of_work():
                        await feature.tick(now)
                else:
                    await feature.tick(now)
            except Exception as exc:
                if is_transient(exc):
                    log.warning("periodic work of %s paused by a passing failure (%s); "
                                "trying again on the next tick", feature.name, _describe(exc))
                else:
                    log.exception("periodic work of %s failed (ref: %s)", feature.name,
                                  new_ref())
            finally:
                self._time(f"tick:{feature.name}", started)

    async def _prune_handled_events(self, now: datetime) -> None:
        """Once a day, forget handled event ids older than a week: the sync token already
        keeps older events from coming back, and the table must not grow without end."""
        if self._last_prune is not None and now - self._last_prune < timedelta(days=1):
            return
        self._last_prune = now
        try:
            removed = await self.state.prune_events(timedelta(days=7))
            log.info("forgot %d handled event ids older than 7 days", removed)
        except Exception:
            log.exception("could not prune handled event ids; trying again tomorrow")

    async def _refresh_loop(self) -> None:
        interval = self.config.bot.directory_refresh.total_seconds()
        while not self.stop_event.is_set():
            try:
                await asyncio.wait_for(self.stop_event.wait(), timeout=interval)
                return
            except TimeoutError:
                pass
            try:
                await self._refresh_directory()
            except Exception:
                log.exception("could not reload the directory; keeping the previous one")

    async def _refresh_directory(self, force: bool = False) -> bool:
        """Reload the directory if it changed (or if ``force``); join rooms it added."""
        before = self.directory.current.managed_room_ids()
        if force:
            await self.directory.reload()
        elif not await self.directory.refresh():
            return False
        self._unplaced.clear()
        if self.directory.current.managed_room_ids() - before - self.joined_rooms:
            await self.ensure_joined()
        return True

    # sync processing ---------------------------------------------------------------------------
    def _note_joined(self, response: SyncResponse) -> None:
        self.joined_rooms.update(response.rooms.join.keys())
        for room_id in response.rooms.leave:
            self.joined_rooms.discard(room_id)

    async def process(self, response: SyncResponse, since: str | None) -> None:
        await self._refresh_directory()
        await self._handle_invites(response)
        self._handle_leaves(response)
        self._note_joined(response)
        rooms: list[tuple[str, list[Any]]] = []
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and since:
                events = await self._fill_gap(room_id, info.timeline.prev_batch, since) + events
            rooms.append((room_id, events))
            await self._note_direct_room(room_id, list(info.state) + events)
        rooms += await self.ownership.catch_up(since)  # rooms taken over from another process
        batch = causal_order(rooms)
        done = await self.state.done_events(
            i for i in (getattr(e, "event_id", None) for _, e in batch) if i
        )
        for room_id, event in batch:
            event_id = getattr(event, "event_id", None)
            if not event_id or event_id in done:
                continue
            done.add(event_id)  # a gap fill may repeat an event
            await self.handle(room_id, event)
        await self.state.set(self.ownership.sync_token_key(SYNC_TOKEN), response.next_batch)

    async def handle(self, room_id: str, nio_event: Any) -> None:
        """Handle one event in one unit of work: what the features decide, the effects they
        carry out (with transaction ids derived from the event) and the mark that the event
        is done commit together. A passing failure rolls it all back and propagates, so the
        batch is tried again; an event that fails ``MAX_EVENT_ATTEMPTS`` times is left."""
        event_id = str(nio_event.event_id)
        try:
            event = translate(room_id, nio_event)
            if event is None or self._from_bot(event):
                # Nothing to decide (an ignored type, the bot's own message coming back):
                # no unit of work and no mark; a replay reaches the same answer.
                return
            async with self.ownership.handling(room_id) as owned:
                if not owned:
                    return  # another process's room: not marked done, its owner handles it
                async with self.db.unit_of_work():
                    with effect_cause(event_id):
                        await self.dispatch(event)
                    await self.state.mark_done(event_id)
        except Exception as exc:
            attempts = self._attempts.get(event_id, 0) + 1
            if attempts < MAX_EVENT_ATTEMPTS and is_transient(exc):
                self._attempts[event_id] = attempts
                raise
            self._attempts.pop(event_id, None)
            self.stats.events_given_up += 1
            log.error("gave up on event %s in %s after %d attempts (ref: %s): %s", event_id,
                      room_id, attempts, new_ref(), _describe(exc),
                      exc_info=not is_transient(exc))
            await self.state.mark_done(event_id)
            return
        self._attempts.pop(event_id, None)

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

    async def _fill_gap(self, room_id: str, prev_batch: str | None, since: str) -> list[Any]:
        """Fetch the events a limited timeline left out, oldest first."""
        if not prev_batch:
            return []
        gathered: list[Any] = []
        start: str | None = prev_batch
        for _ in range(50):  # at most 5,000 events per room per gap
            resp = await self.gateway.client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=100,
            )
            if not isinstance(resp, RoomMessagesResponse) or not resp.chunk:
                break
            gathered.extend(resp.chunk)
            if not resp.end or resp.end == start:
                break
            start = resp.end
        gathered.reverse()
        if gathered:
            log.info("filled a gap of %d events in %s", len(gathered), room_id)
        return gathered

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
                    log.warning("could not join %s: %s", room_id, exc)
            elif is_direct and await self._resident_direct_chat(room_id, UserID(inviter)):
                continue
            else:
                log.info("refused an invitation to %s from %s, who is not staff", room_id, inviter)
                try:
                    await self.gateway.leave(room_id)
                except MatrixActionError as exc:
                    log.warning("could not refuse the invitation to %s: %s", room_id, exc)

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

    def env_for(self, room_id: str) -> EventEnv:
        directory = self.directory.current
        compound = directory.compound_by_room(room_id)
        if compound:
            return EventEnv(directory, compound=compound, station=directory.station_of(compound))
        station = directory.station_by_officers_room(room_id)
        if station:
            return EventEnv(directory, station=station)
        return EventEnv(directory, dm_user=self.dms.user_of_room(room_id))

    async def dispatch_nio(self, room_id: str, nio_event: Any) -> None:
        event = translate(room_id, nio_event)
        if event is None:
            return
        await self.dispatch(event)

    def _from_bot(self, event: ChatEvent) -> bool:
        """The bot's own messages, edits and reactions are not handled again; its redactions
        and its kicks or bans of others are, so features see a question removed by ``!redact``
        or a member removed by ``!kick`` like any other."""
        if event.sender != self.gateway.user_id:
            return False
        if isinstance(event, Redacted):
            return False
        return not (isinstance(event, MembershipChanged) and event.user_id != self.gateway.user_id)

    async def _placed_env(self, room_id: str) -> EventEnv | None:
        """Where an event belongs; a room the directory cannot place makes the bot re-read
        the directory (and the room's direct-room marker) once before it gives up, and a room
        that still has no home is logged once."""
        env = self.env_for(room_id)
        if env.compound or env.station or env.dm_user:
            return env
        if room_id in self._unplaced:
            return None
        await self._refresh_directory(force=True)
        env = self.env_for(room_id)
        if env.compound or env.station or env.dm_user:
            return env
        await self._read_direct_marker(room_id)
        env = self.env_for(room_id)
        if env.dm_user:
            return env
        self._unplaced.add(room_id)
        log.info("events of room %s are not handled: it is no compound's, officers' or "
                 "direct room (logged once per room until the directory changes)", room_id)
        return None

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

    async def dispatch(self, event: ChatEvent) -> None:
        if self._from_bot(event):
            return
        env = await self._placed_env(event.room_id)
        if env is None:
            return
        started = time.monotonic()
        self.stats.events_handled += 1
        is_command = isinstance(event, MessagePosted) and self.router.is_command(
            event.body.strip()
        )
        if isinstance(event, MessagePosted) and is_command:
            try:
                await self.router.dispatch(self._command_context(event, env))
            except Exception as exc:  # a reply that could not be sent; the batch goes on
                if is_transient(exc):
                    raise
                ref = new_ref()
                log.exception("command %s failed outside its handler (ref: %s)",
                              event.event_id, ref)
        for feature in self.features:
            # Commands go to the router; only features that must count every message (flood
            # control) see them too.
            if is_command and not getattr(feature, "sees_commands", False):
                continue
            try:
                await feature.on_event(event, env)
            except Exception as exc:
                if is_transient(exc):
                    raise  # the whole event is rolled back and tried again
                ref = new_ref()
                log.exception("%s failed on %s (ref: %s)", feature.name, event.event_id, ref)
        self._time("event", started)
        log.debug("handled %s %s in %.1f ms", type(event).__name__, event.event_id,
                  (time.monotonic() - started) * 1000)

    def _time(self, name: str, started: float) -> None:
        self.stats.handler_seconds[name] = self.stats.handler_seconds.get(name, 0.0) + (
            time.monotonic() - started
        )

    def _command_context(self, event: MessagePosted, env: EventEnv) -> CommandContext:
        directory = env.directory
        if env.compound:
            roles = directory.roles_in_compound(event.sender, env.compound)
            locale = env.compound.locale
        elif env.station:
            roles = directory.roles_in_station(event.sender, env.station)
            locale = env.station.locale
        else:
            roles = directory.roles_in_room(event.sender, event.room_id)
            locale = self.config.bot.default_locale

        async def reply(body: str, html: str | None) -> EventID:
            return await self.gateway.send_text(event.room_id, body, html, reply_to=event.event_id)

        return CommandContext(
            event=event, sender=event.sender, room_id=event.room_id, roles=roles, locale=locale,
            compound=env.compound, station=env.station, translator=self.translator,
            reply_fn=reply,
        )

    # shutdown --------------------------------------------------------------------------------
    async def _interruptible(self, call: Any, also: asyncio.Event | None = None) -> Any:
        """Await a network call unless the bot is asked to stop (or ``also`` is set) first
        (then None).

        Only waiting on the homeserver is cut short; database work and handlers are never
        cancelled half-way, so no transaction is left open on shutdown.
        """
        if also is not None:
            also.clear()  # what changed before the call is in it (the sync filter)
        task = asyncio.ensure_future(call)
        stoppers = {asyncio.ensure_future(self.stop_event.wait())}
        if also is not None:
            stoppers.add(asyncio.ensure_future(also.wait()))
        try:
            await asyncio.wait({task, *stoppers}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for stopper in stoppers:
                stopper.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None

    async def stop(self, grace: float = 15.0) -> None:
        """Let the loops finish what they are doing (up to ``grace`` seconds), then stop."""
        self.stop_event.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                log.warning("%s did not finish within %.0f s; cancelling it",
                            task.get_name(), grace)
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks = []
        for feature in self.features:
            # Optional hook: background work to end, leases to hand on.
            stop = getattr(feature, "stop", None)
            if stop is not None:
                try:
                    await stop()
                except Exception:
                    log.exception("stopping %s failed", feature.name)

    async def wait(self) -> None:
        await self.stop_event.wait()

    def uptime(self) -> timedelta:
        return timedelta(seconds=time.monotonic() - self.stats.started_monotonic)


def causal_order(rooms: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[str, Any]]:
    """The events of a sync batch in the order they happened across rooms (by server
    timestamp), each room's own events in their order. A resident's join in the compound room
    comes before their code in the direct room even when the sync response lists the direct
    room first: that matters when a batch is handled again after a kill."""
    heap = [(_timestamp(events[0]), i, 0) for i, (_, events) in enumerate(rooms) if events]
    heapq.heapify(heap)
    ordered: list[tuple[str, Any]] = []
    while heap:
        _, i, j = heapq.heappop(heap)
        room_id, events = rooms[i]
        ordered.append((room_id, events[j]))
        if j + 1 < len(events):
            heapq.heappush(heap, (_timestamp(events[j + 1]), i, j + 1))
    return ordered


def _timestamp(event: Any) -> int:
    ts = getattr(event, "server_timestamp", None)
    if not isinstance(ts, int):
        ts = (getattr(event, "source", None) or {}).get("origin_server_ts")
    return ts if isinstance(ts, int) else 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MatrixActionError):
        return f"{exc.action}: {exc.errcode or exc.status or 'error'}"
    return type(exc).__name__
