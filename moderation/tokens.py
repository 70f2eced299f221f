"""Web tokens for the admin dashboard: random, shown once, stored only as SHA-256 hashes,
revocable, with the last time each was used.

A token carries 256 random bits, so a plain SHA-256 is enough: there is nothing to guess
that a keyed hash would protect better, and look-up by hash stays one indexed query.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from linli.common.clock import Clock
from linli.common.errors import DomainError, PermissionDenied
from linli.common.ids import StationId

if TYPE_CHECKING:
    from linli.storage.repos.moderation import WebTokenRepository

log = logging.getLogger(__name__)

TOKEN_PREFIX = "linli_"
# Record use at most this often, so a busy dashboard does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class PrincipalKind(StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"


@dataclass(frozen=True)
class WebToken:
    """A token's record; never holds the secret."""

    id: int
    kind: PrincipalKind
    station_id: StationId | None
    label: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Principal:
    """Who a dashboard request acts as. An admin without a station sees the whole district;
    an officer (or a station admin) sees only their station's compounds."""

    kind: PrincipalKind
    station_id: StationId | None
    token_id: int
    label: str

    @property
    def actor(self) -> str:
        """How the audit table names this principal."""
        return f"token:{self.token_id}"

    def may_see_station(self, station_id: int) -> bool:
        return self.station_id is None or self.station_id == station_id


@dataclass(frozen=True)
class IssuedToken:
    """The one moment the secret exists outside the caller's hands."""

    token: WebToken
    secret: str

    def __repr__(self) -> str:  # the secret never reaches a log through repr
        return f"IssuedToken(token={self.token!r}, secret=<hidden>)"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class TokenService:
    def __init__(self, repo: WebTokenRepository, clock: Clock) -> None:
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
