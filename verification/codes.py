"""Enrolment codes: 8 characters of Crockford's base32, shown as XXXX-XXXX.

Crockford's alphabet (digits and capitals without I, L, O and U) has 32 symbols, so 8 of them
carry exactly 40 bits from ``secrets``. It holds no pair of look-alikes: where a reader could
see O, I or L, the parser reads 0, 1 and 1. Codes are accepted with or without the dash, with
spaces, full-width and in any case.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
BITS = LENGTH * 5  # log2(32) = 5 bits per character
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
_SEPARATORS = re.compile(r"[\s\-_‐‑‒–—―−－]+")
_ALPHABET_SET = frozenset(ALPHABET)

CODE_PURPOSE = "enrolment-code"
_PUNCTUATION = re.compile(r"[,，;；:：。!！?？、\"“”'‘’()（）\[\]【】]")


def new_code() -> str:
    """A fresh code in canonical form (8 characters, no dash)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_code(code: str) -> str:
    """Canonical code -> XXXX-XXXX for printing."""
    return f"{code[:4]}-{code[4:]}"


def parse_code(text: str) -> str | None:
    """The canonical form of a typed code, or None if it cannot be one."""
    value = unicodedata.normalize("NFKC", text)
    value = _SEPARATORS.sub("", value).upper().translate(_READ_AS)
    if len(value) != LENGTH or not set(value) <= _ALPHABET_SET:
        return None
    return value


def find_code(text: str) -> str | None:
    """A code somewhere in a message ("我的码 ABCD-EFGH 张三"), or None."""
    return split_reply(text)[0]


def split_reply(text: str) -> tuple[str | None, str]:
    """Split a direct-message reply into (code, the rest as the name).

    People send "ABCD-EFGH 张三", "张三 abcdefgh" or the two on separate lines; the code is
    found wherever it is and what remains is taken as the name.
    """
    value = unicodedata.normalize("NFKC", text)
    pattern = re.compile(
        r"(?<![0-9A-Za-z])([0-9A-Za-z]{4})\s*[-‐‑–—−]?\s*([0-9A-Za-z]{4})(?![0-9A-Za-z])"
    )
    candidates = [m for m in pattern.finditer(value) if parse_code(m.group(1) + m.group(2))]
    if not candidates:
        return None, " ".join(value.split())
    # A Latin name can look like a code ("Anna Berg"); prefer a run that has a dash or a digit.
    best = next(
        (m for m in candidates if "-" in m.group(0) or any(c.isdigit() for c in m.group(0))),
        candidates[0],
    )
    code = parse_code(best.group(1) + best.group(2))
    rest = value[:best.start()] + " " + value[best.end():]
    return code, " ".join(_PUNCTUATION.sub(" ", rest).split())
