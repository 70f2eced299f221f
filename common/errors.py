"""Errors the domain raises for people to read.

A DomainError carries a message key and parameters, never a finished sentence: the edge
renders it in the reader's language (see common.i18n).
"""

from __future__ import annotations

import unicodedata
from typing import Any

EXCERPT = 40
"""Characters of a person's input a message may repeat back: enough to recognise it, never
so much that the reply grows past what the homeserver accepts."""


def excerpt(text: object, limit: int = EXCERPT) -> str:
    """``text`` as a message may echo it: invisible and control characters (zero-width
    spaces, direction overrides, NULs, line breaks) removed, cut to ``limit`` characters."""
    visible = "".join(
        ch for ch in str(text)[: limit * 4]
        if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
    )
    return visible if len(visible) <= limit else visible[:limit] + "…"


class DomainError(Exception):
    """An expected failure whose message is safe to show to the person who caused it."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __repr__(self) -> str:  # keeps parameters (which may hold user input) out of logs
        return f"DomainError({self.key!r})"

    def __str__(self) -> str:
        return self.key


class NotFound(DomainError):
    """A named thing (compound, station, bulletin, household) does not exist."""


class Conflict(DomainError):
    """The request contradicts what is stored (a duplicate slug, an account already linked)."""


class PermissionDenied(DomainError):
    """The caller lacks the role the action needs."""
