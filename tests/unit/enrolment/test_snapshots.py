"""Daily enrolment snapshots on SQLite and PostgreSQL: the repository, the service's local day,
and the one figures type they store."""

from __future__ import annotations

from datetime import date

import pytest

from linli.common.clock import FakeClock
from linli.common.ids import CompoundId
from linli.enrolment.model import local_day
from linli.enrolment.service import SnapshotService
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.enrolment import SnapshotRepository
from linli.verification.model import EnrolmentFigures
from tests.unit.moderation.world import build_world


async def test_snapshots_are_one_row_per_compound_and_day(db: Database, clock: FakeClock) -> None:
    world = await build_world(db, clock)
    community = CommunityRepository(db, clock)
    other = await community.create_compound(
        slug="taoyuan", name="桃园", station_id=world.station.id, room_id=None
    )
    repo = SnapshotRepository(db, clock)
    cid = world.compound.id
    day1, day2 = date(2026, 3, 1), date(2026, 3, 2)
    assert await repo.write(day1, {cid: EnrolmentFigures(100, 40, 55, 7)}) == 1
    assert await repo.write(day1, {cid: EnrolmentFigures(100, 41, 56, 6)}) == 1  # replaces
    await repo.write(day2, {cid: EnrolmentFigures(101, 45, 60, 3), other.id: EnrolmentFigures(
        10, 0, 0, 0)})
    series = await repo.series([cid, other.id])
    assert [(s.day, s.figures) for s in series[cid]] == [
        (day1, EnrolmentFigures(100, 41, 56, 6)),
        (day2, EnrolmentFigures(101, 45, 60, 3)),
    ]
    assert [s.day for s in series[other.id]] == [day2]
    assert [s.day for s in (await repo.series([cid], start=day2))[cid]] == [day2]
    assert [s.day for s in (await repo.series([cid], end=day1))[cid]] == [day1]
    assert await repo.series([CompoundId(999)]) == {999: []}
    assert await repo.write(day1, {}) == 0


async def test_snapshot_service_uses_each_compounds_local_day(
    db: Database, clock: FakeClock
) -> None:
    world = await build_world(db, clock)
    cid = world.compound.id
    repo = SnapshotRepository(db, clock)
    service = SnapshotService(repo, clock)
    clock.set(clock.now().replace(hour=17, minute=30))  # 01:30 next day in Shanghai
    figures = EnrolmentFigures(households=200, households_enrolled=150, verified_members=180,
                               pending_members=4)
    assert await service.record_today([(cid, "Asia/Shanghai", figures)]) == 1
    assert await service.record_today([(cid, "Asia/Shanghai", figures)]) == 1
    series = (await repo.series([cid]))[cid]
    assert len(series) == 1
    assert series[0].day == local_day(clock.now(), "Asia/Shanghai") == date(2026, 3, 3)
    assert series[0].taken_at == clock.now()
    assert series[0].figures.coverage == 75.0  # percent


def test_enrolment_figures_refuse_negative_numbers() -> None:
    with pytest.raises(ValueError):
        EnrolmentFigures(1, -1, 0, 0)
    assert EnrolmentFigures(0, 0, 0, 0).coverage == 0.0


async def test_a_snapshot_keeps_pending_and_locked_members_together(
    db: Database, clock: FakeClock
) -> None:
    world = await build_world(db, clock)
    repo = SnapshotRepository(db, clock)
    figures = EnrolmentFigures(households=10, households_enrolled=4, verified_members=5,
                               pending_members=3, locked_members=2, over_cap_households=1)
    assert figures.waiting_members == 5
    await repo.write(date(2026, 3, 1), {world.compound.id: figures})
    (snapshot,) = (await repo.series([world.compound.id]))[world.compound.id]
    assert snapshot.figures == EnrolmentFigures(10, 4, 5, 5)
    assert snapshot.figures.waiting_members == 5 and snapshot.figures.coverage == 40.0
