"""Deciding occurrences: what is due, what a downtime missed, what is fired, coalesced or
skipped (the catch-up window)."""


from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli.broadcasts.delivery.settings import BroadcastSettings
from linli.broadcasts.model import (
    Bulletin,
    Occurrence,
    OccurrenceOutcome,
    Schedule,
)
from linli.broadcasts.ports import (
    BroadcastStore,
)
from linli.broadcasts.schedule import FireTimes

log = logging.getLogger(__name__)


_TICK = timedelta(microseconds=1)
# Counting missed occurrences of a long outage stops here and jumps to the catch-up window.
_COUNT_CAP = 2000

@dataclass(frozen=True)
class Missed:
    """What happened between a bulletin's cursor and now."""

    latest: datetime
    count: int
    next_at: datetime | None

class Deciding:
    """The part of ``DeliveryService`` that decides occurrences."""

    store: BroadcastStore
    fire_times: FireTimes
    settings: BroadcastSettings

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
