"""The sync loop: log-in, the sync filter, catching up at start, long-polling with back-off,
and the directory kept fresh.

Batches are pipelined: each response is prepared by the event path (invitations, leaves, the
directory, gaps, rooms taken over; ``EventPath.submit``) and its events queued in a
``lanes.Pipeline``, and the next sync is sent at once, without waiting for those events to be
handled. A batch's token is stored once its events and every earlier batch's are done, so a
restart begins from a token whose events are all done or skipped by their done-marks. The loop
stops fetching while the pipeline holds more than ``MAX_QUEUED_EVENTS`` events or
``MAX_QUEUED_BATCHES`` batches. A failure pauses: nothing new starts, the events in flight
finish, and after a back-off the loop syncs again from the stored token (the rooms taken over
are read back from it: ``Ownership.rewind``). Shutdown waits for the events in flight and
stores only the complete prefix."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nio import (
    LocalProtocolError,
    SyncError,
    SyncResponse,
)

from linli.bot.cluster import Ownership
from linli.bot.config import Config
from linli.bot.errors import new_ref
from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway, is_transient
from linli.bot.runtime.env import DirectoryHolder
from linli.bot.runtime.failures import describe as _describe
from linli.bot.runtime.lanes import Batch, Pipeline
from linli.storage.repos.botstate import BotStateRepository

log = logging.getLogger(__name__)


SYNC_TOKEN = "sync_token"
DEVICE_ID = "device_id"
ACCESS_TOKEN = "access_token"


class FatalSyncError(Exception):
    """The homeserver no longer accepts the bot's credentials; restarting will not help."""

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

class SyncLoop:
    """The bot's connection to the homeserver: log-in, sync, reconnection."""

    # Set up by ``Bot.__init__``; shared by the parts of the runtime.
    config: Config
    directory: DirectoryHolder
    gateway: MatrixGateway
    joined_rooms: set[str]
    state: BotStateRepository
    ownership: Ownership
    stats: SyncStats
    stop_event: asyncio.Event
    ready: asyncio.Event
    fatal: BaseException | None
    _tasks: list[asyncio.Task[Any]]
    _unplaced: set[str]

    if TYPE_CHECKING:  # provided by the other parts of ``Bot``
        async def process(self, response: SyncResponse, since: str | None) -> None: ...
        def pipeline(self, then: Callable[[Batch], Awaitable[None]] | None = None
                     ) -> Pipeline: ...
        async def submit(self, pipeline: Pipeline, response: SyncResponse,
                         since: str | None) -> Batch: ...
        async def _handle_invites(self, response: SyncResponse) -> None: ...
        def _note_joined(self, response: SyncResponse) -> None: ...
        async def ensure_joined(self) -> None: ...
        def resume_periodic_work(self) -> None: ...

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
        """What the bot asks each sync for: rooms' timelines and state, nothing else.

        Room members are lazy-loaded: a room's state carries only the memberships of the
        timeline's senders, never the whole member list (300,000 members of a district would
        otherwise come with every initial sync). Nothing needs that list: joins, leaves,
        kicks and bans are membership events in the timeline (and in a gap filled from
        ``/messages``), handled as events; a room's members, when a feature needs them
        (adopting a room), are read from ``/joined_members``."""
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
        """Fetch, hand the batch to the pipeline, fetch the next without waiting for the
        events of earlier batches to be handled (see ``lanes.Pipeline``); the token of a batch
        is stored once it and every earlier batch are done. A failure pauses: the events in
        flight finish, the loop backs off and starts again from the stored token."""
        failures = 0
        processing_failures = 0
        waited = False  # for the homeserver: its work is resumed once a batch is handled
        pipeline: Pipeline | None = None
        since: str | None = None

        async def committed(batch: Batch) -> None:
            nonlocal processing_failures
            processing_failures = 0
            if batch.resume:
                # What waited for the homeserver goes out now, after the events of the
                # outage (perhaps the answer to a question about to be flagged) were seen.
                self.resume_periodic_work()
            self.stats.syncs += 1
            self.stats.last_sync_monotonic = time.monotonic()
            self.ready.set()

        try:
            while not self.stop_event.is_set():
                if pipeline is None:
                    since = await self.state.get(self.ownership.sync_token_key(SYNC_TOKEN))
                    pipeline = self.pipeline(committed)
                if pipeline.full():  # a storm: what comes next waits on the homeserver
                    await self._interruptible(pipeline.room_for_more(), pipeline.failed,
                                              clear=False)
                if pipeline.failed.is_set() or self.stop_event.is_set():
                    response = None
                else:
                    try:
                        response = await self._interruptible(
                            self._sync_call(since), self.ownership.changed, pipeline.failed)
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
                                    type(exc).__name__ if not str(exc) else str(exc)[:200],
                                    delay)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
                        continue
                if response is not None:
                    if failures:
                        waited = True
                        log.info("homeserver reachable again after %d failed syncs", failures)
                    failures = 0
                    self.stats.connected = True
                    try:
                        batch = await self.submit(pipeline, response, since)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # preparing the batch (a gap, a take-over)
                        pipeline.fail(exc)
                    else:
                        since = response.next_batch
                        if waited:
                            waited = False
                            batch.resume = True
                        continue
                if self.stop_event.is_set():
                    return  # the finally below waits for the events in flight
                if not pipeline.failed.is_set():
                    continue  # the rooms this process owns changed: the new filter
                # A failure: nothing new starts, the events in flight finish, the complete
                # batches before it are stored; then the batches are fetched again from the
                # stored token and handled from the failed event on (done ones are skipped).
                try:
                    await pipeline.drain()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    processing_failures += 1
                    self.stats.handling_failures += 1
                    delay = min(self.config.matrix.reconnect_max_delay.total_seconds(),
                                0.5 * 2 ** min(processing_failures, 10)) * random.uniform(0.8, 1.2)
                    if is_transient(exc):
                        waited = True
                        log.warning("handling paused by a passing failure (%s); retrying in "
                                    "%.1f s", _describe(exc), delay)
                    else:
                        log.exception("could not process a sync response (ref: %s); retrying "
                                      "in %.1f s", new_ref(), delay)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
                pipeline = None
                self.ownership.rewind(
                    await self.state.get(self.ownership.sync_token_key(SYNC_TOKEN)))
        finally:
            if pipeline is not None:
                # Shutdown (or a fatal error): nothing new starts; the events in flight finish
                # and only batches complete with everything before them are stored.
                try:
                    await pipeline.drain()
                except asyncio.CancelledError:
                    pipeline.cancel()
                    raise
                except Exception:
                    pass  # handled again after the restart, from the stored token

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

    async def _interruptible(self, call: Any, also: asyncio.Event | None = None,
                             failed: asyncio.Event | None = None, clear: bool = True) -> Any:
        """Await a network call unless the bot is asked to stop (or ``also`` or ``failed`` is
        set) first (then None).

        Only waiting on the homeserver (or for room in the pipeline) is cut short; database
        work and handlers are never cancelled half-way, so no transaction is left open on
        shutdown.
        """
        if also is not None and clear:
            also.clear()  # what changed before the call is in it (the sync filter)
        task = asyncio.ensure_future(call)
        stoppers = {asyncio.ensure_future(self.stop_event.wait())}
        for event in (also, failed):
            if event is not None:
                stoppers.add(asyncio.ensure_future(event.wait()))
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
