"""One real Synapse for the whole session, started from PyPI on a free 127.0.0.1 port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from linli.bot.devserver import Account, LocalSynapse
from tests.integration.harness import Person, unique


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSynapse]:
    hs = LocalSynapse(tmp_path_factory.mktemp("synapse"))
    hs.start()
    try:
        yield hs
    finally:
        hs.stop()


@pytest.fixture(scope="session")
def hs_admin(synapse: LocalSynapse) -> Account:
    return synapse.register("hsadmin", admin=True)


@pytest.fixture
def bot_account(synapse: LocalSynapse, hs_admin: Account) -> Account:
    """A fresh bot user per test, exempted from rate limits as a deployment would do."""
    account = synapse.register(unique("linli"))
    synapse.exempt_from_rate_limits(hs_admin.access_token, account.user_id)
    return account


@pytest.fixture
async def people(synapse: LocalSynapse) -> AsyncIterator[Callable[[str], Awaitable[Person]]]:
    started: list[Person] = []

    async def make(prefix: str) -> Person:
        person = Person(synapse, synapse.register(unique(prefix)))
        await person.start()
        started.append(person)
        return person

    yield make
    for p in started:
        await p.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}"
