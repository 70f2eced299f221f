"""The typed syntax of ``!bulletin add`` (and ``linli bulletins add``), parsed to a draft.

::

    !bulletin add TARGET SCHEDULE [until DATE] [tz ZONE] [series] | TITLE | BODY

    TARGET    all | station:SLUG | SLUG[,SLUG...]
    SCHEDULE  once 2026-12-01T09:00        (also: once 2026-12-01 09:00)
              cron "0 9 * * 1"             (five crontab fields, quoted; 0 or 7 = Sunday)
              every 7d [from 2026-03-09T09:00]   (90m, 12h, 7d, 2w; first post at FROM,
                                            or one interval from now)
    until     an end date (2026-12-31 = to the end of that day) or date and time
    tz        a time zone such as Asia/Shanghai; default: the target compounds' zone
    series    BODY is several tips separated by ``||``; one is posted per occurrence, in turn
    BODY      Markdown; may use {compound} {station} {officer} {date}

Examples::

    !bulletin add all cron "0 9 * * 1" series | 防诈骗提示 | 不要轻信陌生来电 || 不要点陌生链接
    !bulletin add station:xinhua once 2026-12-01 09:00 | 消防检查 | {compound}明天检查消防通道
    !bulletin add meiyuan,taoyuan every 7d until 2026-06-30 | 文明养犬 | 遛狗请牵绳

Times without an offset are read in the bulletin's time zone.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime

from linli.broadcasts import schedule as sched
from linli.broadcasts.model import BulletinDraft, Schedule, Target, Text
from linli.broadcasts.render import check_placeholders
from linli.broadcasts.targets import parse_target, target_compounds
from linli.common.errors import DomainError
from linli.common.i18n import parse_locale
from linli.community.model import Directory

MAX_TITLE = 200
MAX_BODY = 20_000
SERIES_SEPARATOR = "||"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")


@dataclass(frozen=True)
class _Head:
    target: str
    kind: str
    value: str
    start: str | None
    until: str | None
    tz: str | None
    series: bool


def split_sections(text: str, expected: int) -> list[str]:
    """Split ``head | title | body`` on the first two bars; the body may hold more bars."""
    parts = [p.strip() for p in text.split("|", expected - 1)]
    if len(parts) != expected or not all(parts):
        raise DomainError("broadcasts.error.usage_add")
    return parts


def _take_time(tokens: list[str], i: int) -> tuple[str, int]:
    """A time is one token (2026-12-01T09:00) or two (2026-12-01 09:00)."""
    if i >= len(tokens):
        raise DomainError("broadcasts.error.usage_add")
    if _DATE.match(tokens[i]) and i + 1 < len(tokens) and _TIME.match(tokens[i + 1]):
        return f"{tokens[i]} {tokens[i + 1]}", i + 2
    return tokens[i], i + 1


def _parse_head(head: str) -> _Head:
    try:
        tokens = shlex.split(head)
    except ValueError:
        raise DomainError("broadcasts.error.usage_add") from None
    if len(tokens) < 3:
        raise DomainError("broadcasts.error.usage_add")
    target, kind = tokens[0], tokens[1].lower()
    i = 2
    start: str | None = None
    if kind == "once":
        value, i = _take_time(tokens, i)
    elif kind == "cron":
        if " " in tokens[i].strip():
            value, i = tokens[i], i + 1
        else:  # unquoted: the next five tokens
            value, i = " ".join(tokens[i:i + 5]), i + 5
    elif kind == "every":
        value, i = tokens[i], i + 1
        if i < len(tokens) and tokens[i].lower() == "from":
            start, i = _take_time(tokens, i + 1)
    else:
        raise DomainError("broadcasts.error.bad_schedule_kind", value=kind[:20])
    until: str | None = None
    tz: str | None = None
    series = False
    while i < len(tokens):
        word = tokens[i].lower()
        if word == "until":
            until, i = _take_time(tokens, i + 1)
        elif word == "tz" and i + 1 < len(tokens):
            tz, i = tokens[i + 1], i + 2
        elif word == "series":
            series, i = True, i + 1
        else:
            raise DomainError("broadcasts.error.unexpected_word", value=tokens[i][:40])
    return _Head(target, kind, value, start, until, tz, series)


def parse_text(title: str, body: str, series: bool) -> Text:
    title = title.strip()
    if len(title) > MAX_TITLE or len(body) > MAX_BODY:
        raise DomainError("broadcasts.error.too_long", limit=MAX_BODY)
    if series:
        bodies = tuple(b.strip() for b in body.split(SERIES_SEPARATOR))
        if len(bodies) < 2 or not all(bodies):
            raise DomainError("broadcasts.error.series_needs_tips")
    else:
        bodies = (body.strip(),)
    text = Text(title=title, bodies=bodies)
    check_placeholders(text)
    return text


def default_timezone(target: Target, directory: Directory, fallback: str) -> str:
    """The target compounds' zone when they agree, else the configured default."""
    zones = {c.timezone for c in target_compounds(target, directory)}
    return zones.pop() if len(zones) == 1 else fallback


def parse_schedule_words(
    kind: str,
    value: str,
    tz: str,
    now: datetime,
    start: str | None = None,
    until: str | None = None,
) -> Schedule:
    end_at = sched.parse_end(until, tz) if until else None
    if kind == "once":
        result = sched.once(sched.parse_local_time(value, tz), tz, now)
    elif kind == "cron":
        result = sched.cron(value, tz, now)
    elif kind == "every":
        start_at = sched.parse_local_time(start, tz) if start else None
        result = sched.interval(sched.parse_interval(value), tz, now, start_at=start_at)
    else:
        raise DomainError("broadcasts.error.bad_schedule_kind", value=kind[:20])
    return sched.with_end(result, end_at, now)


def parse_add(text: str, directory: Directory, now: datetime, fallback_tz: str) -> BulletinDraft:
    """Parse everything after ``!bulletin add``. Raises DomainError naming what is wrong."""
    head, title, body = split_sections(text, 3)
    parsed = _parse_head(head)
    target = parse_target(parsed.target, directory)
    tz = (
        sched.parse_timezone(parsed.tz)
        if parsed.tz
        else default_timezone(target, directory, fallback_tz)
    )
    schedule = parse_schedule_words(
        parsed.kind, parsed.value, tz, now, start=parsed.start, until=parsed.until
    )
    return BulletinDraft(
        text=parse_text(title, body, parsed.series), target=target, schedule=schedule
    )


def parse_translation(text: str, series_length: int) -> tuple[str, Text]:
    """``LOCALE | TITLE | BODY`` (tips separated by ``||`` for a series)."""
    head, title, body = split_sections(text, 3)
    try:
        locale = parse_locale(head).value
    except ValueError:
        raise DomainError("broadcasts.error.bad_locale", value=head[:20]) from None
    if series_length > 1 and len(body.split(SERIES_SEPARATOR)) != series_length:
        raise DomainError("broadcasts.error.series_length", count=series_length)
    return locale, parse_text(title, body, series=series_length > 1)
