"""Messages people read, in zh-CN (the default) and English.

Every package that speaks to people keeps a ``MESSAGES`` catalog (key -> {locale: template});
the composition root merges them into one Translator. Templates use ``{name}`` fields and are
filled whole: handlers never glue sentences together.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


DEFAULT_LOCALE = Locale.ZH_CN
Catalog = Mapping[str, Mapping[str, str]]

COMMON_MESSAGES: dict[str, dict[str, str]] = {
    "error.invalid_user_id": {
        "zh-CN": "“{value}”不是有效的 Matrix 用户 ID，格式应为 @名字:服务器。",
        "en": "“{value}” is not a valid Matrix user id; it looks like @name:server.",
    },
    "error.invalid_room_id": {
        "zh-CN": "“{value}”不是有效的房间 ID，格式应为 !id:服务器。",
        "en": "“{value}” is not a valid room id; it looks like !id:server.",
    },
    "error.invalid_slug": {
        "zh-CN": "“{value}”不是有效的简称：只能用小写字母、数字和连字符。",
        "en": "“{value}” is not a valid slug: use lower-case letters, digits and hyphens.",
    },
    "error.invalid_duration": {
        "zh-CN": "“{value}”不是有效的时长，请写成 90s、30m、72h 或 7d 这样的形式。",
        "en": "“{value}” is not a valid duration; write it like 90s, 30m, 72h or 7d.",
    },
}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Translator:
    """Renders message keys in a locale; unknown keys are a programming error."""

    def __init__(self, catalogs: Iterable[Catalog]) -> None:
        merged: dict[str, dict[str, str]] = {}
        for catalog in catalogs:
            for key, by_locale in catalog.items():
                if key in merged:
                    raise ValueError(f"message key defined twice: {key}")
                merged[key] = dict(by_locale)
        self._messages = merged

    def keys(self) -> list[str]:
        return sorted(self._messages)

    def has(self, key: str) -> bool:
        return key in self._messages

    def render(self, locale: str | Locale, key: str, **params: Any) -> str:
        templates = self._messages[key]
        template = templates.get(str(locale)) or templates[DEFAULT_LOCALE]
        return template.format(**params)

    def problems(self) -> list[str]:
        """Keys missing a locale or whose locales disagree on their fields (for tests)."""
        out = []
        for key, templates in self._messages.items():
            for loc in Locale:
                if loc.value not in templates:
                    out.append(f"{key}: no {loc.value}")
            fields = {frozenset(_fields(t)) for t in templates.values()}
            if len(fields) > 1:
                out.append(f"{key}: fields differ between locales")
        return out


def parse_locale(text: str) -> Locale:
    value = text.strip().replace("_", "-")
    for loc in Locale:
        if loc.value.lower() == value.lower():
            return loc
    if value.lower() in ("zh", "zh-hans", "cn"):
        return Locale.ZH_CN
    raise ValueError(f"unknown locale {text!r}; use zh-CN or en")


def humanize_duration(delta: timedelta, locale: str | Locale) -> str:
    """A duration for reading: ``1小时30分钟`` / ``1 h 30 min``; rounds to minutes past an hour."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    zh = str(locale) == Locale.ZH_CN.value
    units = (("天", " d"), ("小时", " h"), ("分钟", " min"), ("秒", " s"))
    parts: list[str] = []
    for value, (zh_unit, en_unit) in zip((days, hours, minutes, secs), units, strict=True):
        if value and (len(parts) < 2):
            parts.append(f"{value}{zh_unit}" if zh else f"{value}{en_unit}")
    if not parts:
        return "0秒" if zh else "0 s"
    return "".join(parts) if zh else " ".join(parts)


def format_local_time(when: datetime, tz: str, locale: str | Locale) -> str:
    """A wall-clock time in the compound's zone, e.g. ``2026-03-02 09:30``."""
    local = when.astimezone(ZoneInfo(tz))
    return local.strftime("%Y-%m-%d %H:%M")
