"""What enrolment reporting needs from storage, as Protocols; storage/repos/enrolment.py
implements them (and tests may hand in fakes)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Protocol

from linli.common.ids import CompoundId, StationId
from linli.enrolment.model import EnrolmentSnapshot, PrincipalKind, WebToken
from linli.verification.model import EnrolmentFigures


class SnapshotStore(Protocol):
    async def write(
        self, day: date, figures: Mapping[CompoundId, EnrolmentFigures],
        taken_at: datetime | None = None,
    ) -> int:
        """Write (or replace) each compound's row of ``day``; the number of rows written."""
        ...

    async def series(
        self, compound_ids: Collection[CompoundId], start: date | None = None,
        end: date | None = None,
    ) -> dict[CompoundId, list[EnrolmentSnapshot]]:
        """Each compound's snapshots from ``start`` to ``end`` (both included), oldest first."""
        ...


class TokenStore(Protocol):
    async def create(
        self, kind: PrincipalKind, station_id: StationId | None, label: str, token_hash: str
    ) -> WebToken: ...

    async def by_hash(self, token_hash: str) -> WebToken | None: ...

    async def touch(self, token_id: int, at: datetime) -> None: ...

    async def revoke(self, token_id: int, at: datetime) -> WebToken:
        """The revoked token; NotFound for an unknown id."""
        ...

    async def list_tokens(self) -> list[WebToken]: ...
