"""Periodic work, each in a task of its own: each feature's time-dependent work (reminders,
removals, deadlines, schedules, unmutes, figures) and the pruning of old done-marks.

With several processes on one database (bot/cluster.py) the work is divided by compound:
features whose work is per compound (``divided_tick``: verification's reminders and
removals, questions' flags, escalations and digests, moderation's ends of mutes and bans)
tick in every process, each for the compounds it owns (``Ownership.periodic_scope``). What is
not per compound stays with one process, the one holding the first compound
(``Ownership.runs_periodic_work``): bulletin schedules fanned out to many rooms (the
broadcasts feature holds a lease of its own besides), enrolment figures snapshots, and the
pruning of done-marks.

A compound handed over while a tick runs may be in the scope of two ticks at once, the old
owner's and the new one's: nothing is done twice, because each piece of due work is claimed
in the database (a conditional update, rows locked ``FOR UPDATE SKIP LOCKED``, a unique flag
row) in the tick's unit of work, together with what is carried out; the other tick finds it
claimed, or skips the rows held, and a tick rolled back leaves it to the next one, which does
it with the same transaction ids."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from linli.bot.cluster import Ownership
from linli.bot.config import Config
from linli.bot.errors import new_ref
from linli.bot.matrix.gateway import is_transient
from linli.bot.runtime.env import Feature
from linli.bot.runtime.failures import describe as _describe
from linli.bot.runtime.outbox import Outbox
from linli.common.clock import Clock
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository

log = logging.getLogger(__name__)


class PeriodicWork:
    """Each feature's periodic work in a task of its own (``linli-tick-<feature>``), so a
    long bulletin fan-out delays neither reminders nor question deadlines; ``run_due`` runs
    them all at once (tests call it after moving a FakeClock). A feature's work never runs
    twice at the same time: the loop and ``run_due`` take turns on the feature's lock."""

    # Set up by ``Bot.__init__``; shared by the parts of the runtime.
    clock: Clock
    config: Config
    db: Database
    features: list[Feature]
    outbox: Outbox | None
    ownership: Ownership
    state: BotStateRepository
    stop_event: asyncio.Event
    _tick_locks: dict[int, asyncio.Lock]
    _wakers: set[asyncio.Event]
    _last_prune: datetime | None

    if TYPE_CHECKING:  # provided by the other parts of ``Bot``
        def _time(self, name: str, started: float) -> None: ...

    def _periodic_tasks(self) -> list[asyncio.Task[Any]]:
        tasks = [asyncio.create_task(self._every_tick(self._prune), name="linli-prune")]
        if self.outbox is not None:
            tasks.append(asyncio.create_task(self._every_tick(self._retry_effects),
                                             name="linli-effects"))
        for feature in self.features:
            tasks.append(asyncio.create_task(
                self._every_tick(partial(self._tick, feature)), name=f"linli-tick-{feature.name}"
            ))
        return tasks

    async def _every_tick(self, work: Callable[[], Awaitable[None]]) -> None:
        interval = self.config.bot.tick_interval.total_seconds()
        wake = asyncio.Event()
        self._wakers.add(wake)
        try:
            while not self.stop_event.is_set():
                wake.clear()
                await work()
                await self._pause(wake, interval)
        finally:
            self._wakers.discard(wake)

    async def _pause(self, wake: asyncio.Event, interval: float) -> None:
        """Until the next tick, the bot stops, or ``resume_periodic_work`` is called."""
        waits = [asyncio.ensure_future(self.stop_event.wait()), asyncio.ensure_future(wake.wait())]
        try:
            await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*waits)

    def resume_periodic_work(self) -> None:
        """The homeserver is back after an outage: every feature's periodic work runs now
        rather than on its next tick, so what waited for the homeserver (flags, removals,
        reminders, unmutes) goes out at once."""
        for wake in self._wakers:
            wake.set()

    async def run_due(self) -> None:
        """Give each feature the chance to do its time-dependent work (reminders, deadlines,
        schedules) as of the clock's ``now``, one feature after another."""
        await self._prune()
        await self._retry_effects()
        for feature in self.features:
            await self._tick(feature)

    async def _retry_effects(self) -> None:
        """Recorded effects due again: after a passing failure, or left by a crash (the
        first tick after a start carries those out)."""
        if self.outbox is None:
            return
        try:
            await self.outbox.retry_due()
        except Exception as exc:
            if is_transient(exc):
                log.warning("recorded effects wait for the next tick (%s)", _describe(exc))
            else:
                log.exception("recorded effects could not be retried (ref: %s)", new_ref())

    async def _prune(self) -> None:
        if not self.ownership.runs_periodic_work():
            return  # another process's (bot/cluster.py)
        await self._prune_handled_events(self.clock.now())

    async def _tick(self, feature: Feature) -> None:
        divided = getattr(feature, "divided_tick", False)
        if not divided and not self.ownership.runs_periodic_work():
            return  # another process's (bot/cluster.py)
        lock = self._tick_locks.setdefault(id(feature), asyncio.Lock())
        async with lock:  # the feature's loop and a caller of run_due never overlap
            started = time.monotonic()
            try:
                if divided:
                    # The compounds this process owns as the tick starts; a handover during
                    # the tick is safe (see the module's docstring).
                    work = partial(feature.tick, self.clock.now(),  # type: ignore[call-arg]
                                   self.ownership.periodic_scope())
                else:
                    work = partial(feature.tick, self.clock.now())
                if getattr(feature, "durable_tick", False):
                    # What the work claims and what it carries out commit together: a crash
                    # or a passing failure leaves it all to the next tick.
                    async with self.db.unit_of_work():
                        await work()
                else:
                    await work()
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
