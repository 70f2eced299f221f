"""Errors the domain raises for people to read.

A DomainError carries a message key and parameters, never a finished sentence: the edge
renders it in the reader's language (see common.i18n).
"""

from __future__ import annotations

from typing import Any


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
