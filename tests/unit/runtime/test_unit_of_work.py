"""The unit of work, the directory version and transaction ids derived from a cause: the
pieces the event path's "nothing lost, nothing twice" rests on, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from linli.bot.matrix.gateway import effect_cause, txn_id_for
from linli.common.clock import FakeClock
from linli.common.errors import Conflict
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.tables.core import StationRow


async def _slugs(db: Database) -> list[str]:
    async with db.session() as s:
        return sorted((await s.scalars(select(StationRow.slug))).all())


async def test_a_unit_commits_everything_or_nothing(db: Database, clock: FakeClock) -> None:
    community = CommunityRepository(db, clock)
    state = BotStateRepository(db, clock)
    with pytest.raises(RuntimeError):
        async with db.unit_of_work():
            await community.create_station("a", "A")
            await state.mark_done("$e1")
            # Reads inside the unit see its own writes.
            assert await _slugs(db) == ["a"]
            raise RuntimeError("killed before the effects were done")
    assert await _slugs(db) == []
    assert await state.done_events(["$e1"]) == set()

    async with db.unit_of_work():
        await community.create_station("a", "A")
        await state.mark_done("$e1")
    assert await _slugs(db) == ["a"]
    assert await state.done_events(["$e1"]) == {"$e1"}


async def test_a_refused_write_inside_a_unit_rolls_back_only_itself(
    db: Database, clock: FakeClock,
) -> None:
    community = CommunityRepository(db, clock)
    await community.create_station("a", "A")
    async with db.unit_of_work():
        await community.create_station("b", "B")
        with pytest.raises(Conflict):
            await community.create_station("a", "again")
        await community.create_station("c", "C")
    assert await _slugs(db) == ["a", "b", "c"]


async def test_a_task_started_inside_a_unit_does_not_share_its_session(
    db: Database, clock: FakeClock,
) -> None:
    seen: list[object] = []
    async with db.unit_of_work() as unit:
        async def other() -> None:
            seen.append(db.current_unit())

        await asyncio.create_task(other())
        assert db.current_unit() is unit
    assert seen == [None]


async def test_after_commit_runs_only_once_committed(db: Database, clock: FakeClock) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError):
        async with db.unit_of_work():
            db.after_commit(lambda: ran.append("rolled back"))
            raise RuntimeError
    async with db.unit_of_work():
        db.after_commit(lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]
    db.after_commit(lambda: ran.append("no unit"))
    assert ran == ["committed", "no unit"]


async def test_every_directory_change_raises_the_version(db: Database, clock: FakeClock) -> None:
    """Triggers raise it, so a change by the CLI, the dashboard or by hand is seen."""
    community = CommunityRepository(db, clock)
    versions = [await community.directory_version()]
    station = await community.create_station("xinhua", "新华")
    versions.append(await community.directory_version())
    compound = await community.create_compound(slug="meiyuan", name="梅园",
                                               station_id=station.id, room_id="!r:hs")
    versions.append(await community.directory_version())
    await community.update_compound(compound.slug, settings={"questions": {"deadline": "1h"}})
    versions.append(await community.directory_version())
    assert versions == sorted(set(versions)), versions  # strictly rising
    async with db.unit_of_work():
        before = await community.directory_version()
        await community.create_station("other", "Other")
        assert await community.directory_version() > before


def test_transaction_ids_follow_the_cause_and_the_order_per_room() -> None:
    async def run() -> tuple[list[str], list[str], str]:
        with effect_cause("$event1"):
            first = [txn_id_for("!a"), txn_id_for("!b"), txn_id_for("!a")]
        with effect_cause("$event1"):  # the same event handled again after a crash
            again = [txn_id_for("!a"), txn_id_for("!b"), txn_id_for("!a")]
        with effect_cause("$event2"):
            other = txn_id_for("!a")
        return first, again, other

    first, again, other = asyncio.run(run())
    assert first == again
    assert len(set(first)) == 3
    assert other not in first
    outside = asyncio.run(_outside())
    assert outside[0] != outside[1]


async def _outside() -> tuple[str, str]:
    return txn_id_for("!a"), txn_id_for("!a")
