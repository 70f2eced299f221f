"""``linli compound import``: a district's compounds from one CSV file, against a real Synapse.

The run is interrupted twice over, as an operator's would be: once between creating a room and
recording its compound (the room is left behind with its alias), once by Ctrl-C (the
command's task cancelled) after a few compounds. The same file run again creates what is
missing, takes the room left behind, and makes no room twice."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from linli.bot.cli import CliContext, build_parser
from linli.bot.config import Config
from linli.bot.devserver import Account, LocalSynapse
from linli.bot.features.compounds.rooms import compound_room
from linli.bot.matrix.gateway import MatrixGateway
from linli.bot.messages import all_catalogs
from linli.common.clock import SystemClock
from linli.common.i18n import Translator
from linli.community.model import AdmissionMode, Compound
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from tests.integration.harness import bot_config, cli, unique, until

pytestmark = pytest.mark.integration


async def compounds(config: Config) -> dict[str, Compound]:
    db = Database(config.database.url)
    try:
        directory = await CommunityRepository(db, SystemClock()).load_directory()
    finally:
        await db.close()
    return {c.slug: c for c in directory.compounds.values()}


async def run_import(config: Config, *argv: str) -> int:
    args = build_parser().parse_args(["compound", "import", *argv])
    ctx = CliContext(config_path=None, lang="en", _config=config)
    try:
        return int(await args.func(ctx, args))
    finally:
        await ctx.close()


async def settled(gateway: MatrixGateway) -> set[str]:
    """The bot's rooms once no room is being created any more (a request cut off by the
    interruption still finishes on the homeserver)."""
    last: set[str] | None = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rooms = set((await gateway.client.joined_rooms()).rooms)
        if rooms == last:
            return rooms
        last = rooms
        await asyncio.sleep(0.5)  # two equal readings half a second apart
    raise AssertionError("the bot's rooms keep changing")


async def test_a_bulk_import_resumes_after_interruptions_without_doubles(
    synapse: LocalSynapse, bot_account: Account, tmp_path: Path, db_path: str
) -> None:
    config = bot_config(synapse, bot_account, db_path)
    await cli(config, "station", "create", "xinhua", "--name", "新华派出所")
    slugs = [unique("bulk") for _ in range(8)]  # aliases are server-wide
    csv_file = tmp_path / "compounds.csv"
    csv_file.write_text(
        "简称,名称,派出所,入群方式,时区\n" + "".join(
            f"{slug},第{i + 1}小区,xinhua,{'knock' if i == 0 else 'mute'},"
            f"{'Asia/Urumqi' if i == 1 else ''}\n"
            for i, slug in enumerate(slugs)
        ),
        encoding="utf-8",
    )
    gateway = MatrixGateway(config.matrix)
    await gateway.login(None, None)
    try:
        # A run stopped after the homeserver made a compound's room, before it was recorded.
        left_behind = await compound_room(
            gateway, Translator(all_catalogs()), name="第6小区", slug=slugs[5],
            locale="zh-CN", mode=AdmissionMode.MUTE, staff=[],
        )
        # A run interrupted (Ctrl-C) after a few compounds.
        interrupted = asyncio.create_task(run_import(config, str(csv_file), "--parallel", "1"))
        await until(lambda: _at_least(config, 3), 60, "three compounds recorded")
        interrupted.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await interrupted
        before = await compounds(config)
        assert 3 <= len(before) < len(slugs)
        await settled(gateway)

        out = await cli(config, "compound", "import", str(csv_file))
        assert out[0] == (f"8 rows read: {len(slugs) - len(before)} compounds to create, "
                          f"{len(before)} exist already (skipped).")
        assert out[-1].startswith(f"{len(slugs) - len(before)} compounds created, "
                                  f"{len(before)} skipped (already there), 0 failed")

        after = await compounds(config)
        assert sorted(after) == sorted(slugs)
        assert after[slugs[5]].room_id == left_behind.room_id  # taken, not made twice
        assert after[slugs[0]].admission_mode is AdmissionMode.KNOCK
        assert after[slugs[1]].timezone == "Asia/Urumqi"
        assert after[slugs[2]].timezone == "Asia/Shanghai"
        for slug, compound in after.items():
            assert compound.room_alias == f"#{slug}:{synapse.server_name}"
            assert await gateway.resolve_alias(compound.room_alias) == compound.room_id
        station = await _station_room(config)
        rooms = await settled(gateway)
        assert rooms == {station} | {c.room_id for c in after.values()}  # no room twice

        again = await cli(config, "compound", "import", str(csv_file))
        assert again == ["8 rows read: 0 compounds to create, 8 exist already (skipped)."]
    finally:
        await gateway.close()


async def _at_least(config: Config, count: int) -> bool:
    return len(await compounds(config)) >= count


async def _station_room(config: Config) -> str:
    db = Database(config.database.url)
    try:
        station = await CommunityRepository(db, SystemClock()).station("xinhua")
    finally:
        await db.close()
    assert station.officers_room_id
    return station.officers_room_id
