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
    # Each compound's periodic work is its owner's: the scopes divide the compounds.
    scopes = [p.periodic_scope() for p in (a, b, c)]
    assert scopes == [a.owned, b.owned, c.owned]
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


async def test_the_periodic_work_of_a_compound_without_a_room_is_the_first_process(
    pg: Database,
) -> None:
    """A compound without a room has no lease; its periodic work (a question or a mute left
    from before its room was taken away) is done by the process holding the first compound,
    and by no other."""
    await _world(pg, 4)
    repo = CommunityRepository(pg, FakeClock())
    station = next(iter((await repo.load_directory([])).stations.values()))
    roomless = await repo.create_compound(slug="bare", name="无房间", station_id=station.id,
                                          room_id=None)
    directory = await repo.load_directory([])
    a, b = _process(pg, directory), _process(pg, directory)
    for _ in range(3):
        for p in (a, b):
            await p.round()
    assert len(a.owned) == len(b.owned) == 2
    first, other = (a, b) if a.runs_periodic_work() else (b, a)
    assert first.periodic_scope() == first.owned | {roomless.id}
    assert other.periodic_scope() == other.owned


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


class _Event:
    def __init__(self, event_id: str, stamp: int) -> None:
        self.event_id = event_id
        self.server_timestamp = stamp


class _Client:
    """A homeserver with one room's history (newest first when read backwards)."""

    def __init__(self, history: list[_Event]) -> None:
        self.history = history
        self.filters: list[dict[str, Any]] = []
        self.reads: list[str | None] = []

    async def upload_filter(self, **body: Any) -> Any:
        from nio import UploadFilterResponse

        self.filters.append(body)
        return UploadFilterResponse(f"f{len(self.filters)}")

    async def room_messages(self, room_id: str, start: str | None = None, **_: Any) -> Any:
        from nio import RoomMessagesResponse

        self.reads.append(start)
        return RoomMessagesResponse(room_id, list(reversed(self.history)), start or "", None)


class _Gateway:
    def __init__(self, client: _Client) -> None:
        self.client = client


class _Done:
    def __init__(self, done: set[str]) -> None:
        self.done = done

    async def done_events(self, ids: Any) -> set[str]:
        return {i for i in ids if i in self.done}


async def test_a_room_taken_over_is_read_back_to_its_last_handled_event(pg: Database) -> None:
    """The first sync that includes a room this process took over reads its history before
    the sync token back to the last event any process handled; a retry of the same batch
    reads it again, the next batch no more."""
    import time as _time

    directory = await _world(pg, 2)
    now_ms = int(_time.time() * 1000)
    client = _Client([_Event("$old", now_ms - 3000), _Event("$done", now_ms - 2000),
                      _Event("$left1", now_ms - 1000), _Event("$left2", now_ms)])

    async def nowhere(user: UserID) -> CompoundId | None:
        return None

    owner = ClusterOwnership(
        ClusterRepository(pg), _Gateway(client), _Done({"$done"}),  # type: ignore[arg-type]
        lambda: directory, lambda room: None, nowhere, lease=timedelta(seconds=30),
    )
    owner.owned = frozenset({directory.compound_by_room("!c1:hs").id})  # type: ignore[union-attr]
    owner._excluded = owner._compute_excluded()
    # The other compound's room is not synced, nor the officers' room (it goes with the
    # station's first compound).
    assert owner._excluded == {"!c0:hs", "!off:hs"}
    first = await owner.sync_filter({"room": {}}, None)  # the initial sync: nothing read back
    assert await owner.catch_up(None) == []
    assert first == "f1" and client.filters[0]["room"]["not_rooms"] == ["!c0:hs", "!off:hs"]

    await owner.sync_filter({"room": {}}, "s1")
    found = dict(await owner.catch_up("s1"))
    assert [e.event_id for e in found["!c1:hs"]] == ["$left1", "$left2"]
    assert await owner.catch_up("s1")  # the batch failed and is handled again: read again
    await owner.sync_filter({"room": {}}, "s2")
    assert await owner.catch_up("s2") == []  # the batch of s1 committed: nothing more


async def test_direct_rooms_stay_out_of_the_filter(pg: Database) -> None:
    """Direct rooms are synced by every process (their events handled by their person's
    compound's owner): opening one never changes another process's filter, and the filter
    does not grow with the residents. Those of the compounds a process owns are still read
    back when it takes them over."""
    directory = await _world(pg, 2)
    c0 = directory.compound_by_room("!c0:hs").id  # type: ignore[union-attr]
    c1 = directory.compound_by_room("!c1:hs").id  # type: ignore[union-attr]

    async def nowhere(user: UserID) -> CompoundId | None:
        return None

    owner = ClusterOwnership(
        ClusterRepository(pg), _Gateway(_Client([])), _Done(set()),  # type: ignore[arg-type]
        lambda: directory, lambda room: None, nowhere, lease=timedelta(seconds=30),
    )
    owner._dm_rooms = [("!dm0:hs", frozenset({c0})), ("!dm1:hs", frozenset({c1}))]
    owner._set_owned(frozenset({c1}))
    assert owner._excluded == {"!c0:hs", "!off:hs"}
    assert "!dm1:hs" in owner._included_rooms() and "!dm0:hs" not in owner._included_rooms()
    owner.changed.clear()
    owner._dm_rooms.append(("!dm2:hs", frozenset({c0})))  # another process opened one
    owner._set_owned(frozenset({c1}))
    assert not owner.changed.is_set()
