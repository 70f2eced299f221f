"""What every domain service needs from the outside: units of work and the audit log.

The domain declares them as Protocols; storage implements them structurally
(``storage.db.Database`` is a ``Transactions``, ``storage.repos.audit.AuditRepository`` an
``AuditLog``) and the edge passes them in. No domain package imports storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from linli.common.ids import CompoundId

CompoundScope = frozenset[CompoundId] | None
"""The compounds whose periodic work (reminders, removals, deadlines, unmutes) a caller does:
the ids of the compounds its process owns when several processes share the database, or None
for every compound (one process). Stores narrow their queries of due work to it."""


def in_scope(scope: CompoundScope, compound_id: int) -> bool:
    """Whether the compound's periodic work is the caller's."""
    return scope is None or compound_id in scope


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to whom, why and when; ``at`` None means now."""

    actor: str
    action: str
    target: str | None = None
    station_id: int | None = None
    compound_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    id: int | None = None


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None:
        """Write the entry in the current unit of work (in a transaction of its own if none
        is open)."""
        ...

    async def record_all(self, entries: Sequence[AuditEntry]) -> None:
        """Write the entries together, in one statement (the periodic work audits many)."""
        ...


class Transactions(Protocol):
    """Units of work, opened by a service (or the edge) around one decision, so that what
    it writes (a link and its audit entry, a claim and its effects' records) commits
    together or not at all."""

    def unit_of_work(self) -> AbstractAsyncContextManager[object]:
        """Open a unit of work for this task; inside one already, join it. Every store call
        the task makes until it closes is part of it."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[object]:
        """A part of the current unit of work that is taken back alone when the block raises
        (a savepoint); a transaction of its own outside a unit."""
        ...
