"""Durations as people type them: ``90s``, ``30m``, ``72h``, ``7d``, ``1h30m``, ``2w``."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from linli.common.errors import DomainError, excerpt

_UNITS = {
    "s": 1, "sec": 1, "秒": 1,
    "m": 60, "min": 60, "分": 60, "分钟": 60,
    "h": 3600, "小时": 3600, "时": 3600,
    "d": 86400, "天": 86400,
    "w": 7 * 86400, "周": 7 * 86400,
}
_PART = re.compile(r"([0-9]+)\s*(sec|min|分钟|小时|[smhdw秒分时天周])", re.IGNORECASE)
MAX_TEXT = 32
"""A duration is a few characters (``1h30m``, ``2小时``); longer input is no duration."""
MAX_DURATION = timedelta(days=36500)
"""Far beyond any sensible setting, and far inside what dates and timedeltas can hold."""


def parse_duration(text: str) -> timedelta:
    """Parse a duration; raise DomainError("error.invalid_duration") with a short excerpt of
    the input on failure. Full-width characters (``５分钟``, ``７ｄ``) read as their plain
    forms; other digits, signs, exponents and anything over 100 years do not parse."""
    raw = str(text)
    value = unicodedata.normalize("NFKC", raw[: MAX_TEXT * 2]).strip().lower()
    if not value or len(value) > MAX_TEXT:
        raise DomainError("error.invalid_duration", value=excerpt(raw))
    pos = 0
    total = 0
    for match in _PART.finditer(value):
        if value[pos:match.start()].strip():
            raise DomainError("error.invalid_duration", value=excerpt(raw))
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or value[pos:].strip():
        raise DomainError("error.invalid_duration", value=excerpt(raw))
    if total <= 0 or total > MAX_DURATION.total_seconds():
        raise DomainError("error.invalid_duration", value=excerpt(raw))
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
