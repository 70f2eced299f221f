"""The bot's m.direct: rooms added by read-modify-write, merged with what is there, written
only when something is missing; a homeserver refusal never holds a direct message back; two
writers at once, in one process or two, take turns and lose nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

from linli.bot.matrix.gateway import MatrixActionError
from linli.bot.runtime.direct_index import M_DIRECT, M_DIRECT_LOCK, DirectIndex
from linli.storage.db import Database


class FakeGateway:
    def __init__(self, content: dict[str, Any] | None = None, fail: bool = False) -> None:
        self.content = content or {}
        self.writes = 0
        self.fail = fail

    async def account_data(self, event_type: str) -> dict[str, Any]:
        assert event_type == M_DIRECT
        await asyncio.sleep(0)  # a request: other tasks run meanwhile
        if self.fail:
            raise MatrixActionError("read m.direct", "M_FORBIDDEN", "no")
        return {k: list(v) for k, v in self.content.items()}

    async def put_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        assert event_type == M_DIRECT
        self.writes += 1
        self.content = content


async def test_rooms_are_merged_with_what_is_there_and_written_once() -> None:
    gateway = FakeGateway({"@a:x": ["!old:x"], "@b:x": ["!b:x"]})
    index = DirectIndex(gateway)  # type: ignore[arg-type]
    await index.add("@a:x", "!new:x")
    await index.add("@a:x", "!new:x")
    await index.add("@b:x", "!b:x")  # listed already: nothing written
    await index.add("@c:x", "!c:x")
    assert gateway.content == {"@a:x": ["!old:x", "!new:x"], "@b:x": ["!b:x"],
                               "@c:x": ["!c:x"]}
    assert gateway.writes == 2


async def test_a_refusal_is_logged_not_raised() -> None:
    index = DirectIndex(FakeGateway(fail=True))  # type: ignore[arg-type]
    await index.add("@a:x", "!a:x")


async def test_rooms_added_at_once_are_written_together() -> None:
    """A storm of joins: the rooms added while one write is on its way go in the next one,
    so a hundred rooms cost two writes and no prompt waits for a hundred writes."""
    gateway = FakeGateway({"@old:x": ["!old:x"]})
    index = DirectIndex(gateway)  # type: ignore[arg-type]
    await asyncio.gather(*(index.add(f"@r{i}:x", f"!r{i}:x") for i in range(100)))
    assert gateway.writes <= 2
    assert len(gateway.content) == 101 and gateway.content["@old:x"] == ["!old:x"]
    assert all(gateway.content[f"@r{i}:x"] == [f"!r{i}:x"] for i in range(100))


class SharedAccountData(FakeGateway):
    """The bot's account data as the homeserver keeps it, shared by every process: a read
    hands back the content and lets other tasks run before the caller goes on, as a request
    to the homeserver would, so two writers that do not take turns both read the old list."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay  # how long a read takes, for writers waiting on a real database

    async def account_data(self, event_type: str) -> dict[str, Any]:
        content = await super().account_data(event_type)
        for _ in range(5):
            await asyncio.sleep(0)
        await asyncio.sleep(self.delay)
        return content


ROOMS = {f"@p{i}:x": f"!p{i}:x" for i in range(6)}


async def add_all(indexes: list[DirectIndex]) -> None:
    """Each person's room added by one of the indexes (processes), all at the same time."""
    await asyncio.gather(*(indexes[i % len(indexes)].add(user, room)
                           for i, (user, room) in enumerate(ROOMS.items())))


def turns() -> Callable[[], AbstractAsyncContextManager[object]]:
    """A stand-in for the database's advisory lock: one lock shared by the "processes"."""
    lock = asyncio.Lock()

    @asynccontextmanager
    async def exclusive() -> AsyncIterator[None]:
        async with lock:
            yield

    return exclusive


async def test_two_processes_writing_at_once_lose_an_entry_without_the_lock() -> None:
    """The race the lock is for: without it, a writer's room is dropped by the other's write
    (this is what the lock prevents, so the test shows the interleaving really happens)."""
    store = SharedAccountData()
    await add_all([DirectIndex(store), DirectIndex(store)])  # type: ignore[arg-type]
    assert len(store.content) < len(ROOMS)


async def test_two_processes_writing_at_once_lose_nothing_with_the_lock() -> None:
    store = SharedAccountData()
    exclusive = turns()
    await add_all([DirectIndex(store, exclusive), DirectIndex(store, exclusive)])  # type: ignore[arg-type]
    assert store.content == {user: [room] for user, room in ROOMS.items()}


async def test_writers_of_one_process_take_turns() -> None:
    store = SharedAccountData()
    await add_all([DirectIndex(store)])  # type: ignore[arg-type]
    assert store.content == {user: [room] for user, room in ROOMS.items()}


async def test_processes_take_turns_on_the_postgresql_advisory_lock(pg_db: Database) -> None:
    """Two processes (two engines on one database) with the real lock: nothing lost."""
    other = Database(pg_db.url)
    try:
        store = SharedAccountData(delay=0.05)
        await add_all([
            DirectIndex(store, partial(db.advisory_lock, M_DIRECT_LOCK))  # type: ignore[arg-type]
            for db in (pg_db, other)
        ])
        assert store.content == {user: [room] for user, room in ROOMS.items()}
    finally:
        await other.close()


async def test_the_lock_is_nothing_on_sqlite(sqlite_db: Database) -> None:
    """One process on SQLite: the lock does not touch the database and never waits."""
    async with sqlite_db.advisory_lock(M_DIRECT_LOCK), sqlite_db.advisory_lock(M_DIRECT_LOCK):
        pass


class FailingLock:
    async def __aenter__(self) -> None:
        raise TimeoutError

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_a_lock_not_available_is_logged_not_raised() -> None:
    store = FakeGateway()
    index = DirectIndex(store, FailingLock)  # type: ignore[arg-type]
    await index.add("@a:x", "!a:x")
    assert store.writes == 0
    await DirectIndex(store).add("@a:x", "!a:x")  # type: ignore[arg-type]
    assert store.content == {"@a:x": ["!a:x"]}
