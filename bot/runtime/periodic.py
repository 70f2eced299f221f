"""Periodic work: each feature's time-dependent work (reminders, removals, deadlines,
schedules, unmutes, figures) and the pruning of old done-marks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta

from linli.bot.config import Config
from linli.bot.errors import new_ref
from linli.bot.matrix.gateway import is_transient
from linli.bot.runtime.env import Feature
from linli.bot.runtime.failures import describe as _describe
from linli.common.clock import Clock
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository

log = logging.getLogger(__name__)


class PeriodicWork:
    """The tick loop and ``run_due``."""

    # Set up by ``Bot.__init__``; shared by the parts of the runtime.
    clock: Clock
    config: Config
    db: Database
    features: list[Feature]
    state: BotStateRepository
    stop_event: asyncio.Event
    _due_lock: asyncio.Lock
    _last_prune: datetime | None

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
