"""Enrolment reporting's services: the daily snapshots (so coverage can be drawn over time)
and the dashboard's web tokens (random, shown once, stored only as SHA-256 hashes, revocable,
with the last time each was used).

The figures come from verification's enrolment report; snapshots only store one row per
compound and local day (the compound's own time zone decides what "today" is).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

from linli.common.clock import Clock
from linli.common.errors import DomainError, PermissionDenied
from linli.common.ids import CompoundId, StationId
from linli.enrolment.model import (
    TOKEN_PREFIX,
    IssuedToken,
    Principal,
    PrincipalKind,
    WebToken,
    hash_token,
    local_day,
    new_secret,
)
from linli.enrolment.ports import SnapshotStore, TokenStore
from linli.verification.model import EnrolmentFigures

log = logging.getLogger(__name__)

# Record use at most this often, so a busy dashboard does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class SnapshotService:
    def __init__(self, repo: SnapshotStore, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def record_today(
        self, figures: Iterable[tuple[CompoundId, str, EnrolmentFigures]]
    ) -> int:
        """Write today's row for each (compound id, compound time zone, figures); run it as
        often as you like: a later run the same day replaces that day's numbers."""
        now = self.clock.now()
        by_day: dict[date, dict[CompoundId, EnrolmentFigures]] = {}
        for compound_id, timezone, numbers in figures:
            by_day.setdefault(local_day(now, timezone), {})[compound_id] = numbers
        written = 0
        for day, rows in by_day.items():
            written += await self.repo.write(day, rows, now)
        return written


class TokenService:
    def __init__(self, repo: TokenStore, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def create(
        self, kind: PrincipalKind | str, station_id: StationId | None, label: str
    ) -> IssuedToken:
        """Make a token; the returned secret is shown once and never stored."""
        try:
            kind = PrincipalKind(kind)
        except ValueError:
            raise DomainError("error.token_role", role=str(kind)[:20]) from None
        label = label.strip()
        if not label or len(label) > 200:
            raise DomainError("error.token_label")
        if kind is PrincipalKind.OFFICER and station_id is None:
            raise DomainError("error.token_needs_station")
        secret = new_secret()
        token = await self.repo.create(kind, station_id, label, hash_token(secret))
        log.info("web token %d created (%s)", token.id, kind.value)
        return IssuedToken(token, secret)

    async def authenticate(self, secret: str | None) -> Principal:
        """The principal for a presented token; PermissionDenied for a missing, unknown or
        revoked one (the web edge answers 401)."""
        if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            raise PermissionDenied("error.token_invalid")
        token = await self.repo.by_hash(hash_token(secret))
        if token is None or not token.active:
            raise PermissionDenied("error.token_invalid")
        now = self.clock.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            await self.repo.touch(token.id, now)
        return Principal(token.kind, token.station_id, token.id, token.label)

    async def revoke(self, token_id: int) -> WebToken:
        token = await self.repo.revoke(token_id, self.clock.now())
        log.info("web token %d revoked", token_id)
        return token

    async def list_tokens(self) -> list[WebToken]:
        return await self.repo.list_tokens()
