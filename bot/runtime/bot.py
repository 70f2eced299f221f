"""The running bot: the composition of the gateway, the router and the features, with the
loops that drive them (start-up and shutdown here; the parts in the sibling modules)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientError

from linli.bot.cluster import Ownership
from linli.bot.commands.router import Router
from linli.bot.config import Config
from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway
from linli.bot.runtime.direct import DirectMessenger
from linli.bot.runtime.env import DirectoryHolder, Feature
from linli.bot.runtime.events import EventPath
from linli.bot.runtime.outbox import Outbox
from linli.bot.runtime.periodic import PeriodicWork
from linli.bot.runtime.rooms import RoomKeeping
from linli.bot.runtime.sync import FatalSyncError, SyncLoop, SyncStats
from linli.common.clock import Clock
from linli.common.i18n import Translator
from linli.common.ids import CompoundId, UserID
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.botstate import BotStateRepository

log = logging.getLogger(__name__)


class Bot(SyncLoop, EventPath, RoomKeeping, PeriodicWork):
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
        outbox: Outbox | None = None,
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
        self.outbox = outbox  # effects recorded in units of work, carried out after them
        self.state = BotStateRepository(db, clock)
        self.stats = SyncStats()
        self.stop_event = asyncio.Event()
        self.ready = asyncio.Event()
        self.joined_rooms: set[str] = set()
        self._tasks: list[asyncio.Task[Any]] = []
        self.metric_sources: list[Any] = [outbox.metrics] if outbox is not None else []
        self._last_prune: datetime | None = None
        self._tick_locks: dict[int, asyncio.Lock] = {}  # per feature: one tick at a time
        self._wakers: set[asyncio.Event] = set()  # one per periodic loop: run now
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
            asyncio.create_task(self._refresh_loop(), name="linli-directory"),
            *self._periodic_tasks(),
        ]

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
