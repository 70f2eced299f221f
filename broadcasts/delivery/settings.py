"""The fan-out's settings and the transaction id of a delivery."""


from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli.broadcasts.model import (
    DEFAULT_TIMEZONE,
)

Sleep = Callable[[float], Awaitable[None]]


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

def txn_id(bulletin_id: int, occurrence: datetime, room_id: str) -> str:
    """Deterministic: the same (bulletin, occurrence, room) always sends with the same txn id."""
    digest = hashlib.sha256(
        f"{bulletin_id}|{occurrence.isoformat()}|{room_id}".encode()
    ).hexdigest()
    return f"linli.bc.{bulletin_id}.{digest[:32]}"
