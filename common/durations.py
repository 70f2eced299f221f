"""Durations as people type them: ``90s``, ``30m``, ``72h``, ``7d``, ``1h30m``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

from common.errors import DomainError

_UNITS = {
    "s": 1, "sec": 1, "秒": 1,
    "m": 60, "min": 60, "分": 60, "分钟": 60,
    "h": 3600, "小时": 3600, "时": 3600,
    "d": 86400, "天": 86400,
    "w": 7 * 86400, "周": 7 * 86400,
}
_PART = re.compile(r"(\d+)\s*(sec|min|分钟|小时|[smhdw秒分时天周])", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """Parse a duration; raise DomainError("error.invalid_duration") with the input on failure."""
    value = str(text).strip().lower()
    if not value:
        raise DomainError("error.invalid_duration", value=str(text))
    pos = 0
    total = 0
    for match in _PART.finditer(value):
        if value[pos:match.start()].strip():
            raise DomainError("error.invalid_duration", value=str(text))
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or value[pos:].strip():
        raise DomainError("error.invalid_duration", value=str(text))
    if total <= 0:
        raise DomainError("error.invalid_duration", value=str(text))
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """Compact form that parse_duration reads back: 5400 s -> ``1h30m``."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)
