"""Three real ``linli run`` processes on one PostgreSQL database and one Synapse divide the
compounds: residents join and verify, ask questions, an officer sends ``!help`` in every
compound room and a notice; every effect happens exactly once. Then one process is killed
with SIGKILL: new joins and questions in every compound, the killed one's too, are handled
exactly once, its compounds taken over within the lease time.

Effects are counted as the residents' and officers' clients see them (``test_crash.count``):
prompts, success DMs, welcomes, verified levels, flags, notice posts and reports, and the
replies to ``!help`` and ``!notice``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import yaml

from linli.bot.devserver import Account, LocalSynapse
from tests.integration.harness import bot_config, cli, unique
from tests.integration.test_crash import (
    CODE_RE,
    DATA_KEY,
    STATION,
    VERIFIED_LEVEL,
    Actions,
    Actor,
    BotProcess,
    Compound,
    Notice,
    Question,
    Reader,
    Resident,
    World,
    answer_prompts,
    bot_messages,
    count,
    join,
    level_of,
    levels,
    person_names,
    register,
    reply_to,
    send,
    zone_where,
)
from tests.pg import PostgresServer, free_port

pytestmark = pytest.mark.integration

PROCESSES = 3
COMPOUNDS = 3
JOINERS = 2  # per compound and phase
LEASE = 3.0  # seconds (cluster.lease)
WAIT = 90.0  # for effects on a loaded machine
FLAG_POSTED = re.compile(r"question \d+: flag posted in ")  # the questions feature's log line


async def build(hs: LocalSynapse, bot_account: Account, db_url: str, tmp_path: Path,
                http: aiohttp.ClientSession, actors: list[Actor]
                ) -> tuple[World, dict[int, list[Resident]]]:
    """Station, officer, compounds with registries and codes; residents by phase (0: the
    askers, 1: joiners before the kill, 2: joiners after it)."""
    config = bot_config(hs, bot_account, db_url)
    tz = zone_where(datetime.now(UTC), 12)
    officer = Actor(hs, (await register(hs, "officer", 1))[0])
    actors.append(officer)
    out = await cli(config, "station", "create", STATION, "--name", "新华路派出所")
    officers_room = re.search(r"officers' room (!\S+)", out[0])
    assert officers_room, out
    await cli(config, "staff", "add", officer.user_id, "--role", "officer", "--station",
              STATION, "--name", "王警官")
    names = person_names()
    compounds: list[Compound] = []
    askers: dict[int, Resident] = {}
    phases: dict[int, list[Resident]] = {0: [], 1: [], 2: []}
    for c in range(COMPOUNDS):
        compound = Compound(c, unique(f"cluster{c}"), f"第{c + 1}小区")
        out = await cli(config, "compound", "create", compound.slug, "--name", compound.name,
                        "--station", STATION, "--timezone", tz)
        created = re.search(r"room (!\S+)", out[0])
        assert created, out
        compound.room = created.group(1)
        await cli(config, "compound", "set", compound.slug, "--setting",
                  'questions={deadline: 5s, office_start: "00:00", office_end: "23:59", '
                  "workdays: mon-sun}")
        wanted = 1 + 2 * JOINERS
        accounts = iter(await register(hs, f"c{c}r", wanted))
        rows = ["building,unit,flat,name,phone,role,note"]
        residents: list[Resident] = []
        for i in range(wanted):
            flat = 101 + i
            name = names[(i * 7 + c * 3) % len(names)]
            rows.append(f"1,1,{flat},{name},138{c:02d}{i:06d},owner,")
            actor = Actor(hs, next(accounts))
            actors.append(actor)
            residents.append(Resident(actor, compound, f"1-1-{flat}", name))
        registry = tmp_path / f"registry-{c}.csv"
        registry.write_text("\n".join(rows) + "\n", encoding="utf-8")
        await cli(config, "households", "import", str(registry), "--compound", compound.slug)
        for line in await cli(config, "codes", "issue", "--compound", compound.slug):
            parts = line.split()
            if len(parts) == 2 and CODE_RE.match(parts[1]):
                compound.codes[parts[0]] = parts[1]
        assert len(compound.codes) == wanted, compound.codes
        askers[c] = residents[0]
        phases[0].append(residents[0])
        phases[1] += residents[1:1 + JOINERS]
        phases[2] += residents[1 + JOINERS:]
        compounds.append(compound)
    for room in [officers_room.group(1), *(c.room for c in compounds)]:
        resp = await officer.client.join(room)
        assert not hasattr(resp, "status_code"), (room, resp)
    world = World(hs, bot_account.user_id, officer, officers_room.group(1), compounds, askers,
                  {c: [] for c in range(COMPOUNDS)}, {}, Reader(hs, http))
    return world, phases


async def metric(http: aiohttp.ClientSession, port: int, name: str) -> float | None:
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
    except aiohttp.ClientError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


async def owned(http: aiohttp.ClientSession, ports: list[int]) -> list[float | None]:
    return [await metric(http, p, "linli_compounds_owned") for p in ports]


async def until(what: str, predicate: object, timeout: float = WAIT) -> float:  # noqa: ASYNC109
    """Poll an async predicate; returns the seconds it took."""
    started = time.monotonic()
    while True:
        if await predicate():  # type: ignore[operator]
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


async def verify(world: World, residents: list[Resident], bots: list[BotProcess]) -> None:
    for resident in residents:
        await join(resident)

    async def all_verified() -> bool:
        await answer_prompts(world, residents)
        current = {c.index: await levels(world, c) for c in world.compounds}
        for bot in bots:
            assert bot.alive() or bot.proc is None or bot.proc.returncode == -9, bot.tail()
        return all(level_of(current[r.compound.index], r.user_id) == VERIFIED_LEVEL
                   for r in residents)

    await until("the residents verified", all_verified)


async def settle(world: World, done: Actions, helps: dict[str, str]) -> tuple[object, dict]:
    """Poll until nothing is missing (or the deadline), then count for good."""
    deadline = time.monotonic() + WAIT
    while True:
        await answer_prompts(world, done.joined)
        tally = await count(world, done)
        replies = await help_replies(world, helps)
        if (not tally.missing() and all(replies.values())) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(LEASE)  # a doubled effect would come late: give it the time
    return await count(world, done), await help_replies(world, helps)


async def help_replies(world: World, helps: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for event, room in helps.items():
        history = await world.reader.history(world.officer, room)
        found[event] = sum(1 for e in bot_messages(history, world.bot)
                           if reply_to(e) == event)
    return found


async def test_three_processes_share_the_compounds_and_survive_a_kill(
    synapse: LocalSynapse, bot_account: Account, postgres: PostgresServer, tmp_path: Path,
) -> None:
    db_url = postgres.create_database(unique("linli_cluster_"))
    actors: list[Actor] = []
    bots: list[BotProcess] = []
    ports = [free_port() for _ in range(PROCESSES)]
    async with aiohttp.ClientSession() as http:
        try:
            world, phases = await build(synapse, bot_account, db_url, tmp_path, http, actors)
            config_file = tmp_path / "config.yaml"
            config_file.write_text(yaml.safe_dump({
                "matrix": {"homeserver": synapse.base_url, "user_id": bot_account.user_id,
                           "sync_timeout": "1s", "request_timeout": "10s",
                           "reconnect_max_delay": "2s"},
                "database": {"url": db_url},
                "cluster": {"lease": f"{LEASE:g}s"},
                "bot": {"tick_interval": "1s"},
                "broadcasts": {"lease_ttl": "3s"},
                "web": {"enabled": True},
            }))
            for i, port in enumerate(ports):
                env = {**os.environ, "LINLI_MATRIX__ACCESS_TOKEN": bot_account.access_token,
                       "LINLI_SECURITY__DATA_KEY": DATA_KEY, "LINLI_WEB__PORT": str(port)}
                logs = tmp_path / f"p{i}"
                logs.mkdir()
                bot = BotProcess(config_file, env, logs)
                await bot.start()
                bots.append(bot)

            async def divided() -> bool:
                return await owned(http, ports) == [1.0] * PROCESSES
            took = await until("the compounds divided one each", divided)
            print(f"\ncompounds divided among {PROCESSES} processes {took:.1f}s after the last "
                  "start")
            status = await cli(bot_config(synapse, bot_account, db_url), "status")
            print("\n".join(status))
            assert status[-1] == f"{COMPOUNDS} of {COMPOUNDS} compounds owned by a running process"

            # Phase 1: askers and joiners verify, askers ask, the officer asks for help in
            # every compound room and sends a notice.
            done = Actions()
            await verify(world, phases[0], bots)
            for resident in phases[1]:
                await join(resident)
                done.joined.append(resident)
            helps: dict[str, str] = {}
            for c in world.compounds:
                asker = world.askers[c.index]
                text = f"请问{c.index + 1}区的电梯什么时候能修好？"
                done.questions.append(Question(1, c, asker, await send(asker.actor, c.room,
                                                                       text)))
                helps[await send(world.officer, c.room, "!help")] = c.room
            text = "第1轮紧急通知：今晚停水，请提前储水。"
            event = await send(world.officer, world.officers_room,
                               f"!notice station:{STATION} {text}")
            done.notices.append(Notice(1, text, event))
            tally, replies = await settle(world, done, helps)
            print(f"before the kill:\n{tally.table()}")  # type: ignore[attr-defined]
            assert tally.clean(), tally.details()  # type: ignore[attr-defined]
            assert set(replies.values()) == {1}, replies
            # Each compound's periodic work is its owner's: every process posted the flag of
            # the question asked in its own compound (not one process all of them).
            flags = [len(FLAG_POSTED.findall(bot.log.read_text(errors="replace")))
                     for bot in bots if bot.log is not None]
            assert flags == [1] * PROCESSES, flags

            # SIGKILL one process: its compound is taken over, and new joins and questions
            # everywhere are handled exactly once.
            victim = 1
            killed_at = time.monotonic()
            await bots[victim].kill()
            for resident in phases[2]:
                await join(resident)
                done.joined.append(resident)
            for c in world.compounds:
                asker = world.askers[c.index]
                text = f"请问{c.index + 1}区停车场的灯坏了找谁？"
                done.questions.append(Question(2, c, asker, await send(asker.actor, c.room,
                                                                       text)))
                helps[await send(world.officer, c.room, "!help")] = c.room
            survivors = [p for i, p in enumerate(ports) if i != victim]

            async def taken_over() -> bool:
                counts = await owned(http, survivors)
                return None not in counts and sum(counts) == COMPOUNDS  # type: ignore[arg-type]
            await until("the killed process's compound taken over", taken_over)
            takeover = time.monotonic() - killed_at
            tally, replies = await settle(world, done, helps)
            print(f"after the kill (taken over {takeover:.1f}s after SIGKILL, lease "
                  f"{LEASE:g}s):\n{tally.table()}")  # type: ignore[attr-defined]
            handovers = [await metric(http, p, "linli_handovers_in_total") for p in survivors]
            assert sum(h or 0 for h in handovers) >= 1, handovers
            assert tally.clean(), tally.details()  # type: ignore[attr-defined]
            assert set(replies.values()) == {1}, replies
            assert takeover < 4 * LEASE + 5, f"taken over after {takeover:.1f}s"
        finally:
            codes = []
            for bot in bots:
                with contextlib.suppress(Exception):
                    codes.append(await bot.stop())
            for actor in actors:
                with contextlib.suppress(Exception):
                    await actor.client.close()
    assert codes[:1] + codes[2:] == [0] * (PROCESSES - 1), codes  # SIGTERM: orderly stops
