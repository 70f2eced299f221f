"""Normalising what people type: real names, phone numbers and flat addresses.

Two spellings of one name must compare equal, whatever keyboard typed them: a full-width
"Ｌｉ　Ｍｉｎｇ", a name with a space between family and given name, the middle dot of
minority and foreign names ("叶西·卓玛") typed as a bullet, a katakana dot or a full stop,
and Latin letters in any case.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from linli.common.errors import DomainError, excerpt

NAME_DOT = "\u00b7"  # the canonical middle dot: 叶西·卓玛
# Every character people use for the middle dot in names, including the full stop typed when
# the keyboard has no middle dot. After NFKC, U+FF65 becomes U+30FB and U+FF0E becomes ".".
_DOTS = "\u00b7\u0387\u2022\u2027\u2219\u22c5\u30fb\u16eb\u2e31\u318d\u00b8\u2024\u02d1.\uff0e"
_DOT_RE = re.compile("[" + re.escape(_DOTS) + "]+")
# Whitespace of every kind, and the invisible characters that ride along with copy and paste.
_SPACE_RE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u00ad]+")
MAX_NAME = 60


def normalise_name(text: str) -> str:
    """The comparison form of a name: NFKC, no spaces, one kind of middle dot, Latin casefold.

    Returns "" for input with nothing left; callers treat that as "no name".
    """
    value = unicodedata.normalize("NFKC", text)
    value = _SPACE_RE.sub("", value)
    value = _DOT_RE.sub(NAME_DOT, value)
    value = value.strip(NAME_DOT)
    return value.casefold()


def dotless_name(text: str) -> str:
    """The comparison form without the middle dot: a phone keyboard has none, and residents
    type 叶西卓玛 for 叶西·卓玛."""
    return normalise_name(text).replace(NAME_DOT, "")


def names_match(a: str, b: str) -> bool:
    na, nb = dotless_name(a), dotless_name(b)
    return bool(na) and na == nb


_HAN_GAP = re.compile(r"(?<=[\u3400-\u9fff\u00b7])\s+(?=[\u3400-\u9fff\u00b7])")


def display_name(text: str) -> str:
    """A name as stored for display: NFKC, trimmed, canonical dot, single spaces between
    Latin words and none between Chinese characters ("张 伟" -> "张伟")."""
    value = unicodedata.normalize("NFKC", text)
    value = _DOT_RE.sub(NAME_DOT, value)
    value = " ".join(_SPACE_RE.sub(" ", value).split())
    value = _HAN_GAP.sub("", value)
    return value.strip(NAME_DOT + " ")


def mask_name(text: str) -> str:
    """First character and one star ("张*"): enough for neighbours, not a full name.

    One star whatever the length, so the mask does not tell the length of the name either.
    """
    value = display_name(text)
    if not value:
        return "*"
    return value[0] + "*"


# phones ---------------------------------------------------------------------------------------
_PHONE_STRIP = re.compile(r"[\s\-()（）.·/]+")
# Mainland mobile numbers: 11 digits, 13x to 19x.
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Landlines with their area code: 010 and 02x take an 8-digit number, the other (4-digit) area
# codes a 7- or 8-digit one; a local number never starts with 0 or 1.
_LANDLINE = re.compile(r"0(?:10|2\d)[2-9]\d{7}|0[3-9]\d{2}[2-9]\d{6,7}")
# Other countries and regions (Hong Kong 852, Macau 853, Taiwan 886, ...), written with + or
# 00: a country code that does not start with 0, and at most 15 digits in all (E.164).
_INTERNATIONAL = re.compile(r"[1-9]\d{7,14}")


def normalise_phone(text: str) -> str:
    """A resident's phone in one form, or DomainError("error.invalid_phone").

    Accepted: mainland mobiles (``13812345678``, ``+86 138 1234 5678``), landlines with their
    area code (``0571-88889999``, ``010 6512 3456``, ``+86 571 8888 9999``), and numbers
    abroad written with ``+`` or ``00`` (``+852 9123 4567``). Spaces, dashes, dots,
    parentheses and full-width digits are fine. Refused: anything else, such as service
    numbers (``12345``, ``95588``), landlines without area code and extensions. Mainland
    numbers are stored as digits (``057188889999``), others as ``+`` and digits.
    """
    value = unicodedata.normalize("NFKC", text).strip()
    value = _PHONE_STRIP.sub("", value)
    international = value.startswith(("+", "00"))
    if international:
        value = value[1:] if value.startswith("+") else value[2:]
    elif value.startswith("86") and len(value) == 13 and value[2] == "1":
        value, international = value[2:], False  # 86 13812345678: the + forgotten
    if not value.isascii() or not value.isdigit():
        raise DomainError("error.invalid_phone")
    if international and value.startswith("86"):
        national = value[2:]
        if _MOBILE.fullmatch(national):
            return national
        # A landline written internationally drops the area code's leading 0.
        for candidate in (national, "0" + national):
            if _LANDLINE.fullmatch(candidate):
                return candidate
        raise DomainError("error.invalid_phone")
    if international:
        if _INTERNATIONAL.fullmatch(value):
            return "+" + value
        raise DomainError("error.invalid_phone")
    if _MOBILE.fullmatch(value) or _LANDLINE.fullmatch(value):
        return value
    raise DomainError("error.invalid_phone")


def mask_phone(phone: str) -> str:
    """138****5678: the last four digits let a person recognise their own number."""
    digits = phone
    if len(digits) <= 4:
        return "*" * len(digits)
    keep = 3 if len(digits) >= 11 else 0
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


# flats ----------------------------------------------------------------------------------------
_BUILDING_SUFFIX = re.compile(r"(号楼|栋|幢|座|楼|号)$")
_UNIT_SUFFIX = re.compile(r"(单元|门)$")
_FLAT_SUFFIX = re.compile(r"(室|号|户)$")
_PART_RE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]{1,16}$")


def _clean(text: str) -> str:
    return _SPACE_RE.sub("", unicodedata.normalize("NFKC", text)).upper()


def normalise_building(text: str) -> str:
    return _BUILDING_SUFFIX.sub("", _clean(text))


def normalise_unit(text: str) -> str:
    return _UNIT_SUFFIX.sub("", _clean(text))


def normalise_flat(text: str) -> str:
    return _FLAT_SUFFIX.sub("", _clean(text))


def valid_part(text: str) -> bool:
    return bool(_PART_RE.match(text))


@dataclass(frozen=True)
class FlatRef:
    """Building, unit ("" when the building has none) and flat, in normalised form."""

    building: str
    unit: str
    flat: str


_REF_ZH = re.compile(
    r"^(?P<b>[0-9A-Z]+)(号楼|栋|幢|座|号)(?:(?P<u>[0-9A-Z]+)(单元|门))?(?P<f>[0-9A-Z]+)(室|号|户)?$"
)
_REF_DASH = re.compile(r"^(?P<b>[0-9A-Z]+)[-/](?:(?P<u>[0-9A-Z]+)[-/])?(?P<f>[0-9A-Z]+)$")


def parse_flat_ref(text: str) -> FlatRef:
    """Read a flat as officers type it: "3-2-301", "3/2/301", "3栋2单元301", "3-301"."""
    value = _clean(text).replace("—", "-").replace("－", "-")
    for pattern in (_REF_DASH, _REF_ZH):
        m = pattern.match(value)
        if m:
            return FlatRef(m.group("b"), m.group("u") or "", m.group("f"))
    raise DomainError("error.invalid_flat", value=excerpt(text.strip()))
