"""What the moderation core needs from storage: the restrictions the bot imposed and the
warnings officers gave. storage/repos/moderation.py implements ``ModerationStore``; a call
writes in the caller's unit of work (``common.ports.Transactions``), in a transaction of its
own if none is open."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from linli.common.ids import CompoundId, RoomID, UserID
from linli.moderation.model import Restriction, RestrictionKind, WarningRecord


class ModerationStore(Protocol):
    async def add_restriction(
        self,
        *,
        compound_id: CompoundId,
        room_id: RoomID,
        user_id: UserID,
        kind: RestrictionKind,
        imposed_by: UserID,
        reason: str,
        ends_at: datetime | None = None,
        previous_level: int | None = None,
        muted_level: int | None = None,
        escalate_warnings: Collection[int] = (),
    ) -> Restriction:
        """Store a new restriction; ``escalate_warnings`` are used up by it, together."""
        ...

    async def active(
        self, room_id: str, user_id: str, kind: RestrictionKind
    ) -> Restriction | None: ...

    async def active_in_compounds(
        self, compound_ids: Collection[int], kind: RestrictionKind | None = None
    ) -> list[Restriction]: ...

    async def count_active(self) -> dict[RestrictionKind, int]:
        """Active restrictions by kind (for metrics)."""
        ...

    async def change_end(self, restriction_id: int, ends_at: datetime, reason: str) -> bool:
        """Move the end of a restriction still in force; False if it was lifted meanwhile."""
        ...

    async def lift(self, restriction_id: int, lifted_by: str) -> Restriction | None:
        """Mark lifted unless someone already did (None then: nobody lifts it twice)."""
        ...

    async def claim_due(
        self,
        now: datetime,
        lifted_by: str,
        limit: int = 500,
        compound_ids: Collection[int] | None = None,
    ) -> list[Restriction]:
        """Mark timed restrictions that ended by ``now`` as lifted and return them, each to
        one caller only."""
        ...

    async def add_warning(
        self, compound_id: CompoundId, user_id: UserID, actor: UserID, reason: str
    ) -> WarningRecord: ...

    async def open_warnings(
        self, compound_id: CompoundId, user_id: str, since: datetime
    ) -> list[WarningRecord]:
        """Warnings given after ``since`` not yet used up by a mute, oldest first."""
        ...
