"""Compound leases on PostgreSQL: processes divide the compounds fairly, a stopped process's
compounds are taken at once, a silent one's when its lease runs out; never two owners."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from linli.bot.cluster import ClusterOwnership, fair_share
from linli.common.clock import FakeClock
from linli.common.ids import CompoundId, UserID
from linli.community.model import Directory
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository
from linli.storage.repos.cluster import ClusterRepository
from linli.storage.repos.community import CommunityRepository
from tests.pg import PostgresServer

_dbs = itertools.count(1)


@pytest.mark.parametrize(("compounds", "owned", "expected"), [
    (10, {"me": 0}, (10, 0)),  # alone: everything
    (10, {"me": 10, "b": 0}, (0, 5)),  # a second process came: half given back
    (10, {"me": 0, "b": 10}, (5, 0)),  # ... and half taken (once given back)
    (10, {"me": 4, "b": 3, "c": 3}, (0, 0)),  # 4 is the ceiling of 10 / 3
    (10, {"me": 4, "b": 4, "c": 2}, (0, 1)),  # c below the floor (3): one given back
    (10, {"me": 3, "b": 4, "c": 3}, (1, 0)),  # below the ceiling: take one if one is free
    (10, {"me": 3, "b": 3, "c": 3}, (1, 0)),  # a free one: whoever comes first
    (10, {"me": 5, "b": 5, "c": 0}, (0, 1)),  # over the ceiling
    (4, {"me": 2, "b": 2, "c": 0}, (0, 1)),  # above the floor while c is below it
    (0, {"me": 0}, (0, 0)),
])
def test_fair_share(compounds: int, owned: dict[str, int], expected: tuple[int, int]) -> None:
    assert fair_share(compounds, owned, "me") == expected


@pytest.fixture
async def pg(postgres: PostgresServer) -> AsyncIterator[Database]:
    database = Database(postgres.create_database(f"linli_cluster_{next(_dbs)}"))
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()


class _NoGateway:
    client: Any = None


async def _world(db: Database, compounds: int) -> Directory:
    repo = CommunityRepository(db, FakeClock())
    station = await repo.create_station("xinhua", "新华派出所", officers_room_id="!off:hs")
    for i in range(compounds):
        await repo.create_compound(slug=f"c{i}", name=f"小区{i}", station_id=station.id,
                                   room_id=f"!c{i}:hs")
    return await repo.load_directory([])


def _process(db: Database, directory: Directory, lease: float = 30.0) -> ClusterOwnership:
    async def nowhere(user: UserID) -> CompoundId | None:
        return None

    return ClusterOwnership(
        ClusterRepository(db), _NoGateway(), BotStateRepository(db, FakeClock()),  # type: ignore[arg-type]
        lambda: directory, lambda room: None, nowhere, lease=timedelta(seconds=lease),
    )


async def test_processes_divide_the_compounds_and_hand_over(pg: Database) -> None:
    directory = await _world(pg, 7)
    a, b, c = (_process(pg, directory) for _ in range(3))
    await a.round()
    assert len(a.owned) == 7  # alone, it takes everything
    assert a.runs_periodic_work()
    assert await a.owns("!c3:hs") and await a.owns("!off:hs")

    for _ in range(4):  # b and c arrive; a gives back its excess, they take their share
        for p in (b, c, a):
            await p.round()
    sizes = sorted(len(p.owned) for p in (a, b, c))
    assert sizes == [2, 2, 3]
    assert a.owned.isdisjoint(b.owned) and b.owned.isdisjoint(c.owned)
    assert a.owned.isdisjoint(c.owned)
    assert len(a.owned | b.owned | c.owned) == 7
    assert sum(p.runs_periodic_work() for p in (a, b, c)) == 1  # one process does it
    owners = [p for p in (a, b, c) if await p.owns("!off:hs")]
    assert len(owners) == 1

    # An orderly stop: the others take its compounds in their next round.
    await b.leave()
    for p in (a, c):
        await p.round()
    assert len(a.owned) + len(c.owned) == 7 and a.owned.isdisjoint(c.owned)
    listed = await ClusterRepository(pg).processes(timedelta(seconds=30))
    assert {p.id for p in listed} == {a.id, c.id}
    assert sorted(len(p.compounds) for p in listed) == sorted([len(a.owned), len(c.owned)])


async def test_a_silent_process_is_taken_over_when_its_lease_runs_out(pg: Database) -> None:
    directory = await _world(pg, 4)
    a, b = _process(pg, directory, lease=1.0), _process(pg, directory, lease=1.0)
    for _ in range(2):
        await a.round()
        await b.round()
    assert len(a.owned) == len(b.owned) == 2
    held_by_a = a.owned
    # a stops renewing (SIGKILL): before the lease runs out b takes nothing of a's ...
    await b.round()
    assert b.owned.isdisjoint(held_by_a)
    await asyncio.sleep(1.2)  # the lease time itself (database time), not a wait for work
    await b.round()
    assert b.owned == held_by_a | b.owned and len(b.owned) == 4
    assert b.stats.handovers_in == 2
    # a wakes up: it finds it lost them and does not handle them any more.
    await a.round()
    assert a.owned.isdisjoint(b.owned)
    assert a.stats.leases_lost == 2


async def test_status_lists_processes_and_their_compounds(
    pg: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    from linli.bot.cli import CliContext
    from linli.bot.cli_cluster import cmd_status
    from linli.bot.config import load_config

    directory = await _world(pg, 3)
    a = _process(pg, directory)
    a.web_port = 8081
    await a.round()
    config = load_config(environ={
        "LINLI_MATRIX__HOMESERVER": "http://127.0.0.1:9", "LINLI_MATRIX__USER_ID": "@bot:hs",
        "LINLI_MATRIX__PASSWORD": "pw", "LINLI_DATABASE__URL": pg.url,
    })
    ctx = CliContext(config_path=None, lang="en", _config=config, _db=pg)
    assert await cmd_status(ctx, None) == 0  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[1:3] == [a.id, "web port 8081"]
    assert lines[0].endswith("3 compounds: c0, c1, c2")
    assert lines[-1] == "3 of 3 compounds owned by a running process"
