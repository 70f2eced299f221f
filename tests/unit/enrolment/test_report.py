"""Enrolment figures against a registry built in the test, the daily snapshots and metrics of
the enrolment feature, and ``linli report enrolment``."""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest

from linli.bot.cli import CliContext, CliError, build_parser
from linli.bot.config import Config
from linli.bot.features.enrolment.cli_report import _wrap_flats
from linli.bot.features.enrolment.feature import EnrolmentTracker
from linli.bot.features.enrolment.reporting import buildings_table, pending_table, unenrolled_table
from linli.bot.tables import display_width, terminal_table
from linli.common.clock import FakeClock
from linli.common.errors import NotFound
from linli.common.ids import CompoundId
from linli.community.model import Compound
from linli.storage.db import Database
from linli.verification.model import EnrolmentReport
from tests.unit.enrolment.world import (
    DAVE,
    ERIN,
    MEIYUAN_BUILDINGS,
    MEIYUAN_TOTAL,
    MEIYUAN_UNENROLLED,
    TAOYUAN_TOTAL,
    DashWorld,
    make_dash_world,
)
from tests.unit.verification.fixtures import KEY

TOTAL_KEYS = list(MEIYUAN_TOTAL)


def totals(report: EnrolmentReport) -> dict[str, Any]:
    f = report.total
    return {
        "households": f.households, "households_enrolled": f.households_enrolled,
        "coverage_percent": f.coverage, "verified_members": f.verified_members,
        "pending_members": f.pending_members, "locked_members": f.locked_members,
        "over_cap_households": f.over_cap_households,
    }


async def test_enrolment_figures_match_the_registry(db: Database, clock: FakeClock) -> None:
    world = await make_dash_world(db, clock)
    report = await world.tracker.report(world.meiyuan)
    assert totals(report) == MEIYUAN_TOTAL
    assert buildings_table(report.by_building).records() == MEIYUAN_BUILDINGS
    assert unenrolled_table(report).records() == MEIYUAN_UNENROLLED
    pending = pending_table(report.pending, clock.now()).records()
    assert [(p["user_id"], p["state"], p["adopted"]) for p in pending] == [
        (DAVE, "pending", False), (ERIN, "locked", False)]
    assert totals(await world.tracker.report(world.taoyuan)) == TAOYUAN_TOTAL
    # a lock that has run out counts as pending again, and its "until" is no longer shown
    clock.advance(timedelta(hours=25))
    report = await world.tracker.report(world.meiyuan)
    assert (report.total.pending_members, report.total.locked_members) == (2, 0)
    assert [p["state"] for p in pending_table(report.pending, clock.now()).records()] == [
        "pending", "pending"]


# ---- the feature: snapshots and metrics -----------------------------------------------------


@pytest.fixture
async def world(sqlite_db: Database, clock: FakeClock) -> DashWorld:
    return await make_dash_world(sqlite_db, clock)


async def series(world: DashWorld, compound: Compound) -> list[tuple[str, int, int]]:
    rows = (await world.snapshot_repo.series([compound.id]))[compound.id]
    return [(s.day.isoformat(), s.figures.households, s.figures.households_enrolled) for s in rows]


async def test_one_snapshot_per_compound_and_local_day(world: DashWorld) -> None:
    clock = world.clock  # 2026-03-02 09:00 in Shanghai
    ny = await world.community.create_compound(
        slug="hudson", name="Hudson Yard", station_id=world.dongfeng.id, room_id=None,
        timezone="America/New_York",  # 2026-03-01 20:00 there
    )
    await world.reload()
    feature = world.feature(refresh=timedelta(minutes=15))
    await feature.tick(clock.now())
    assert feature.snapshots_written == 3
    assert (await series(world, world.meiyuan))[-1] == ("2026-03-02", 4, 2)
    assert await series(world, world.taoyuan) == [("2026-03-02", 2, 0)]
    assert await series(world, ny) == [("2026-03-01", 0, 0)]

    clock.advance(timedelta(minutes=5))  # nothing due
    await feature.tick(clock.now())
    assert feature.snapshots_written == 3
    clock.advance(timedelta(minutes=20))  # figures refreshed, but still the same local days
    await feature.tick(clock.now())
    assert feature.snapshots_written == 3
    assert world.tracker.cached(world.meiyuan.id).at == clock.now()  # type: ignore[union-attr]

    await world.verification.service.on_join(world.meiyuan, "@frank:hs")  # type: ignore[arg-type]
    clock.set(clock.now().replace(hour=16, minute=0))  # 00:00 on 03-03 in Shanghai
    await feature.tick(clock.now())
    # the two Shanghai compounds start 03-03; it is 11:00 on 03-02 in New York: a new day too
    assert feature.snapshots_written == 6
    assert await series(world, world.taoyuan) == [("2026-03-02", 2, 0), ("2026-03-03", 2, 0)]
    rows = (await world.snapshot_repo.series([world.meiyuan.id]))[world.meiyuan.id]
    assert (rows[-1].day.isoformat(), rows[-1].figures.waiting_members) == ("2026-03-03", 3)
    clock.advance(timedelta(hours=12))  # 23:00 on 03-02 in New York: refreshed, no new day
    await feature.tick(clock.now())
    assert feature.snapshots_written == 6
    clock.advance(timedelta(hours=1))  # midnight in New York
    await feature.tick(clock.now())
    assert feature.snapshots_written == 7
    assert [d for d, _, _ in await series(world, ny)] == [
        "2026-03-01", "2026-03-02", "2026-03-03"]


async def test_a_few_compounds_per_tick_and_metrics_from_memory(world: DashWorld) -> None:
    feature = world.feature(compounds_per_tick=1)
    assert [s.name for s in await feature.metrics()] == [
        "linli_enrolment_snapshots_written_total", "linli_enrolment_refresh_failures_total"]
    await feature.tick(world.clock.now())
    assert world.tracker.cached(world.meiyuan.id) is not None
    assert world.tracker.cached(world.taoyuan.id) is None
    await feature.tick(world.clock.now())
    assert world.tracker.cached(world.taoyuan.id) is not None
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for s in await feature.metrics()}
    assert samples[("linli_enrolment_coverage_ratio",
                    (("compound", "meiyuan"), ("station", "xinhua")))] == 0.5
    assert samples[("linli_enrolment_members", (("compound", "taoyuan"), ("state", "verified"),
                                                ("station", "dongfeng")))] == 0
    assert samples[("linli_enrolment_snapshots_written_total", ())] == 2
    # a compound that is gone is forgotten
    world.directory = type(world.directory)(
        world.directory.stations.values(), [world.meiyuan], [], ())
    await feature.tick(world.clock.now())
    assert world.tracker.cached(world.taoyuan.id) is None


class _Failing:
    """A verification service whose figures fail for one compound."""

    def __init__(self, real: Any, bad: CompoundId) -> None:
        self.real = real
        self.bad = bad

    async def enrolment(self, compound: Compound) -> EnrolmentReport:
        if compound.id == self.bad:
            raise RuntimeError("database hiccup")
        result: EnrolmentReport = await self.real.enrolment(compound)
        return result


async def test_a_failing_compound_does_not_stop_the_others(world: DashWorld) -> None:
    tracker = EnrolmentTracker(_Failing(world.service, world.meiyuan.id), world.clock)  # type: ignore[arg-type]
    feature = world.feature(tracker=tracker)
    await feature.tick(world.clock.now())
    assert feature.refresh_failures == 1
    assert tracker.cached(world.taoyuan.id) is not None
    assert await series(world, world.taoyuan) == [("2026-03-02", 2, 0)]


# ---- linli report enrolment -------------------------------------------------------------------


def cli_config(db: Database) -> Config:
    return Config.model_validate({
        "matrix": {"homeserver": "http://127.0.0.1:9", "user_id": "@linli:hs",
                   "access_token": "t"},
        "database": {"url": "sqlite:///unused.db"},
        "security": {"data_key": base64.urlsafe_b64encode(KEY).decode()},
        "verification": {"household_cap": 1},
    })


async def report(world: DashWorld, *argv: str) -> list[str]:
    args: argparse.Namespace = build_parser().parse_args(["report", "enrolment", *argv])
    ctx = CliContext(config_path=None, clock=world.clock, _config=cli_config(world.db),
                     _db=world.db)
    lines: list[str] = []
    ctx.out = lines.append  # type: ignore[method-assign,assignment]
    assert await args.func(ctx, args) == 0
    return "\n".join(lines).split("\n")


async def test_report_as_tables_aligned_for_cjk(world: DashWorld) -> None:
    lines = await report(world)
    assert lines[0] == "入群情况（2 个小区，2026-03-02 09:00）"
    table = lines[1:5]
    assert table[0].split() == ["简称", "小区", "派出所", "登记户数", "已入群户数", "覆盖率",
                                "%", "已验证成员", "待验证", "已锁定", "超出上限户数"]
    assert table[2].split() == ["meiyuan", "梅园小区", "新华派出所", "4", "2", "50.0", "3", "1",
                                "1", "1"]
    # the last column is numeric, so right-aligned: every line ends in the same column
    assert len({display_width(line) for line in table}) == 1
    assert lines[5] == "合计：6 户中 2 户已有成员验证入群（覆盖率 33.3%）"
    text = "\n".join(lines)
    assert ("== 梅园小区（meiyuan）：4 户中 2 户已入群（50.0%）；已验证 3 人，待验证 1 人，"
            "锁定 1 人，超出上限 1 户") in text
    assert "-- 尚无人入群的住户（上门走访用）：2 户" in text
    assert "-- 等待验证的账号：2" in text
    assert DAVE in text and "已锁定" in text
    assert "张伟" not in text and "13812345678" not in text
    actions = [(e.action, e.compound_id) for e in await world.verification.audit.recent(10)
               if e.action == "report.enrolment"]
    assert sorted(c or 0 for _, c in actions) == sorted([world.meiyuan.id, world.taoyuan.id])


async def test_report_one_compound_in_english(world: DashWorld) -> None:
    lines = await report(world, "--compound", "taoyuan", "--lang", "en", "--table",
                         "unenrolled")
    assert lines[0].startswith("== 桃园小区 (taoyuan): 0 of 2 households enrolled (0.0%)")
    assert lines[1] == "-- Households with nobody enrolled (for door-to-door visits): 2"
    assert lines[2].split() == ["Building", "Unit", "Households", "Flats"]
    assert lines[4].split() == ["1", "—", "2", "101", "102"]


async def test_report_as_csv_and_json(world: DashWorld) -> None:
    lines = await report(world, "--format", "csv", "--table", "buildings")
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    assert rows[0] == ["小区", "楼栋", "登记户数", "已入群户数", "覆盖率 %", "已验证成员",
                       "超出上限户数"]
    assert rows[1:] == [["meiyuan", "3", "2", "1", "50.0", "2", "1"],
                        ["meiyuan", "5", "2", "1", "50.0", "1", "0"],
                        ["taoyuan", "1", "2", "0", "0.0", "0", "0"]]
    rows = list(csv.reader(io.StringIO("\n".join(await report(world, "--format", "csv")))))
    assert [r[0] for r in rows] == ["简称", "meiyuan", "taoyuan"]
    data = json.loads("\n".join(await report(world, "--format", "json")))
    by_slug = {c["slug"]: c for c in data["compounds"]}
    assert by_slug["meiyuan"]["total"] == MEIYUAN_TOTAL
    assert by_slug["meiyuan"]["buildings"] == MEIYUAN_BUILDINGS
    assert by_slug["meiyuan"]["unenrolled"] == MEIYUAN_UNENROLLED
    assert [p["user_id"] for p in by_slug["meiyuan"]["pending"]] == [DAVE, ERIN]
    assert by_slug["taoyuan"]["total"] == TAOYUAN_TOTAL
    assert data["total"]["households"] == 6


async def test_report_refusals(world: DashWorld) -> None:
    with pytest.raises(CliError) as info:
        await report(world, "--format", "csv", "--table", "all")
    assert info.value.key == "cli.report.csv_one_table"
    with pytest.raises(NotFound):
        await report(world, "--compound", "nowhere")


def test_display_width_and_wrapping() -> None:
    assert [display_width(t) for t in ("abc", "梅园小区", "３", "é", "e\u0301")] == [
        3, 8, 2, 1, 1]
    assert terminal_table(["名称", "n"], [["梅园", "10"], ["ab", "2"]], [False, True]) == [
        "名称   n", "----  --", "梅园  10", "ab     2"]
    flats = tuple(f"{n}" for n in range(101, 131))
    wrapped = _wrap_flats(flats, 20)
    assert " ".join(wrapped).split() == list(flats)
    assert wrapped[0] == "101 102 103 104 105" and len(wrapped) == 6


# ---- configuration ------------------------------------------------------------------------------


def test_the_dashboard_needs_the_web_app_and_the_enrolment_needs_a_data_key() -> None:
    from linli.bot.config import (
        ConfigError,
        SecurityConfig,
        load_config,
        protector_from_security,
    )

    env = {"LINLI_MATRIX__HOMESERVER": "http://127.0.0.1:9",
           "LINLI_MATRIX__USER_ID": "@linli:hs", "LINLI_MATRIX__ACCESS_TOKEN": "t"}
    config = load_config(None, environ=env)
    assert (config.web.enabled, config.web.dashboard, config.web.host) == (
        False, False, "127.0.0.1")
    with pytest.raises(ConfigError, match="web: .*dashboard: true needs enabled: true"):
        load_config(None, environ={**env, "LINLI_WEB__DASHBOARD": "true"})
    config = load_config(None, environ={**env, "LINLI_WEB__DASHBOARD": "true",
                                        "LINLI_WEB__ENABLED": "true",
                                        "LINLI_WEB__SESSION_TTL": "2h"})
    assert config.web.session_ttl == timedelta(hours=2)
    with pytest.raises(ConfigError, match="security.data_key"):
        protector_from_security(SecurityConfig())
