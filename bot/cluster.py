"""Several bot processes on one database.

SQLite is the single-process embedded default: ``linli run`` holds an ``fcntl`` lock on a file
beside the database for as long as it runs, and a second process refuses to start. The kernel
drops the lock with the process, so a process killed with SIGKILL leaves nothing to clean up.

On PostgreSQL any number of processes share the compounds (see ``Coordinator``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from nio import MessageDirection, RoomMessagesResponse, UploadFilterResponse
from sqlalchemy.engine import make_url

from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway, is_transient
from linli.bot.web.metrics import Sample
from linli.common.ids import CompoundId, UserID
from linli.common.ports import CompoundScope
from linli.community.model import Directory, Station
from linli.storage.db import normalise_url
from linli.storage.repos.botstate import BotStateRepository
from linli.storage.repos.cluster import ClusterRepository

log = logging.getLogger(__name__)

DM_MARKER = "org.linli.direct"  # as bot/runtime.py (not imported: the runtime imports this)


class SingleProcessError(Exception):
    """A second ``linli run`` on a SQLite database; ``lock`` is the file another one holds."""

    def __init__(self, database: str, lock: str) -> None:
        super().__init__(f"another linli run uses the SQLite database {database} "
                         f"(it holds {lock})")
        self.database = database
        self.lock = lock


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def sqlite_running(path: Path) -> bool:
    """Whether a bot process holds the lock of this SQLite database now."""
    lock = path.with_name(path.name + ".lock")
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # drops the lock if it was taken here
    return False


@contextlib.contextmanager
def single_process(url: str) -> Iterator[None]:
    """Hold the one-process lock of a SQLite database while the block runs; raise
    ``SingleProcessError`` if another process holds it. Other databases: nothing to hold."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SingleProcessError(str(path), str(lock)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for the operator; the lock is the truth
        yield
    finally:
        os.close(fd)  # closing the file drops the lock


# --- ownership: what this process handles ------------------------------------------------------

CATCH_UP_PAGES = 10
"""Pages of 100 events read back per room when a process takes it over, at most."""

CATCH_UP_WINDOW = timedelta(days=1)
"""How far back a new owner looks for events its predecessor left: as long as the
homeserver deduplicates the bot's transaction ids (README "Deduplication lasts a day")."""

SYNC_TOKEN_PREFIX = "sync_token:"


class Ownership:
    """What one process handles. This one, for a single process, owns everything; the
    runtime consults it at a few named points (``ClusterOwnership`` divides the work)."""

    def __init__(self) -> None:
        # Set when the rooms this process owns changed: the sync loop stops its long poll
        # and syncs again with the new filter.
        self.changed = asyncio.Event()

    def sync_token_key(self, default: str) -> str:
        """Where the process keeps its sync token in the bot's state."""
        return default

    async def sync_filter(self, base: dict[str, Any], since: str | None) -> dict[str, Any] | str:
        """The sync filter to send (a filter or the id of one uploaded)."""
        return base

    @contextlib.asynccontextmanager
    async def handling(self, room_id: str) -> AsyncIterator[bool]:
        """Around the handling of one event: whether this process handles the room. An event
        of another process's room is not handled and not marked done: its owner handles it."""
        yield True

    def runs_periodic_work(self) -> bool:
        """Whether this process does the periodic work that is not per compound (bulletin
        schedules, enrolment figures, pruning done-marks): one process of several."""
        return True

    def periodic_scope(self) -> CompoundScope:
        """The compounds whose periodic work (reminders, removals, deadlines, unmutes) this
        process does now; None: every compound."""
        return None

    async def owns_invite(self, inviter: str) -> bool:
        return True

    async def catch_up(self, since: str | None) -> list[tuple[str, list[Any]]]:
        """Events of rooms this process took over that no one handled yet, oldest first."""
        return []

    def settled(self, since: str | None) -> None:
        """The batch fetched with ``since`` is done and its token stored (what ``catch_up``
        read for it was handled)."""

    def rewind(self, since: str | None) -> None:
        """The sync loop starts again from the stored token ``since`` (a failure): what was
        to be read back for batches after it is read back from it."""

    def metrics(self) -> list[Sample]:
        return []

    def health(self) -> dict[str, Any]:
        return {}


def fair_share(compounds: int, owned: Mapping[str, int], me: str) -> tuple[int, int]:
    """How many compounds this process should take and release now, so that live processes
    end up with ``compounds // live`` or one more each. A process above its ceiling gives
    the excess back; one above the floor gives one back while another process is below it."""
    live = max(len(owned), 1)
    ceiling = -(-compounds // live)
    floor = compounds // live
    mine = owned.get(me, 0)
    if mine > ceiling:
        return 0, mine - ceiling
    if mine > floor and any(n < floor for n in owned.values()):
        return 0, 1
    return max(ceiling - mine, 0), 0


@dataclass
class ClusterStats:
    handovers_in: int = 0  # compounds taken from a process that stopped renewing its lease
    handovers_out: int = 0  # compounds given back (to rebalance, or on stop)
    leases_lost: int = 0  # compounds whose lease ran out before this process renewed it
    taken: int = 0  # compounds taken in all (free ones too)
    last_takeover_seconds: float | None = None  # last handover in: seconds after expiry
    rounds: int = 0
    round_failures: int = 0


class ClusterOwnership(Ownership):
    """Several processes on one PostgreSQL database divide the compounds: each compound, the
    officers' rooms of its station (with the station's first compound) and the direct rooms
    of its residents belong to the process holding its lease, and so does the compound's
    periodic work (reminders, removals, deadlines, unmutes: ``periodic_scope``); the periodic
    work that is not per compound belongs to the process holding the first compound. ``run``
    keeps the leases: a heartbeat and a renewal every third of the lease time, a fair share
    taken, the excess given back."""

    def __init__(
        self,
        repo: ClusterRepository,
        gateway: MatrixGateway,
        state: BotStateRepository,
        directory: Callable[[], Directory],
        dm_user: Callable[[str], UserID | None],
        home: Callable[[UserID], Awaitable[CompoundId | None]],
        *,
        lease: timedelta,
        web_port: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self.repo = repo
        self.gateway = gateway
        self.state = state
        self.directory = directory
        self.dm_user = dm_user
        self.home = home
        self.lease = lease
        self.web_port = web_port
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.id = f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"
        self.owned: frozenset[CompoundId] = frozenset()
        self.stats = ClusterStats()
        self._dm_rooms: list[tuple[str, frozenset[CompoundId]]] = []
        self._dm_owned: frozenset[CompoundId] | None = None  # what _dm_rooms was read for
        self._excluded: frozenset[str] = frozenset()
        self._requested: frozenset[str] | None = None  # owned rooms of the last request
        self._pending: dict[str, str] = {}  # room -> token to catch up from
        self._markers: dict[str, str | None] = {}  # room -> person of its direct-room marker
        self._homes: dict[str, CompoundId] = {}  # person -> compound, for one round
        self._inflight: dict[str, int] = {}
        self._idle = asyncio.Condition()
        self._filters: dict[str, str] = {}  # filter JSON -> id uploaded

    # the runtime's hooks --------------------------------------------------------------------
    def sync_token_key(self, default: str) -> str:
        return SYNC_TOKEN_PREFIX + self.id

    async def sync_filter(self, base: dict[str, Any], since: str | None) -> dict[str, Any] | str:
        excluded = self._excluded
        if since is not None:
            # Rooms this process syncs as their owner for the first time: what happened in
            # them before ``since`` is read back from /messages when the response is handled.
            included = self._included_rooms()
            new = included if self._requested is None else included - self._requested
            for owned_room in new:
                self._pending.setdefault(owned_room, since)
            self._requested = included
        room = dict(base.get("room", {}))
        room["not_rooms"] = sorted(excluded)
        body = {**base, "room": room}
        key = json.dumps(body, sort_keys=True)
        filter_id = self._filters.get(key)
        if filter_id is None:
            resp = await self.gateway.client.upload_filter(
                presence=body.get("presence"), account_data=body.get("account_data"),
                room=room,
            )
            if not isinstance(resp, UploadFilterResponse):
                raise MatrixActionError("upload filter", getattr(resp, "status_code", None),
                                        getattr(resp, "message", ""))
            filter_id = resp.filter_id
            self._filters = {key: filter_id}  # only the newest is reused
        return filter_id

    @contextlib.asynccontextmanager
    async def handling(self, room_id: str) -> AsyncIterator[bool]:
        self._inflight[room_id] = self._inflight.get(room_id, 0) + 1
        try:
            yield await self.owns(room_id)
        finally:
            left = self._inflight[room_id] - 1
            if left:
                self._inflight[room_id] = left
            else:
                del self._inflight[room_id]
            async with self._idle:
                self._idle.notify_all()

    def runs_periodic_work(self) -> bool:
        return self._is_primary(self.directory())

    def periodic_scope(self) -> CompoundScope:
        """The compounds this process owns; the process holding the first compound also
        does the work of compounds without a room (no lease is kept for them)."""
        directory = self.directory()
        if not self._is_primary(directory):
            return self.owned
        return self.owned | {c.id for c in directory.compounds.values() if not c.room_id}

    async def owns_invite(self, inviter: str) -> bool:
        compound = await self._home_of(UserID(inviter))
        if compound is None:
            return self._is_primary(self.directory())
        return compound in self.owned

    async def catch_up(self, since: str | None) -> list[tuple[str, list[Any]]]:
        # Several batches may be in the sync loop's pipeline: an entry is read back with the
        # batch fetched with its token, dropped once that batch is done (``settled``) and
        # moved to the stored token when the loop starts again from it (``rewind``).
        rooms = [r for r, t in self._pending.items() if t == since and r not in self._excluded]
        if not rooms or since is None:
            return []
        limit = asyncio.Semaphore(8)

        async def one(room: str) -> tuple[str, list[Any]]:
            async with limit:
                return room, await self._unhandled(room, since)

        found = [r for r in await asyncio.gather(*(one(r) for r in rooms)) if r[1]]
        if found:
            log.info("took over %d rooms: %d events their previous owner left", len(found),
                     sum(len(e) for _, e in found))
        return found

    def settled(self, since: str | None) -> None:
        self._pending = {r: t for r, t in self._pending.items()
                         if t != since and r not in self._excluded}

    def rewind(self, since: str | None) -> None:
        if since is not None:
            self._pending = dict.fromkeys(self._pending, since)

    # what is whose -------------------------------------------------------------------------
    def _first_compound(self, directory: Directory) -> CompoundId | None:
        ids = [c.id for c in directory.compounds.values() if c.room_id]
        return min(ids) if ids else None

    def _is_primary(self, directory: Directory,
                    owned: frozenset[CompoundId] | None = None) -> bool:
        """Whether this process (or one owning ``owned``) holds the first compound."""
        first = self._first_compound(directory)
        return first is None or first in (self.owned if owned is None else owned)

    def _owns_station(self, directory: Directory, station: Station) -> bool:
        ids = [c.id for c in directory.compounds.values()
               if c.room_id and c.station_id == station.id]
        return min(ids) in self.owned if ids else self._is_primary(directory)

    def _station_of_room(self, directory: Directory, room_id: str) -> Station | None:
        station = directory.station_by_officers_room(room_id)
        if station is not None:
            return station
        for s in directory.stations.values():
            if s.supervisors_room_id == room_id:
                return s
        return None

    async def _home_of(self, user: UserID) -> CompoundId | None:
        if user in self._homes:
            return self._homes[user]
        compound = await self.home(user)
        if compound is not None:  # someone with no compound yet may join one any moment
            self._homes[user] = compound
        return compound

    async def owns_target(self, target: str) -> bool:
        """Whether this process carries out recorded effects on ``target`` (a room, or a
        person's direct messages: their compound's owner), bot/runtime/outbox.py."""
        kind, _, name = target.partition(":")
        if kind == "person":
            return await self.owns_invite(name)
        if kind == "room":
            return await self.owns(name.split(" ", 1)[0])  # a room, or a subject in it
        return self._is_primary(self.directory())

    async def owns(self, room_id: str) -> bool:
        """Whether this process handles events of ``room_id`` now."""
        directory = self.directory()
        compound = directory.compound_by_room(room_id)
        if compound is not None:
            return compound.id in self.owned
        station = self._station_of_room(directory, room_id)
        if station is not None:
            return self._owns_station(directory, station)
        user = self.dm_user(room_id) or await self._marker(room_id)
        if user is None:  # no home (the runtime logs it once): one process looks at it
            return self._is_primary(directory)
        home = await self._home_of(user)
        return self._is_primary(directory) if home is None else home in self.owned

    async def _marker(self, room_id: str) -> UserID | None:
        """The person of a direct room the bot opened (its marker), read once per room: the
        same answer in every process, whoever opened the room."""
        if room_id not in self._markers:
            try:
                content = await self.gateway.state_event(room_id, DM_MARKER)
            except MatrixActionError as exc:
                if is_transient(exc):
                    raise
                content = {}
            user = content.get("user_id")
            self._markers[room_id] = user if isinstance(user, str) and user else None
        found = self._markers[room_id]
        return UserID(found) if found else None

    def _included_rooms(self) -> frozenset[str]:
        """The rooms this process syncs that belong to it (not unknown new ones)."""
        directory = self.directory()
        rooms = {c.room_id for c in directory.compounds.values()
                 if c.room_id and c.id in self.owned}
        for s in directory.stations.values():
            if self._owns_station(directory, s):
                rooms.update(r for r in (s.officers_room_id, s.supervisors_room_id) if r)
        primary = self._is_primary(directory)
        for room, compounds in self._dm_rooms:
            if (compounds & self.owned) if compounds else primary:
                rooms.add(room)
        return frozenset(rooms)

    def _compute_excluded(self) -> frozenset[str]:
        """Rooms of other processes, left out of this process's sync (``not_rooms``): their
        compound rooms and officers' rooms. Direct rooms are synced by every process and
        handled by their person's compound's owner: a direct chat carries little (a code, a
        question now and then), while listing them would make every process upload a new
        filter, and break off its long poll, for every direct room opened anywhere (a storm of
        joins is a storm of new direct rooms), with filters that grow with the residents. A
        room the directory does not know yet is synced by every process and handled by one."""
        directory = self.directory()
        rooms: set[str] = set()
        for c in directory.compounds.values():
            if c.room_id:
                rooms.add(c.room_id)
        for s in directory.stations.values():
            rooms.update(r for r in (s.officers_room_id, s.supervisors_room_id) if r)
        return frozenset(rooms - self._included_rooms())

    async def _unhandled(self, room_id: str, since: str) -> list[Any]:
        """The room's events before ``since`` back to the last one handled (by any process),
        oldest first: what a process that stopped left undone."""
        gathered: list[Any] = []
        start: str | None = since
        oldest_ms = (time.time() - CATCH_UP_WINDOW.total_seconds()) * 1000
        for _ in range(CATCH_UP_PAGES):
            resp = await self.gateway.client.room_messages(
                room_id, start=start, direction=MessageDirection.back, limit=100,
            )
            if not isinstance(resp, RoomMessagesResponse):
                raise MatrixActionError("catch up", getattr(resp, "status_code", None),
                                        getattr(resp, "message", ""))
            ids = [e.event_id for e in resp.chunk if getattr(e, "event_id", None)]
            done = await self.state.done_events(ids)
            for event in resp.chunk:
                stamp = getattr(event, "server_timestamp", None)
                if (getattr(event, "event_id", None) in done
                        or (isinstance(stamp, int) and stamp < oldest_ms)):
                    gathered.reverse()
                    return gathered
                gathered.append(event)
            if not resp.chunk or not resp.end or resp.end == start:
                break
            start = resp.end
        gathered.reverse()
        return gathered

    # leases -------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Keep the leases until ``stop`` is set (the orderly stop is ``leave``)."""
        interval = self.lease.total_seconds() / 3
        while not stop.is_set():
            try:
                await self.round()
            except Exception as exc:
                self.stats.round_failures += 1
                log.warning("could not renew the compound leases (%s); trying again in "
                            "%.1f s", type(exc).__name__, interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def round(self) -> None:
        """One heartbeat: renew, take a fair share of what nobody holds, give back excess."""
        held = await self.repo.heartbeat(self.id, self.name, self.web_port, self.lease)
        lost = self.owned - held
        if lost:
            self.stats.leases_lost += len(lost)
            log.warning("lost %d compounds whose lease ran out before it was renewed",
                        len(lost))
        owned = set(held)
        shares = await self.repo.shares(self.lease)
        take, give = fair_share(shares.compounds, shares.owned, self.id)
        handovers = await self.repo.take(self.id, self.lease, take) if take else []
        # Compounds nobody took for a whole lease (every process at its share): take them.
        handovers += await self.repo.take(self.id, self.lease, 10_000, stale_only=True)
        for h in handovers:
            owned.add(h.compound_id)
            self.stats.taken += 1
            if h.previous_owner is not None and h.previous_owner != self.id:
                self.stats.handovers_in += 1
        if handovers:
            log.info("took %d compounds (%d from a process that stopped renewing)",
                     len(handovers), sum(1 for h in handovers if h.previous_owner))
        if give:
            released = sorted(owned, reverse=True)[:give]
            owned -= set(released)
            await self._hand_over(frozenset(owned), released)
        self._homes.clear()
        now_owned = frozenset(owned)
        if now_owned != self._dm_owned:
            # The direct rooms of the compounds this process owns, read when what it owns
            # changes (not every round: a district has 300,000 of them): those of compounds
            # just taken over are read back to their last handled event (``catch_up``).
            self._dm_rooms = await self.repo.direct_rooms(
                now_owned, self._is_primary(self.directory(), now_owned))
            self._dm_owned = now_owned
        self._set_owned(now_owned)
        self.stats.rounds += 1
        if self.stats.rounds % 100 == 0:
            await self.repo.forget_dead(timedelta(days=1), SYNC_TOKEN_PREFIX)

    def _set_owned(self, owned: frozenset[CompoundId]) -> None:
        excluded_before = self._excluded
        self.owned = owned
        self._excluded = self._compute_excluded()
        if self._excluded != excluded_before:
            self.changed.set()

    async def _hand_over(self, keep: frozenset[CompoundId], released: list[CompoundId]) -> None:
        """Stop handling these compounds, wait for events of theirs being handled now, then
        give their leases back."""
        rooms_before = self._included_rooms()
        self._set_owned(keep)
        leaving = rooms_before - self._included_rooms()
        async with self._idle:
            await self._idle.wait_for(lambda: not (leaving & self._inflight.keys()))
        await self.repo.release(self.id, released)
        self.stats.handovers_out += len(released)
        log.info("gave %d compounds back for another process to take", len(released))

    async def leave(self) -> None:
        """An orderly stop (after the loops stopped): every compound given back at once."""
        self.stats.handovers_out += len(self.owned)
        self._set_owned(frozenset())
        await self.repo.leave(self.id)
        await self.repo.forget_token(self.sync_token_key(""))
        log.info("gave every compound back")

    # what it reports -------------------------------------------------------------------------
    def metrics(self) -> list[Sample]:
        s = self.stats
        return [
            Sample("linli_compounds_owned", len(self.owned),
                   "Compounds this process owns (several processes on one database)"),
            Sample("linli_handovers_in_total", s.handovers_in,
                   "Compounds taken over from a process that stopped renewing", "counter"),
            Sample("linli_handovers_out_total", s.handovers_out,
                   "Compounds given back to other processes", "counter"),
            Sample("linli_leases_lost_total", s.leases_lost,
                   "Compounds whose lease ran out before this process renewed it", "counter"),
            Sample("linli_lease_round_failures_total", s.round_failures,
                   "Lease renewals that failed (database unreachable)", "counter"),
        ]

    def health(self) -> dict[str, Any]:
        return {
            "process": self.id,
            "compounds_owned": len(self.owned),
            "periodic_work": self.runs_periodic_work(),  # the work not per compound
            "handovers_in": self.stats.handovers_in,
            "handovers_out": self.stats.handovers_out,
        }
