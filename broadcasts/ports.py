"""What the broadcasts core needs from the outside: a transport that sends to a room and a
store that keeps bulletins, occurrences, the delivery ledger and the scheduler lease.

The edge implements ``Transport`` with matrix-nio (``room_send`` with the given transaction
id, so the homeserver deduplicates a retry); storage/repos/broadcasts.py implements
``BroadcastStore``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from linli.broadcasts.model import (
    Bulletin,
    BulletinKind,
    Delivery,
    Occurrence,
    OccurrenceOutcome,
    RenderedMessage,
    RoomTarget,
    Schedule,
    Target,
    Text,
)
from linli.common.ids import EventID, RoomID, StationId


@dataclass(frozen=True)
class Sent:
    """The homeserver accepted the event."""

    event_id: EventID


@dataclass(frozen=True)
class RateLimited:
    """429 M_LIMIT_EXCEEDED: wait ``retry_after`` and send again (same transaction id)."""

    retry_after: timedelta


@dataclass(frozen=True)
class PermanentFailure:
    """Will not succeed by retrying: the bot is not in the room, was kicked, the room is gone,
    it may not post. ``reason`` is a short technical text (an errcode), no personal data."""

    reason: str


@dataclass(frozen=True)
class TemporaryFailure:
    """A timeout, a 5xx, a dropped connection: worth a few more tries."""

    reason: str


SendResult = Sent | RateLimited | PermanentFailure | TemporaryFailure


class Transport(Protocol):
    async def send(self, room_id: RoomID, message: RenderedMessage, txn_id: str) -> SendResult:
        """Send one message with a caller-chosen transaction id. Sending the same txn id again
        (as after a crash) must not post twice: Matrix deduplicates by txn id per device."""
        ...


class BroadcastStore(Protocol):
    # bulletins
    async def create_bulletin(
        self,
        *,
        kind: BulletinKind,
        text: Text,
        translations: dict[str, Text],
        target: Target,
        schedule: Schedule,
        created_by: str,
        station_id: StationId | None,
        next_at: datetime | None,
        mention_room: bool,
        now: datetime,
    ) -> Bulletin: ...

    async def get_bulletin(self, bulletin_id: int) -> Bulletin | None: ...

    async def list_bulletins(self, station_ids: set[StationId] | None) -> list[Bulletin]:
        """Bulletins (not notices, not deleted) scoped to these stations or district-wide;
        all of them for None."""
        ...

    async def update_bulletin(
        self,
        bulletin_id: int,
        *,
        paused: bool | None = None,
        next_at: datetime | None = None,
        clear_next_at: bool = False,
        translations: dict[str, Text] | None = None,
    ) -> Bulletin: ...

    async def delete_bulletin(self, bulletin_id: int, now: datetime) -> None:
        """Soft delete: the ledger keeps its history; pending deliveries become skipped."""
        ...

    async def due_bulletins(self, now: datetime, limit: int) -> list[Bulletin]: ...

    async def next_wakeup(self) -> datetime | None: ...

    # occurrences
    async def fire(
        self,
        bulletin_id: int,
        *,
        expected_next_at: datetime,
        new_next_at: datetime | None,
        at: datetime,
        outcome: OccurrenceOutcome,
        late: bool,
        coalesced: int,
        now: datetime,
    ) -> Occurrence | None:
        """Advance the bulletin's cursor from ``expected_next_at`` and record the occurrence,
        in one transaction; None if another process advanced it first."""
        ...

    async def create_notice_occurrence(
        self, bulletin_id: int, at: datetime, now: datetime
    ) -> Occurrence: ...

    async def open_occurrences(self, limit: int) -> list[Occurrence]: ...

    async def complete_occurrence(self, occurrence_id: int, now: datetime) -> bool:
        """Mark done once; True only for the caller that did it (who then reports)."""
        ...

    # ledger
    async def create_deliveries(
        self,
        bulletin_id: int,
        occurrence: datetime,
        rooms: Sequence[tuple[RoomTarget, str]],
        now: datetime,
    ) -> None:
        """Insert one pending row per (room, txn id) in one batch; existing rows are kept."""
        ...

    async def deliveries(self, bulletin_id: int, occurrence: datetime) -> list[Delivery]: ...

    async def claim(self, delivery_id: int, owner: str, until: datetime, now: datetime) -> bool:
        """Take a pending row whose claim is free, expired or already ours; counts an attempt."""
        ...

    async def mark_delivered(self, delivery_id: int, event_id: EventID, now: datetime) -> None: ...

    async def mark_failed(self, delivery_id: int, error: str, now: datetime) -> None: ...

    # lease
    async def acquire_lease(
        self, name: str, owner: str, until: datetime, now: datetime
    ) -> bool: ...

    async def release_lease(self, name: str, owner: str) -> None: ...
