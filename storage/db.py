"""Engine, sessions and schema upgrades."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """The database cannot be reached or its URL is wrong; the message says which."""


def normalise_url(url: str) -> str:
    """Accept the plain forms people write and choose the async driver for them."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL syncs at checkpoints, not at every commit: a killed process loses
    # nothing; a power cut may lose the last commits, which the event path redoes (their
    # events are not marked done, their effects carry the same transaction ids).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, echo: bool = False, pool_size: int | None = None) -> AsyncEngine:
    """The engine for ``url``; on PostgreSQL ``pool_size`` connections are kept (as many again
    may be opened for a burst), enough for the units of work the bot runs at once."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy's ArgumentError text names the problem
        raise DatabaseError(f"database.url is not a valid database URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    pool: dict[str, Any] = {}
    if pool_size is not None and parsed.get_backend_name() == "postgresql":
        pool = {"pool_size": pool_size, "max_overflow": pool_size}
    engine = create_async_engine(url, echo=echo, pool_pre_ping=True, **pool)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


@dataclass
class UnitOfWork:
    """One transaction for everything a task does between opening and closing it.

    While a unit is open, every ``Database.session()`` and ``Database.transaction()`` in the
    task that opened it joins the unit's transaction (a nested one becomes a savepoint), so
    an event's decisions, its audit entries and the mark that the event is done commit
    together or not at all. Work to start only once the unit has committed (a background
    fan-out that must see the committed rows) goes to ``after_commit``.
    """

    db: Database
    session: AsyncSession
    task: asyncio.Task[Any] | None
    after_commit: list[Callable[[], Any]] = field(default_factory=list)
    # Awaited by the task that opened the unit once it committed, outside the transaction
    # (on SQLite, after the write lock is released): the effects the unit recorded.
    then: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _counters: dict[str, int] = field(default_factory=dict)
    # What other parts keep for the length of the unit (the outbox: the targets it recorded).
    extras: dict[str, Any] = field(default_factory=dict)

    def sequence(self, key: str) -> int:
        """0, 1, 2, ... for ``key`` within this unit: the same numbers when the unit is done
        again after a rollback."""
        n = self._counters.get(key, 0)
        self._counters[key] = n + 1
        return n


_unit: ContextVar[UnitOfWork | None] = ContextVar("linli_unit_of_work", default=None)

WRITER_WAIT_SECONDS = 60.0
"""How long a writer of this process waits for the others (SQLite): past that it gives up
with a passing failure (TimeoutError), so its work is tried again later, rather than wait
forever. The longest legitimate holder is a periodic unit (100 members' reminders)."""


class _Writer:
    """SQLite has one writer at a time. Writers of this process queue here, in order, before
    they ask SQLite for its lock: waiting here costs no busy timeout, so units of work handled
    concurrently never fail with "database is locked" because of one another (the busy
    timeout is left for other processes, such as the CLI). A task that holds the turn and
    opens a nested transaction keeps it (re-entrant per task)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        async with asyncio.timeout(WRITER_WAIT_SECONDS):
            await self._lock.acquire()
        self._owner, self._depth = task, 1
        try:
            yield
        finally:
            self._owner, self._depth = None, 0
            self._lock.release()


class Database:
    """The engine plus a session factory; one session per event, command, job or request."""

    def __init__(self, url: str, echo: bool = False, pool_size: int | None = None) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, echo=echo, pool_size=pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = _Writer()

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[None]:
        """On SQLite, this process's turn to write (see ``_Writer``); nothing elsewhere."""
        if self.dialect != "sqlite":
            yield
            return
        async with self._writer.turn():
            yield

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def current_unit(self) -> UnitOfWork | None:
        """The unit of work this task opened on this database, if any.

        A task started from inside a unit (``asyncio.create_task`` copies context variables)
        does not join it: one session is never shared between tasks."""
        unit = _unit.get()
        if unit is None or unit.db is not self or unit.task is not asyncio.current_task():
            return None
        return unit

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        unit = self.current_unit()
        if unit is not None:
            yield unit.session
            return
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        unit = self.current_unit()
        if unit is not None:
            # A savepoint: a constraint error inside rolls back this part only, as a
            # transaction of its own would have, and the unit goes on.
            async with unit.session.begin_nested():
                yield unit.session
            return
        async with self._write_turn(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """Open a unit of work (see ``UnitOfWork``); inside one already, join it.

        On SQLite the unit takes the write lock at once (``BEGIN IMMEDIATE``): savepoints
        then nest inside it, and no other writer can slip in between its reads and writes.
        Units of one process take turns before that (see ``_Writer``), so on SQLite units run
        one at a time, each holding the lock across its effects on the homeserver.
        On PostgreSQL units run side by side; a lock wait inside a unit gives up after 10 s
        (a passing failure).
        """
        outer = self.current_unit()
        if outer is not None:
            yield outer
            return
        async with self._write_turn(), self.sessions() as session, session.begin():
            if self.dialect == "sqlite":
                await session.execute(text("BEGIN IMMEDIATE"))
            elif self.dialect == "postgresql":
                # Two units waiting on each other (a row lock here, an asyncio lock
                # there) end in a passing error after 10 s instead of waiting forever.
                await session.execute(text("SET LOCAL lock_timeout = '10s'"))
            unit = UnitOfWork(self, session, asyncio.current_task())
            token = _unit.set(unit)
            try:
                yield unit
            finally:
                _unit.reset(token)
        for callback in unit.after_commit:
            try:
                callback()
            except Exception:
                log.exception("work started after a commit failed")
        for then in unit.then:
            try:
                await then()
            except asyncio.CancelledError:
                raise
            except Exception:
                # What it carries out is recorded: it is tried again later.
                log.exception("work carried out after a commit failed")

    def then(self, work: Callable[[], Awaitable[None]]) -> bool:
        """Have the task that opened the current unit await ``work`` once the unit commits,
        outside its transaction (False, and nothing done, if no unit is open)."""
        unit = self.current_unit()
        if unit is None:
            return False
        unit.then.append(work)
        return True

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the current unit of work commits; at once if none is open."""
        unit = self.current_unit()
        if unit is None:
            callback()
        else:
            unit.after_commit.append(callback)

    @asynccontextmanager
    async def advisory_lock(self, name: str) -> AsyncIterator[None]:
        """Hold a lock named ``name`` against every process on this database while the block
        runs (a read-modify-write of something outside the database, such as the bot's
        account data). On PostgreSQL a transaction-level advisory lock
        (``pg_advisory_xact_lock``) on a connection of its own, outside any unit of work: it
        ends with the block, or with the connection if the process dies; waiting for it
        gives up after 10 s (a passing failure). On SQLite nothing: one process only
        (bot/cluster.py), whose callers take turns on a lock of their own."""
        if self.dialect != "postgresql":
            yield
            return
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                             signed=True)
        async with self.engine.connect() as conn, conn.begin():
            await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            yield

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration (all heads)."""
        await upgrade(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, target: str = "heads") -> None:
    from alembic import command

    cfg = alembic_config(str(engine.url))

    def _run(connection: Any) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, target)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    except (TimeoutError, OSError) as exc:
        raise DatabaseError(f"cannot reach the database: {exc}") from exc


async def current_revisions(engine: AsyncEngine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    def _read(connection: Any) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as conn:
        return await conn.run_sync(_read)
