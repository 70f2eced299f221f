"""The foundation against a real Synapse: rooms, roles, restarts, outages, rate limits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from nio import RoomGetStateEventResponse

from linli.bot.devserver import Account, LocalSynapse, free_port
from linli.bot.matrix.gateway import RateLimited
from linli.storage.repos.community import CommunityRepository
from tests.integration.harness import Person, bot_config, cli, start_bot, unique, until

pytestmark = pytest.mark.integration

MakePerson = Callable[[str], Awaitable[Person]]


async def _member_state(person: Person, room_id: str, user_id: str) -> str | None:
    resp = await person.client.room_get_state_event(room_id, "m.room.member", user_id)
    if isinstance(resp, RoomGetStateEventResponse):
        return str(resp.content.get("membership"))
    return None


async def test_created_compound_room_roles_and_commands(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    officer = await people("officer")
    resident = await people("resident")
    config = bot_config(synapse, bot_account, db_path)
    app = await start_bot(config)
    try:
        await cli(config, "station", "create", "xinhua", "--name", "新华派出所")
        await cli(config, "staff", "add", officer.user_id, "--role", "officer",
                  "--station", "xinhua")
        slug = unique("meiyuan")  # aliases are server-wide: other tests create #meiyuan too
        out = await cli(config, "compound", "create", slug, "--name", "梅园小区",
                        "--station", "xinhua")
        assert f"compound {slug} created" in out[0]
        compound = await CommunityRepository(app.db, app.clock).compound(slug)
        station = await CommunityRepository(app.db, app.clock).station("xinhua")
        room = compound.room_id
        assert room and compound.room_alias == f"#{slug}:{synapse.server_name}"

        # Room version 12: the bot is creator with unlimited power and not listed in users.
        info = await app.gateway.room_info(room)
        assert app.gateway.user_id in info.creators
        # Read from the one create event (format=event), not from the room's whole state.
        app.gateway._room_info.pop(room)
        whole_state = app.gateway.client.room_get_state

        async def no_whole_state(*_: Any, **__: Any) -> Any:
            raise AssertionError("read the whole room state")

        app.gateway.client.room_get_state = no_whole_state  # type: ignore[method-assign]
        try:
            assert (await app.gateway.room_info(room)).creators == info.creators
        finally:
            app.gateway.client.room_get_state = whole_state  # type: ignore[method-assign]
        pl = await app.gateway.state_event(room, "m.room.power_levels")
        assert pl["events_default"] == 1
        assert pl["users"].get(officer.user_id) == 50
        if info.version == "12":
            assert app.gateway.user_id not in pl["users"]
        assert await app.gateway.power_level_of(room, app.gateway.user_id) >= 100

        await officer.accept_invite_to(room)
        assert station.officers_room_id
        await officer.accept_invite_to(station.officers_room_id)
        await resident.join(room)
        # A new member cannot post: power levels, not a redaction race.
        assert await resident.try_send(room, "大家好") is None
        await app.gateway.set_power_levels(room, {resident.user_id: 1})
        await until(lambda: resident.try_send(room, "大家好"), what="the resident may post")

        # The bot manages both rooms.
        await until(lambda: {room, station.officers_room_id} <= app.bot.joined_rooms,
                    what="the bot in both rooms")

        ask = await resident.send(room, "!help")
        reply = await resident.wait_for_reply(room, ask, app.gateway.user_id)
        assert "!help" in reply.body and "!status" not in reply.body
        assert "您在这里可以使用的命令" in reply.body  # zh-CN by default

        ask = await resident.send(room, "!status")
        reply = await resident.wait_for_reply(room, ask, app.gateway.user_id)
        assert "抱歉" in reply.body and "Traceback" not in reply.body

        ask = await officer.send(room, "!status")
        reply = await officer.wait_for_reply(room, ask, app.gateway.user_id)
        assert "管理的房间：2" in reply.body

        ask = await officer.send(station.officers_room_id, "!help")
        reply = await officer.wait_for_reply(station.officers_room_id, ask, app.gateway.user_id)
        assert "!status" in reply.body

        ask = await officer.send(room, "!status now")
        reply = await officer.wait_for_reply(room, ask, app.gateway.user_id)
        assert "用法：!status" in reply.body

        ask = await resident.send(room, "!nosuchthing")
        reply = await resident.wait_for_reply(room, ask, app.gateway.user_id)
        assert "!nosuchthing" in reply.body
    finally:
        await app.close()


async def test_adopted_room_keeps_members_speaking(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    officer = await people("officer")
    old_member = await people("resident")
    newcomer = await people("resident")
    config = bot_config(synapse, bot_account, db_path)
    app = await start_bot(config)
    try:
        await cli(config, "station", "create", "xinhua", "--name", "新华派出所")
        await cli(config, "staff", "add", officer.user_id, "--role", "officer",
                  "--station", "xinhua")
        resp = await officer.client.room_create(name="老群", invite=[old_member.user_id])
        room = resp.room_id
        await old_member.accept_invite_to(room)
        await old_member.send(room, "早上好")
        # The officer (staff) invites the bot and raises it to 100; the bot accepts.
        await officer.client.room_invite(room, app.gateway.user_id)
        pl = (await officer.client.room_get_state_event(room, "m.room.power_levels")).content
        pl["users"][app.gateway.user_id] = 100
        await officer.client.room_put_state(room, "m.room.power_levels", pl)
        await until(lambda: room in app.bot.joined_rooms, what="the bot accepting a staff invite")

        out = await cli(config, "compound", "adopt", "laoyuan", "--name", "老院",
                        "--station", "xinhua", "--room", room)
        assert "with 2 existing members" in out[0]
        await app.bot.directory.reload()  # as the periodic refresh would, without waiting
        pl = await app.gateway.state_event(room, "m.room.power_levels")
        assert pl["events_default"] == 1
        assert pl["users"][old_member.user_id] == 1  # not muted on day one
        assert await old_member.try_send(room, "还能说话吗？")

        await officer.client.room_invite(room, newcomer.user_id)
        await newcomer.accept_invite_to(room)
        assert await newcomer.try_send(room, "我是新来的") is None

        ask = await officer.send(room, "!status")
        reply = await officer.wait_for_reply(room, ask, app.gateway.user_id)
        assert "管理的房间" in reply.body
    finally:
        await app.close()


async def test_adopt_without_power_is_refused_clearly(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    officer = await people("officer")
    config = bot_config(synapse, bot_account, db_path)
    await cli(config, "station", "create", "xinhua", "--name", "新华派出所", "--officers-room",
              "!unused:linli.test")
    resp = await officer.client.room_create(name="无权限", invite=[bot_account.user_id])
    from linli.common.errors import DomainError

    with pytest.raises(DomainError) as info:
        await cli(config, "compound", "adopt", "wuquan", "--name", "无权限", "--station",
                  "xinhua", "--room", resp.room_id)
    assert info.value.key == "error.adopt_needs_power"
    repo_db = bot_config(synapse, bot_account, db_path)
    from linli.storage.db import Database

    db = Database(repo_db.database.url)
    assert [
        c.slug
        for c in await CommunityRepository(
            db, __import__("linli.common.clock").common.clock.SystemClock()
        ).list_compounds()
    ] == []
    await db.close()


async def test_invites_from_non_staff_are_refused(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    stranger = await people("resident")
    app = await start_bot(bot_config(synapse, bot_account, db_path))
    try:
        resp = await stranger.client.room_create(name="拉机器人", invite=[app.gateway.user_id])
        room = resp.room_id
        await until(lambda: _member_state(stranger, room, app.gateway.user_id),
                    what="the bot's membership")

        async def refused() -> bool:
            return await _member_state(stranger, room, app.gateway.user_id) == "leave"

        await until(refused, what="the bot refusing the invitation")
        assert room not in app.bot.joined_rooms
    finally:
        await app.close()


async def _officers_room_with(
    config, officer: Person  # type: ignore[no-untyped-def]
) -> str:
    await cli(config, "station", "create", "xinhua", "--name", "新华派出所")
    await cli(config, "staff", "add", officer.user_id, "--role", "officer", "--station", "xinhua")
    from linli.storage.db import Database

    db = Database(config.database.url)
    from linli.common.clock import SystemClock

    station = await CommunityRepository(db, SystemClock()).station("xinhua")
    await db.close()
    assert station.officers_room_id
    await officer.accept_invite_to(station.officers_room_id)
    return station.officers_room_id


async def test_restart_neither_rehandles_nor_misses_events(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    officer = await people("officer")
    config = bot_config(synapse, bot_account, db_path, extra={"matrix": {"timeline_limit": 10}})
    room = await _officers_room_with(config, officer)
    app = await start_bot(config)
    before = await officer.send(room, "!help")
    await officer.wait_for_reply(room, before, app.gateway.user_id)
    await app.close()

    # While the bot is down: more commands than one sync timeline holds (limit 10).
    while_down = [await officer.send(room, "!help") for _ in range(14)]

    app = await start_bot(config)
    try:
        for event_id in while_down:
            await officer.wait_for_reply(room, event_id, app.gateway.user_id, timeout=30)
        marker = await officer.send(room, "!help")
        await officer.wait_for_reply(room, marker, app.gateway.user_id)
        replies = [s.reply_to for s in officer.messages(room, sender=app.gateway.user_id)]
        assert replies.count(before) == 1
        for event_id in [*while_down, marker]:
            assert replies.count(event_id) == 1
    finally:
        await app.close()


@pytest.fixture
def own_synapse(tmp_path: Path) -> LocalSynapse:
    """A Synapse of this test's own, with Synapse's default (strict) rate limits."""
    hs = LocalSynapse(tmp_path / "hs", port=free_port(), relaxed_rate_limits=False)
    hs.start()
    yield hs  # type: ignore[misc]
    hs.stop()


async def test_bot_survives_a_homeserver_outage(own_synapse: LocalSynapse, tmp_path: Path) -> None:
    hs = own_synapse
    admin = hs.register("admin", admin=True)
    bot = hs.register("linli")
    hs.exempt_from_rate_limits(admin.access_token, bot.user_id)
    officer = await Person(hs, hs.register("officer")).start()
    config = bot_config(hs, bot, f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}")
    try:
        room = await _officers_room_with(config, officer)
        app = await start_bot(config)
        try:
            ask = await officer.send(room, "!help")
            await officer.wait_for_reply(room, ask, app.gateway.user_id)

            hs.stop()
            failures = app.bot.stats.failures
            await until(lambda: app.bot.stats.failures >= failures + 2, 30,
                        "the bot noticing the outage and retrying")
            assert not app.bot.stop_event.is_set()
            hs.start()

            ask = await until(lambda: officer.try_send(room, "!help"), 30, "the homeserver back")
            await officer.wait_for_reply(room, ask, app.gateway.user_id, timeout=30)
            assert app.bot.stats.connected
        finally:
            await app.close()
    finally:
        await officer.stop()


async def test_rate_limits_are_honoured_and_bounded(
    own_synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hs = own_synapse
    sender = hs.register(unique("chatty"))
    config = bot_config(hs, sender, f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}",
                        extra={"matrix": {"max_rate_limit_retries": 3}})
    from linli.bot.matrix.gateway import MatrixGateway

    gateway = MatrixGateway(config.matrix)
    await gateway.login(None, None)
    room = (await gateway.client.room_create(name="limits")).room_id
    try:
        with caplog.at_level(logging.WARNING, logger="nio"):
            for i in range(14):  # Synapse's default burst is about 10 messages
                await gateway.send_text(room, f"message {i}")
        assert any("429" in r.getMessage() for r in caplog.records), "no 429 was met"

        strict = bot_config(hs, sender, config.database.url,
                            extra={"matrix": {"max_rate_limit_retries": 0}})
        impatient = MatrixGateway(strict.matrix)
        await impatient.login(None, None)
        try:
            with pytest.raises(RateLimited) as info:
                for i in range(30):
                    await impatient.send_text(room, f"burst {i}")
            assert info.value.retry_after_ms > 0
        finally:
            await impatient.close()
    finally:
        await gateway.close()


async def test_linli_run_stops_cleanly_on_sigterm_and_names_unreachable_rooms(
    synapse: LocalSynapse, bot_account: Account, tmp_path: Path
) -> None:
    import asyncio
    import os
    import signal
    import sys

    import yaml

    db_file = tmp_path / "linli.db"
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump({
        "matrix": {"homeserver": synapse.base_url, "user_id": bot_account.user_id,
                   "sync_timeout": "1s"},
        "database": {"url": f"sqlite:///{db_file}"},
    }))
    # A compound whose room the bot cannot reach.
    config = bot_config(synapse, bot_account, f"sqlite+aiosqlite:///{db_file}")
    from linli.common.clock import SystemClock
    from linli.storage.db import Database

    db = Database(config.database.url)
    await db.upgrade()
    repo = CommunityRepository(db, SystemClock())
    station = await repo.create_station("xinhua", "新华派出所")
    await repo.create_compound(slug="ghost", name="幽灵小区", station_id=station.id,
                               room_id="!doesnotexist:linli.test")
    await db.close()

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "linli", "--config", str(config_file), "run",
        env={**os.environ, "LINLI_MATRIX__ACCESS_TOKEN": bot_account.access_token,
             "LINLI_SECURITY__DATA_KEY": "k" * 43 + "="},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output: list[str] = []

    async def read() -> None:
        assert proc.stdout
        async for line in proc.stdout:
            output.append(line.decode(errors="replace"))

    reader = asyncio.create_task(read())
    try:
        await until(lambda: any("running;" in line for line in output), 60, "the bot running")
        assert any("cannot reach room !doesnotexist:linli.test of compound ghost" in line
                   for line in output), "".join(output)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
        await reader
    assert code == 0, "".join(output)
    assert any("shutting down" in line for line in output)
    assert not any("Traceback" in line for line in output), "".join(output)


async def test_health_and_metrics(
    synapse: LocalSynapse, bot_account: Account, db_path: str
) -> None:
    import aiohttp

    config = bot_config(synapse, bot_account, db_path,
                        extra={"web": {"enabled": True, "port": 0}})
    app = await start_bot(config)
    try:
        assert app.web is not None
        base = f"http://127.0.0.1:{app.web.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/healthz") as resp:
                body = await resp.json()
                assert resp.status == 200, body
                assert body["database"] == "ok" and body["sync_loop"] == "alive"
            async with http.get(base + "/metrics") as resp:
                text = await resp.text()
                assert resp.status == 200
            assert "# TYPE linli_rooms_managed gauge" in text
            assert "linli_syncs_total" in text
            await app.bot.stop()
            async with http.get(base + "/healthz") as resp:
                assert resp.status == 503
                assert (await resp.json())["sync_loop"] == "stopped"
    finally:
        await app.close()
