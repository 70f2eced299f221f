"""Messages people read, in zh-CN (the default) and English.

Every part that speaks to people keeps its gettext catalogue next to its code:
``<part>/locale/<lang>/LC_MESSAGES/linli.po`` (and the compiled ``.mo`` the bot reads). The
msgids are the message keys the code uses (``verification.dm.prompt``); the translations are the
texts, with ``{name}`` fields filled whole: handlers never glue sentences together. A message
with a count has plural forms: its ``msgid_plural`` names the field that counts (``{count}``)
and each locale gives as many forms as its ``Plural-Forms`` header asks for (one in Chinese, two
in English). ``linli.common.catalogues`` extracts the keys from the code and updates and
compiles the catalogues (``make messages``). The composition root merges every part's
catalogue into one Translator.
"""

from __future__ import annotations

import gettext
import string
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.lists import format_list
from babel.messages.mofile import read_mo
from babel.units import format_unit


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


DEFAULT_LOCALE = Locale.ZH_CN
DOMAIN = "linli"


def catalogue_dir(locale: str | Locale) -> str:
    """The folder of a locale under ``locale/``: gettext writes ``zh_CN`` for ``zh-CN``."""
    return str(locale).replace("-", "_")


def known_locale(locale: str | Locale) -> Locale:
    """The locale itself if the bot speaks it, else the default (as the Translator falls back)."""
    return Locale(str(locale)) if str(locale) in {loc.value for loc in Locale} else DEFAULT_LOCALE


def babel_locale(locale: str | Locale) -> str:
    return catalogue_dir(known_locale(locale))


class Plural(str):
    """A message with plural forms. As a ``str`` it is its general (last) form, so code that
    only reads texts (tests looking for a phrase) sees a sentence; ``form(n)`` picks the form
    for a count as the locale's ``Plural-Forms`` rule says."""

    count_field: str
    forms: tuple[str, ...]
    _choose: Callable[[int], int]

    def __new__(cls, count_field: str, forms: Iterable[str],
                choose: Callable[[int], int]) -> Plural:
        forms = tuple(forms)
        self = super().__new__(cls, forms[-1])
        self.count_field = count_field
        self.forms = forms
        self._choose = choose
        return self

    def form(self, n: Any) -> str:
        try:
            index = self._choose(int(n))
        except (TypeError, ValueError):  # not a number (a dash for "unknown"): the general form
            return self.forms[-1]
        return self.forms[min(index, len(self.forms) - 1)]


Catalog = Mapping[str, Mapping[str, str]]
"""key -> {locale: template}; a template is a ``str`` or a ``Plural``."""


@cache
def catalogue(part: str) -> Catalog:
    """One part's messages in every locale, read from its compiled catalogues
    (``linli.<part>/locale/<lang>/LC_MESSAGES/linli.mo``); untranslated entries are left out,
    so the Translator falls back to the default locale for them."""
    out: dict[str, dict[str, str]] = {}
    root = resources.files(f"linli.{part}") / "locale"
    for loc in Locale:
        mo = root / catalogue_dir(loc) / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if not mo.is_file():
            continue
        with mo.open("rb") as f:
            compiled = read_mo(f)
        choose = gettext.c2py(compiled.plural_expr)
        for message in compiled:
            if not message.id:
                continue  # the header
            if isinstance(message.id, tuple | list):
                key = message.id[0]
                count = message.id[1].strip("{}")
                if all(message.string):
                    out.setdefault(key, {})[loc.value] = Plural(count, message.string, choose)
            elif message.string:
                out.setdefault(message.id, {})[loc.value] = message.string
    return out


def _fields(template: str) -> set[str]:
    forms = template.forms if isinstance(template, Plural) else (template,)
    return {name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name}


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

    def template(self, locale: str | Locale, key: str) -> str:
        templates = self._messages[key]
        return templates.get(str(locale)) or templates[DEFAULT_LOCALE]

    def render(self, locale: str | Locale, key: str, **params: Any) -> str:
        template = self.template(locale, key)
        if isinstance(template, Plural):
            template = template.form(params[template.count_field])
        return template.format(**params)

    def problems(self) -> list[str]:
        """Keys missing a locale, with an empty text, whose locales (or plural forms) disagree
        on their fields, or whose plural count is no field of theirs (for tests)."""
        out = []
        for key, templates in self._messages.items():
            for loc in Locale:
                if loc.value not in templates:
                    out.append(f"{key}: no {loc.value}")
            texts = [form for t in templates.values()
                     for form in (t.forms if isinstance(t, Plural) else (t,))]
            if not all(text.strip() for text in texts):
                out.append(f"{key}: empty text")
            fields = {frozenset(_fields(t)) for t in texts}
            if len(fields) > 1:
                out.append(f"{key}: fields differ between locales")
            for t in templates.values():
                if isinstance(t, Plural) and t.count_field not in _fields(t):
                    out.append(f"{key}: counts {{{t.count_field}}}, which it does not show")
        return out


def parse_locale(text: str) -> Locale:
    value = text.strip().replace("_", "-")
    for loc in Locale:
        if loc.value.lower() == value.lower():
            return loc
    if value.lower() in ("zh", "zh-hans", "cn"):
        return Locale.ZH_CN
    raise ValueError(f"unknown locale {text!r}; use zh-CN or en")


_UNITS = (("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60),
          ("duration-second", 1))


def humanize_duration(delta: timedelta, locale: str | Locale) -> str:
    """A duration for reading, in the locale's short units (CLDR, through Babel):
    ``1小时30分钟`` / ``1 hr 30 min``; at most the two largest units, so it rounds down to
    minutes past an hour."""
    seconds = max(0, int(delta.total_seconds()))
    loc = babel_locale(locale)
    parts: list[str] = []
    for unit, size in _UNITS:
        value, seconds = divmod(seconds, size)
        if value and len(parts) < 2:
            parts.append(format_unit(value, unit, length="short", locale=loc))
    if not parts:
        return str(format_unit(0, "duration-second", length="short", locale=loc))
    return str(format_list(parts, style="unit-narrow", locale=loc))


_TIME_PATTERNS = {Locale.ZH_CN: "yyyy-MM-dd HH:mm", Locale.EN: "yyyy-MM-dd HH:mm"}
"""Wall-clock times read like the times people type into commands (``once 2026-03-05 09:00``),
so a reply can be copied back; a locale that wants another order adds its CLDR pattern here."""


def format_local_time(when: datetime, tz: str, locale: str | Locale) -> str:
    """A wall-clock time in the compound's zone, e.g. ``2026-03-02 09:30``."""
    known = known_locale(locale)
    return str(format_datetime(when, _TIME_PATTERNS[known], tzinfo=ZoneInfo(tz),
                               locale=babel_locale(known)))
