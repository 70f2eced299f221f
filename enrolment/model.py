"""Plain data of enrolment reporting: daily snapshots and dashboard tokens; no database.

A token carries 256 random bits, so a plain SHA-256 is enough to store it: there is nothing to
guess that a keyed hash would protect better, and look-up by hash stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from linli.common.ids import CompoundId, StationId
from linli.verification.model import EnrolmentFigures

TOKEN_PREFIX = "linli_"


@dataclass(frozen=True)
class EnrolmentSnapshot:
    """One compound's figures on one local day. A snapshot keeps households, households
    enrolled, verified members and the members still waiting (pending and locked together, as
    ``pending_members``); its ``locked_members`` and ``over_cap_households`` read 0."""

    compound_id: CompoundId
    day: date
    figures: EnrolmentFigures
    taken_at: datetime


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


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
