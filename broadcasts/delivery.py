"""Exactly-once fan-out: deciding occurrences, the delivery ledger, catch-up, urgent notices.

How "exactly once" is kept, and where it stops:

- One scheduler per database: ``tick`` runs only while this process holds the lease row
  (owner id + expiry, renewed during long fan-outs). A second process on the same database
  waits until the lease expires.
- An occurrence is decided by advancing the bulletin's ``next_at`` with a conditional update
  and inserting the occurrence row (unique per bulletin and instant) in one transaction, so
  two processes cannot both decide it, lease or not.
- The ledger has one row per (bulletin, occurrence, room), unique, written before sending with
  a transaction id derived from the three. A sender claims a pending row with a conditional
  UPDATE (free, expired or its own claim), sends with that txn id, then marks it delivered
  with the event id. A crash between sending and marking leaves the row pending; whoever
  resumes it sends again with the same txn id and the homeserver returns the first event
  instead of posting twice.
- Limits: Matrix deduplicates txn ids per access token, so a bot that logs in afresh (new
  token) between the crash and the retry can post that one room twice. A claim of a killed
  process is taken over only after it expires (``lease_ttl``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from linli.broadcasts.model import (
    DEFAULT_TIMEZONE,
    Bulletin,
    BulletinKind,
    Delivery,
    DeliveryState,
    Occurrence,
    OccurrenceOutcome,
    RenderedMessage,
    Reply,
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
from linli.broadcasts.render import RoomContext, render_bulletin
from linli.broadcasts.schedule import FireTimes
from linli.broadcasts.targets import target_compounds, target_rooms
from linli.common.clock import Clock
from linli.common.i18n import Translator, format_local_time, humanize_duration
from linli.common.ids import CompoundId, RoomID, StationId
from linli.community.model import Directory, Role

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
_TICK = timedelta(microseconds=1)
# Counting missed occurrences of a long outage stops here and jumps to the catch-up window.
_COUNT_CAP = 2000


@dataclass(frozen=True)
class BroadcastSettings:
    catch_up_window: timedelta = timedelta(hours=1)
    lease_ttl: timedelta = timedelta(seconds=60)
    max_concurrent_sends: int = 8
    late_after: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    max_rate_limit_waits: int = 30
    retry_backoff: timedelta = timedelta(seconds=2)
    lease_name: str = "broadcasts"
    due_batch: int = 200
    default_timezone: str = DEFAULT_TIMEZONE


@dataclass(frozen=True)
class Missed:
    """What happened between a bulletin's cursor and now."""

    latest: datetime
    count: int
    next_at: datetime | None


def txn_id(bulletin_id: int, occurrence: datetime, room_id: str) -> str:
    """Deterministic: the same (bulletin, occurrence, room) always sends with the same txn id."""
    digest = hashlib.sha256(
        f"{bulletin_id}|{occurrence.isoformat()}|{room_id}".encode()
    ).hexdigest()
    return f"linli.bc.{bulletin_id}.{digest[:32]}"


def officer_name(directory: Directory, compound_id: CompoundId, fallback: str) -> str:
    """The officer on duty for a compound: ``settings.officer_on_duty`` if set, else the first
    officer granted for the compound, else for its station."""
    compound = directory.compounds.get(compound_id)
    if compound is None:
        return fallback
    configured = compound.settings.get("officer_on_duty")
    if isinstance(configured, str) and configured.strip():
        return configured.strip()
    for scope in ("compound", "station"):
        for g in directory.grants:
            if g.role is not Role.OFFICER or not g.display_name:
                continue
            if (scope == "compound" and g.compound_id == compound.id) or (
                scope == "station" and g.station_id == compound.station_id
                and g.compound_id is None
            ):
                return g.display_name
    return fallback


class Renderer:
    """Renders a bulletin for one compound's room in the compound's language."""

    def __init__(self, translator: Translator) -> None:
        self.translator = translator

    def render(
        self,
        bulletin: Bulletin,
        series_index: int,
        when: datetime,
        compound_id: CompoundId | None,
        directory: Directory,
    ) -> RenderedMessage:
        compound = directory.compounds.get(compound_id) if compound_id is not None else None
        locale = compound.locale if compound else "zh-CN"
        station = directory.stations.get(compound.station_id) if compound else None
        on_duty = self.translator.render(locale, "broadcasts.officer_on_duty")
        context = RoomContext(
            compound=compound.name if compound else "",
            station=station.name if station else "",
            officer=officer_name(directory, compound.id, on_duty) if compound else on_duty,
            when=when,
            timezone=compound.timezone if compound else bulletin.schedule.timezone,
        )
        text = bulletin.text_for(locale)
        title = text.title
        if bulletin.kind is BulletinKind.NOTICE:
            title = self.translator.render(locale, "broadcasts.notice.title")
        return render_bulletin(
            title, text.body_for(series_index), context.values(), bulletin.mention_room
        )


class DeliveryService:
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

    def missed(self, schedule: Schedule, first: datetime, now: datetime) -> Missed:
        """The latest fire time at or before ``now`` starting from ``first`` (itself a fire
        time), how many there were, and the next one after ``now``."""
        window_start = now - self.settings.catch_up_window
        latest, count = first, 1
        nxt = self.fire_times.next_fire(schedule, first)
        while nxt is not None and nxt <= now:
            latest, count = nxt, count + 1
            if count >= _COUNT_CAP and latest < window_start:
                # A long outage of a frequent bulletin: what lies before the window is skipped
                # anyway, so jump to it (the count becomes a lower bound).
                nxt = self.fire_times.next_fire(schedule, window_start - _TICK)
            else:
                nxt = self.fire_times.next_fire(schedule, latest)
        return Missed(latest=latest, count=count, next_at=nxt)

    async def due(self, now: datetime) -> list[tuple[Bulletin, Occurrence]]:
        """Decide every due occurrence: the latest missed one is fired if it lies within the
        catch-up window, else recorded as skipped; earlier missed ones are coalesced into it
        (never several stale copies at once). Returns the occurrences to fan out."""
        decided: list[tuple[Bulletin, Occurrence]] = []
        for bulletin in await self.store.due_bulletins(now, self.settings.due_batch):
            if bulletin.next_at is None:
                continue
            try:
                missed = self.missed(bulletin.schedule, bulletin.next_at, now)
            except ValueError:
                log.exception("bulletin %s has a schedule the trigger refuses", bulletin.id)
                continue
            in_window = now - missed.latest <= self.settings.catch_up_window
            occurrence = await self.store.fire(
                bulletin.id,
                expected_next_at=bulletin.next_at,
                new_next_at=missed.next_at,
                at=missed.latest,
                outcome=OccurrenceOutcome.FIRED if in_window else OccurrenceOutcome.SKIPPED,
                late=in_window and now - missed.latest > self.settings.late_after,
                coalesced=missed.count - 1,
                now=now,
            )
            if occurrence is None:
                continue  # another process decided it
            if occurrence.outcome is OccurrenceOutcome.SKIPPED:
                log.warning(
                    "bulletin %s: occurrence %s missed beyond the catch-up window, skipped",
                    bulletin.id, missed.latest,
                )
            decided.append((bulletin, occurrence))
        return decided

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

    # --- reports ---------------------------------------------------------------------------------

    def reports(
        self,
        bulletin: Bulletin,
        occurrence: Occurrence,
        rows: list[Delivery],
        directory: Directory,
    ) -> list[Report]:
        """One line per station involved, for its officers' room."""
        if occurrence.outcome is OccurrenceOutcome.SKIPPED:
            stations = {c.station_id for c in target_compounds(bulletin.target, directory)}
            return [
                Report(
                    room_id=room,
                    locale=locale,
                    reply=Reply(
                        "broadcasts.report.skipped",
                        {
                            "id": bulletin.id,
                            "title": bulletin.text_for(locale).title,
                            "when": format_local_time(
                                occurrence.at, bulletin.schedule.timezone, locale
                            ),
                            "window": self._window(locale),
                        },
                    ),
                )
                for room, locale in self._officers_rooms(stations, directory)
            ]
        out: list[Report] = []
        by_station = sorted(rows, key=lambda r: r.station_id or 0)
        for station_id, group in groupby(by_station, key=lambda r: r.station_id):
            station = directory.stations.get(station_id) if station_id is not None else None
            if station is None or station.officers_room_id is None:
                continue
            out.append(
                Report(
                    room_id=station.officers_room_id,
                    locale=station.locale,
                    reply=self._report_line(
                        bulletin, occurrence, list(group), directory, station.locale
                    ),
                )
            )
        return out

    def _window(self, locale: str) -> str:
        return humanize_duration(self.settings.catch_up_window, locale)

    def _officers_rooms(
        self, stations: set[StationId], directory: Directory
    ) -> list[tuple[RoomID, str]]:
        found = []
        for sid in sorted(stations):
            station = directory.stations.get(sid)
            if station and station.officers_room_id:
                found.append((station.officers_room_id, station.locale))
        return found

    def _report_line(
        self,
        bulletin: Bulletin,
        occurrence: Occurrence,
        rows: list[Delivery],
        directory: Directory,
        locale: str,
    ) -> Reply:
        delivered = late = 0
        failed: list[str] = []
        for row in rows:
            if row.state is DeliveryState.DELIVERED:
                is_late = occurrence.late or (
                    row.sent_at is not None
                    and row.sent_at - occurrence.at > self.settings.late_after
                )
                if is_late:
                    late += 1
                else:
                    delivered += 1
            elif row.state is DeliveryState.FAILED:
                compound = (
                    directory.compounds.get(row.compound_id)
                    if row.compound_id is not None else None
                )
                failed.append(compound.name if compound else row.room_id)
        params: dict[str, object] = {
            "id": bulletin.id,
            "delivered": delivered,
            "late": late,
            "failed": len(failed),
            "failures": Reply("broadcasts.report.failures", {"rooms": ", ".join(failed)})
            if failed else "",
            "coalesced": Reply("broadcasts.report.coalesced", {"count": occurrence.coalesced})
            if occurrence.coalesced else "",
        }
        if bulletin.kind is BulletinKind.NOTICE:
            return Reply("broadcasts.report.notice", params)
        params["title"] = bulletin.text_for(locale).title
        params["when"] = format_local_time(occurrence.at, bulletin.schedule.timezone, locale)
        return Reply("broadcasts.report", params)

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
