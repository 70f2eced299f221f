"""The delivery service: the scheduler's lease, the loop's step, the ledger's fan-out (claim,
send with the row's transaction id, mark) and urgent notices."""


from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from linli.broadcasts.delivery.occurrences import Deciding
from linli.broadcasts.delivery.rendering import Renderer
from linli.broadcasts.delivery.reports import Reporting
from linli.broadcasts.delivery.settings import BroadcastSettings, Sleep, txn_id
from linli.broadcasts.model import (
    Bulletin,
    BulletinKind,
    Delivery,
    DeliveryState,
    Occurrence,
    OccurrenceOutcome,
    RenderedMessage,
    Report,
    Schedule,
    ScheduleKind,
    Target,
    Text,
)
from linli.broadcasts.ports import (
    BroadcastStore,
    PermanentFailure,
    RateLimited,
    SendResult,
    Sent,
    TemporaryFailure,
    Transport,
)
from linli.broadcasts.schedule import FireTimes
from linli.broadcasts.targets import target_rooms
from linli.common.clock import Clock
from linli.common.i18n import Translator
from linli.common.ids import StationId
from linli.community.model import Directory

log = logging.getLogger(__name__)


class DeliveryService(Deciding, Reporting):
    """Decides occurrences and fans them out through a Transport, exactly once per room.

    The edge calls ``tick()`` every few seconds (or at ``next_wakeup()``), posts the returned
    reports in the officers' rooms, and calls ``release()`` on shutdown.
    """

    def __init__(
        self,
        store: BroadcastStore,
        transport: Transport,
        fire_times: FireTimes,
        directory: Callable[[], Directory],
        translator: Translator,
        clock: Clock,
        owner: str,
        settings: BroadcastSettings | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.store = store
        self.transport = transport
        self.fire_times = fire_times
        self.directory = directory
        self.translator = translator
        self.renderer = Renderer(translator)
        self.clock = clock
        self.owner = owner
        self.settings = settings or BroadcastSettings()
        self.sleep = sleep
        self._lease_until: datetime | None = None
        # Occurrences this process is fanning out right now (an urgent notice runs beside the
        # tick): ``resume`` must not start a second fan-out of the same one.
        self._active: set[int] = set()
        # Open occurrences already logged as taken over, so the log says it once.
        self._taken_over: set[int] = set()

    # --- the scheduler's lease ----------------------------------------------------------------

    async def hold_lease(self) -> bool:
        now = self.clock.now()
        until = now + self.settings.lease_ttl
        if await self.store.acquire_lease(self.settings.lease_name, self.owner, until, now):
            self._lease_until = until
            return True
        self._lease_until = None
        return False

    async def _keep_lease(self) -> None:
        if self._lease_until is None:
            return
        half_gone = self.clock.now() >= self._lease_until - self.settings.lease_ttl / 2
        if half_gone and not await self.hold_lease():
            log.warning("broadcast lease lost during a fan-out; sends stay claim-protected")

    async def release(self) -> None:
        await self.store.release_lease(self.settings.lease_name, self.owner)
        self._lease_until = None

    # --- the loop's step ------------------------------------------------------------------------

    async def tick(self) -> list[Report]:
        """One scheduler step: if this process holds the lease, finish interrupted fan-outs,
        then fire what is due. Returns the reports to post."""
        if not await self.hold_lease():
            return []
        reports = await self.resume()
        for bulletin, occurrence in await self.due(self.clock.now()):
            reports += await self.fan_out(bulletin, occurrence)
        return reports

    async def next_wakeup(self) -> datetime | None:
        return await self.store.next_wakeup()

    async def resume(self) -> list[Report]:
        """Send what an interrupted fan-out left pending, with the same transaction ids."""
        reports: list[Report] = []
        for occurrence in await self.store.open_occurrences(self.settings.due_batch):
            if occurrence.id in self._active:
                continue  # this process is sending it right now (a notice beside the tick)
            bulletin = await self.store.get_bulletin(occurrence.bulletin_id)
            if bulletin is None:
                continue
            # Said once per occurrence: while another live process (the CLI's notice) still
            # sends it, every tick looks at it again and finds nothing to take over.
            if occurrence.id not in self._taken_over:
                self._taken_over.add(occurrence.id)
                log.info(
                    "bulletin %s occurrence %s: finishing a fan-out left open (interrupted, "
                    "or still being sent by another process)", bulletin.id, occurrence.at,
                )
            reports += await self.fan_out(bulletin, occurrence)
        return reports

    # --- deciding occurrences --------------------------------------------------------------------

    # --- fan-out ---------------------------------------------------------------------------------

    async def fan_out(self, bulletin: Bulletin, occurrence: Occurrence) -> list[Report]:
        """Write the ledger rows for every target room in one batch, send the pending ones,
        and, once every row is settled, return the delivery report (exactly one process
        reports an occurrence). An occurrence this process is already fanning out (a notice
        while the tick resumes open occurrences) is left to that fan-out."""
        if occurrence.id in self._active:
            return []
        self._active.add(occurrence.id)
        try:
            return await self._fan_out(bulletin, occurrence)
        finally:
            self._active.discard(occurrence.id)

    async def _fan_out(self, bulletin: Bulletin, occurrence: Occurrence) -> list[Report]:
        directory = self.directory()
        rows: list[Delivery] = []
        if occurrence.outcome is OccurrenceOutcome.FIRED:
            if not bulletin.deleted:
                rooms = target_rooms(bulletin.target, directory)
                await self.store.create_deliveries(
                    bulletin.id,
                    occurrence.at,
                    [(r, txn_id(bulletin.id, occurrence.at, r.room_id)) for r in rooms],
                    self.clock.now(),
                )
            rows = await self.store.deliveries(bulletin.id, occurrence.at)
            pending = [r for r in rows if r.state is DeliveryState.PENDING]
            if pending:
                limit = asyncio.Semaphore(max(1, self.settings.max_concurrent_sends))
                async with asyncio.TaskGroup() as group:
                    for row in pending:
                        group.create_task(
                            self._deliver(bulletin, occurrence, row, directory, limit)
                        )
                rows = await self.store.deliveries(bulletin.id, occurrence.at)
            if any(r.state is DeliveryState.PENDING for r in rows):
                return []  # rows claimed by another live process: it finishes and reports
        if not await self.store.complete_occurrence(occurrence.id, self.clock.now()):
            return []
        return self.reports(bulletin, occurrence, rows, directory)

    async def _deliver(
        self,
        bulletin: Bulletin,
        occurrence: Occurrence,
        row: Delivery,
        directory: Directory,
        limit: asyncio.Semaphore,
    ) -> None:
        async with limit:
            message = self.renderer.render(
                bulletin, occurrence.series_index, occurrence.at, row.compound_id, directory
            )
            rate_waits = 0
            failures = 0
            while True:
                await self._keep_lease()
                now = self.clock.now()
                if not await self.store.claim(
                    row.id, self.owner, now + self.settings.lease_ttl, now
                ):
                    return  # settled, or another process is sending it
                result = await self._send(row, message)
                if isinstance(result, Sent):
                    await self.store.mark_delivered(row.id, result.event_id, self.clock.now())
                    return
                if isinstance(result, PermanentFailure):
                    log.warning(
                        "bulletin %s: room %s failed permanently: %s",
                        bulletin.id, row.room_id, result.reason,
                    )
                    await self.store.mark_failed(row.id, result.reason[:200], self.clock.now())
                    return
                if isinstance(result, RateLimited):
                    rate_waits += 1
                    if rate_waits > self.settings.max_rate_limit_waits:
                        await self.store.mark_failed(row.id, "rate limited", self.clock.now())
                        return
                    await self.sleep(max(0.0, result.retry_after.total_seconds()))
                    continue
                failures += 1
                if failures >= self.settings.max_attempts:
                    await self.store.mark_failed(
                        row.id, f"gave up: {result.reason}"[:200], self.clock.now()
                    )
                    return
                backoff = self.settings.retry_backoff * (2 ** (failures - 1))
                await self.sleep(backoff.total_seconds())

    async def _send(self, row: Delivery, message: RenderedMessage) -> SendResult:
        try:
            return await self.transport.send(row.room_id, message, row.txn_id)
        except Exception as exc:  # noqa: BLE001 - one bad room never stops the others
            log.warning("send to %s raised %s; will retry", row.room_id, type(exc).__name__)
            return TemporaryFailure(type(exc).__name__)

    # --- urgent notices --------------------------------------------------------------------------

    async def notice(
        self,
        target: Target,
        text: Text,
        created_by: str,
        station_id: StationId | None,
        mention_room: bool,
    ) -> list[Report]:
        """Post at once to every target room through the same ledger (occurrence = now), so a
        notice is exactly-once too; returns the delivery report. Callers check permissions
        (see BulletinCommands.notice)."""
        bulletin, occurrence = await self.create_notice(
            target, text, created_by, station_id, mention_room
        )
        return await self.fan_out(bulletin, occurrence)

    async def create_notice(
        self,
        target: Target,
        text: Text,
        created_by: str,
        station_id: StationId | None,
        mention_room: bool,
    ) -> tuple[Bulletin, Occurrence]:
        """Record a notice and its one occurrence (now), to fan out with ``fan_out``. Written
        in the caller's unit of work, the notice exists exactly when the command that asked
        for it is done; an occurrence not yet fanned out is finished by ``resume``."""
        now = self.clock.now()
        bulletin = await self.store.create_bulletin(
            kind=BulletinKind.NOTICE,
            text=text,
            translations={},
            target=target,
            schedule=Schedule(ScheduleKind.NOW, timezone=self.settings.default_timezone),
            created_by=created_by,
            station_id=station_id,
            next_at=None,
            mention_room=mention_room,
            now=now,
        )
        occurrence = await self.store.create_notice_occurrence(bulletin.id, now, now)
        return bulletin, occurrence
