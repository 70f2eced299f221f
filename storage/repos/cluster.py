"""Several bot processes on one PostgreSQL database: heartbeats and compound leases.

PostgreSQL is the coordinator: a process's heartbeat is a row, a compound's owner is a row
with a lease time and an epoch, and taking compounds is an ``UPDATE`` of rows picked with
``FOR UPDATE SKIP LOCKED``, so two processes never take the same compound and never wait on
each other. All times are the database's (``now()``), so the machines' clocks do not matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from linli.common.ids import CompoundId
from linli.storage.db import Database


@dataclass(frozen=True)
class Handover:
    """A compound this process took: from whom (None: nobody held it) and the new epoch."""

    compound_id: CompoundId
    previous_owner: str | None
    epoch: int


@dataclass(frozen=True)
class Shares:
    """How the compounds are divided now: live processes and what each owns."""

    compounds: int  # compounds with a room
    owned: dict[str, int]  # live process -> compounds it holds under a valid lease

    @property
    def live(self) -> int:
        return len(self.owned)


@dataclass(frozen=True)
class ProcessInfo:
    id: str
    name: str
    web_port: int | None
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    compounds: tuple[CompoundId, ...]


_SECONDS = "make_interval(secs => CAST(:secs AS double precision))"


class ClusterRepository:
    """Heartbeats and compound leases; PostgreSQL only (SQLite runs one process)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def heartbeat(self, process_id: str, name: str, web_port: int | None,
                        lease: timedelta) -> frozenset[CompoundId]:
        """Say this process is alive, make sure every compound with a room has a lease row,
        and renew this process's leases; returns the compounds it still holds (a lease that
        ran out and was taken by another process is no longer among them)."""
        secs = lease.total_seconds()
        async with self.db.transaction() as s:
            await s.execute(text(
                "INSERT INTO cluster_processes (id, name, web_port, started_at, heartbeat_at) "
                "VALUES (:id, :name, :port, now(), now()) "
                "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), web_port = :port"
            ), {"id": process_id, "name": name, "port": web_port})
            await s.execute(text(
                "INSERT INTO compound_leases (compound_id, epoch) "
                "SELECT c.id, 0 FROM compounds c WHERE c.room_id IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM compound_leases l WHERE l.compound_id = c.id) "
                "ON CONFLICT (compound_id) DO NOTHING"
            ))
            rows = await s.execute(text(
                f"UPDATE compound_leases SET lease_until = now() + {_SECONDS} "
                "WHERE owner = :id RETURNING compound_id"
            ), {"id": process_id, "secs": secs})
            return frozenset(CompoundId(r[0]) for r in rows)

    async def shares(self, lease: timedelta) -> Shares:
        """Live processes (a heartbeat within ``lease``) and how many compounds each holds."""
        async with self.db.session() as s:
            total = (await s.execute(text(
                "SELECT count(*) FROM compounds WHERE room_id IS NOT NULL"
            ))).scalar_one()
            rows = (await s.execute(text(
                "SELECT p.id, count(l.compound_id) FROM cluster_processes p "
                "LEFT JOIN compound_leases l ON l.owner = p.id AND l.lease_until >= now() "
                f"WHERE p.heartbeat_at >= now() - {_SECONDS} GROUP BY p.id"
            ), {"secs": lease.total_seconds()})).all()
        return Shares(int(total), {str(r[0]): int(r[1]) for r in rows})

    async def take(self, process_id: str, lease: timedelta, limit: int,
                   stale_only: bool = False) -> list[Handover]:
        """Take up to ``limit`` compounds nobody holds (free, or their lease ran out), lowest
        ids first; rows another process is taking at this moment are skipped, not waited
        for. ``stale_only``: only those that have had no owner for a whole lease or more."""
        if limit <= 0:
            return []
        condition = ("(l.owner IS NULL OR l.lease_until < now())" if not stale_only else
                     f"l.lease_until < now() - {_SECONDS}")
        async with self.db.transaction() as s:
            rows = await s.execute(text(
                "UPDATE compound_leases t SET owner = :id, "
                f"lease_until = now() + {_SECONDS}, epoch = t.epoch + 1, acquired_at = now() "
                "FROM (SELECT l.compound_id, l.owner FROM compound_leases l "
                "      JOIN compounds c ON c.id = l.compound_id AND c.room_id IS NOT NULL "
                f"      WHERE {condition} ORDER BY l.compound_id LIMIT :limit "
                "      FOR UPDATE OF l SKIP LOCKED) AS old "
                "WHERE t.compound_id = old.compound_id "
                "RETURNING t.compound_id, old.owner, t.epoch"
            ), {"id": process_id, "secs": lease.total_seconds(), "limit": limit})
            return [Handover(CompoundId(r[0]), r[1], int(r[2])) for r in rows]

    async def release(self, process_id: str, compounds: Iterable[CompoundId] | None = None
                      ) -> int:
        """Give up these compounds (all with None) so that another process takes them."""
        params: dict[str, object] = {"id": process_id}
        where = "owner = :id"
        if compounds is not None:
            ids = [int(c) for c in compounds]
            if not ids:
                return 0
            where += " AND compound_id = ANY(:ids)"
            params["ids"] = ids
        async with self.db.transaction() as s:
            result = await s.execute(text(
                f"UPDATE compound_leases SET owner = NULL, lease_until = now() WHERE {where}"
            ), params)
        return int(result.rowcount or 0)

    async def leave(self, process_id: str) -> None:
        """An orderly stop: every compound released and the process row gone, at once."""
        async with self.db.transaction() as s:
            await s.execute(text(
                "UPDATE compound_leases SET owner = NULL, lease_until = now() WHERE owner = :id"
            ), {"id": process_id})
            await s.execute(text("DELETE FROM cluster_processes WHERE id = :id"),
                            {"id": process_id})

    async def forget_token(self, key: str) -> None:
        """Remove a stopped process's sync token (its successor starts with a fresh one)."""
        async with self.db.transaction() as s:
            await s.execute(text("DELETE FROM bot_state WHERE key = :key"), {"key": key})

    async def forget_dead(self, older_than: timedelta, token_prefix: str) -> None:
        """Remove the rows of processes silent for ``older_than`` (killed long ago), and
        their sync tokens (``token_prefix`` + process id in the bot's state)."""
        async with self.db.transaction() as s:
            await s.execute(text(
                "DELETE FROM bot_state WHERE key IN (SELECT :prefix || id FROM "
                f"cluster_processes WHERE heartbeat_at < now() - {_SECONDS})"
            ), {"prefix": token_prefix, "secs": older_than.total_seconds()})
            await s.execute(text(
                f"DELETE FROM cluster_processes WHERE heartbeat_at < now() - {_SECONDS}"
            ), {"secs": older_than.total_seconds()})

    async def processes(self, lease: timedelta) -> list[ProcessInfo]:
        """Every process row with the compounds it holds under a valid lease."""
        async with self.db.session() as s:
            rows = (await s.execute(text(
                "SELECT p.id, p.name, p.web_port, p.started_at, p.heartbeat_at, "
                f"p.heartbeat_at >= now() - {_SECONDS} AS alive, "
                "array_remove(array_agg(l.compound_id ORDER BY l.compound_id), NULL) "
                "FROM cluster_processes p LEFT JOIN compound_leases l "
                "ON l.owner = p.id AND l.lease_until >= now() "
                "GROUP BY p.id ORDER BY p.started_at, p.id"
            ), {"secs": lease.total_seconds()})).all()
        return [
            ProcessInfo(str(r[0]), str(r[1]), r[2], r[3], r[4], bool(r[5]),
                        tuple(CompoundId(c) for c in (r[6] or ())))
            for r in rows
        ]

    async def direct_rooms(
        self, compounds: frozenset[CompoundId], homeless: bool = False
    ) -> list[tuple[str, frozenset[CompoundId]]]:
        """The bot's direct rooms whose person is a member of one of ``compounds``, with the
        compounds they are a member of (and, if ``homeless``, the rooms of people who are no
        member anywhere: staff, with an empty set): the direct rooms a process owns."""
        async with self.db.session() as s:
            rows = (await s.execute(text(
                "SELECT d.room_id, array_remove(array_agg(DISTINCT m.compound_id), NULL) "
                "FROM direct_rooms d LEFT JOIN verification_members m ON m.user_id = d.user_id "
                "GROUP BY d.room_id "
                "HAVING bool_or(m.compound_id = ANY(:ids)) "
                "OR (:homeless AND count(m.compound_id) = 0)"
            ), {"ids": sorted(int(c) for c in compounds), "homeless": homeless})).all()
        return [(str(r[0]), frozenset(CompoundId(c) for c in (r[1] or ()))) for r in rows]
