"""Fixtures shared by the whole suite.

- ``clock``: a FakeClock.
- ``db``: a migrated, empty database; parametrised so every storage test runs on SQLite and
  on PostgreSQL (a server started once per session from Debian's binaries).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from linli.common.clock import FakeClock
from linli.storage.db import Database
from tests.pg import PostgresServer

_counter = itertools.count()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database(f"linli_test_{next(_counter)}")
    database = Database(url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def pg_db(postgres: PostgresServer) -> AsyncIterator[Database]:
    """A migrated PostgreSQL database only, for behaviour SQLite does not have (units of work
    side by side, row locks)."""
    database = Database(postgres.create_database(f"linli_test_{next(_counter)}"))
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database only, for tests that are not about the storage back-end."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}")
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()
