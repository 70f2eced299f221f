"""Part 1 of the district benchmark: a real Synapse, the real ``linli run`` process, real clients.

1. A local Synapse (bot/devserver.py) with relaxed rate limits; the bot, the officer, the
   bare client's account (the bot's) and every resident exempted (``override_ratelimit``).
2. ``--stations`` stations with the officer, then the bot process (``linli --config … run``)
   is started, then ``linli compound import`` creates ``--rooms`` compound rooms through the
   bot's account while the bot runs: rooms created per second.
3. The household registry of the rooms that get a resident, and their codes (the registry
   service the CLI's ``households import`` and ``codes issue`` use).
4. The storm, all at once: every resident joins their room, gets the bot's direct room and
   its prompt, answers with code and name, and may post (power level 1); some then ask a
   question nobody answers (the flag to the officers' room is due ``--deadline`` later); and
   the officer sends ``!notice all`` to every compound room.
5. A bare nio client (the bot's account) sends one message to each compound room with the
   bot's fan-out concurrency: the notice's rate is compared with this.

Times are Synapse's ``origin_server_ts`` of the event that shows the outcome (the prompt, the
power levels, the flag, the notice report) minus the wall time just before the action, on
the same machine: no client polling interval is in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from nio import (
    AsyncClient,
    AsyncClientConfig,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
    RoomVisibility,
    SyncResponse,
)

from linli.bot.devserver import Account, LocalSynapse, free_port

SURNAMES = ("李王张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁"
            "谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程")
GIVEN = "明华建国晓梅小红伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛超霞平刚桂"
QUESTION = "请问身份证丢了怎么补办？"
NOTICE = "台风预警：今晚请关好门窗，不要外出。"


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    if len(values) == 1:
        v = round(values[0], 1)
        return {"p50": v, "p95": v, "p99": v, "n": 1}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1),
            "n": len(values)}


def name_of(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + \
        GIVEN[(i * 7 + 3) % len(GIVEN)]


class ProcWatch:
    """CPU seconds and peak RSS of a process, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick

    def rss_peak_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0


@dataclass
class Client:
    """A real nio client syncing in the background, keeping raw event sources."""

    hs: LocalSynapse
    account: Account
    client: AsyncClient = field(init=False)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    invites: set[str] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.client = AsyncClient(
            self.hs.base_url, self.account.user_id,
            config=AsyncClientConfig(max_limit_exceeded=10, max_timeouts=5, request_timeout=120),
        )
        self.client.restore_login(self.account.user_id, self.account.device_id,
                                  self.account.access_token)

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def start(self) -> None:
        first = await self.client.sync(timeout=0, sync_filter=self._filter(1))
        assert isinstance(first, SyncResponse), first
        self.invites.update(first.rooms.invite)
        self.task = asyncio.create_task(self._loop())

    @staticmethod
    def _filter(limit: int) -> dict[str, Any]:
        return {"presence": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]},
                "room": {"timeline": {"limit": limit, "lazy_load_members": True},
                         "state": {"lazy_load_members": True},
                         "ephemeral": {"not_types": ["*"]}}}

    async def _loop(self) -> None:
        while True:
            try:
                resp = await self.client.sync(timeout=30000, sync_filter=self._filter(100))
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.5)
                continue
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.5)
                continue
            for room_id, info in resp.rooms.join.items():
                for ev in info.timeline.events:
                    self.events.append((room_id, ev.source))
            self.invites.update(resp.rooms.invite)
            self.changed.set()

    async def wait_for(self, find: Any, timeout: float) -> Any:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            found = find()
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=min(left, 5))

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self.client.close()


def start_bot_process(config_path: Path, log_file: Path,
                      web_port: int | None = None) -> subprocess.Popen[bytes]:
    """``linli --config FILE run``, the way a deployment runs the bot (each process of
    several with its own web port, ``LINLI_WEB__PORT``)."""
    env = dict(os.environ)
    if web_port is not None:
        env["LINLI_WEB__PORT"] = str(web_port)
    with log_file.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "linli", "--config", str(config_path), "run"],
            stdout=out, stderr=subprocess.STDOUT, env=env)


class Watches:
    """CPU seconds (summed) and peak RSS (the largest) of the bot's processes."""

    def __init__(self, pids: list[int]) -> None:
        self.watches = [ProcWatch(pid) for pid in pids]

    def cpu_s(self) -> float:
        return sum(w.cpu_s() for w in self.watches)

    def rss_peak_mib(self) -> float:
        return max(w.rss_peak_mib() for w in self.watches)


async def cli(config_path: Path, *argv: str) -> list[str]:
    """A ``linli`` subcommand in-process, as the tests' harness runs it."""
    from linli.bot.cli import CliContext, build_parser

    args = build_parser().parse_args(list(argv))
    ctx = CliContext(config_path=str(config_path), lang="en")
    lines: list[str] = []
    ctx.out = lines.append  # type: ignore[method-assign]
    try:
        code = await args.func(ctx, args)
    finally:
        await ctx.close()
    if code != 0:
        raise RuntimeError(f"linli {' '.join(argv)} exited {code}: {lines[-5:]}")
    return lines


def http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return -1.0


async def run(args: Any, workdir: Path, log: Any) -> dict[str, Any]:
    from linli.bot.config import load_config, protector_from_security
    from linli.bot.features.verification.config import policy_from_config
    from linli.common.clock import SystemClock
    from linli.storage.db import Database
    from linli.storage.repos.community import CommunityRepository
    from linli.storage.repos.verification import VerificationRepository
    from linli.verification.codes import format_code
    from linli.verification.registry import RegistryService

    result: dict[str, Any] = {}
    processes = max(1, int(getattr(args, "processes", 1)))
    pg = None
    if getattr(args, "db", "sqlite") == "pg" or processes > 1:
        from tests.pg import PostgresServer

        pg = PostgresServer()
        pg.start()
    hs = LocalSynapse(workdir / "synapse")
    hs.start(timeout=120)
    bot_procs: list[subprocess.Popen[bytes]] = []
    clients: list[Client] = []
    try:
        admin = hs.register("hsadmin", admin=True)
        bot = hs.register("linli")
        officer_acc = hs.register("officer")
        for acc in (bot, officer_acc):
            hs.exempt_from_rate_limits(admin.access_token, acc.user_id)
        t = time.monotonic()

        def register(i: int) -> Account:
            acc = hs.register(f"r{i}")
            hs.exempt_from_rate_limits(admin.access_token, acc.user_id)
            return acc

        sem = asyncio.Semaphore(4)

        async def reg(i: int) -> Account:
            async with sem:
                return await asyncio.to_thread(register, i)

        residents_acc = await asyncio.gather(*(reg(i) for i in range(args.residents)))
        log(f"registered {args.residents} residents in {time.monotonic() - t:.0f}s")

        web_port = free_port()
        db_url = (pg.create_database("district") if pg is not None
                  else f"sqlite+aiosqlite:///{workdir / 'linli.db'}")
        result["db"] = "postgresql" if pg is not None else "sqlite"
        result["processes"] = processes
        deadline_s = args.deadline
        config = {
            "matrix": {"homeserver": hs.base_url, "user_id": bot.user_id,
                       "access_token": bot.access_token, "device_id": bot.device_id,
                       "sync_timeout": "30s", "request_timeout": "60s",
                       "reconnect_max_delay": "2s"},
            "database": {"url": db_url},
            "bot": {"admins": [officer_acc.user_id], "tick_interval": f"{args.tick}s",
                    "directory_refresh": "2s"},
            "security": {"data_key": "k" * 43 + "="},
            "web": {"enabled": True, "port": web_port},
            "questions": {"deadline": f"{deadline_s}s", "escalate_after": "1h",
                          "urgent_escalate_after": "30m", "office_start": "00:00",
                          "office_end": "23:59"},
            "logging": {"level": "WARNING"},
        }
        config_path = workdir / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        cfg = load_config(config_path)

        for s in range(args.stations):
            await cli(config_path, "station", "create", f"s{s}", "--name", f"第{s}派出所")
            await cli(config_path, "staff", "add", officer_acc.user_id, "--role", "officer",
                      "--station", f"s{s}")
        officer = Client(hs, officer_acc)
        await officer.start()
        clients.append(officer)
        db = Database(db_url)
        community = CommunityRepository(db, SystemClock())
        officers_rooms = {}
        for s in range(args.stations):
            st = await community.station(f"s{s}")
            assert st.officers_room_id
            officers_rooms[st.id] = st.officers_room_id
            await officer.client.join(st.officers_room_id)

        # The bot's processes (one, or --processes on PostgreSQL, dividing the compounds).
        ports = [web_port] + [free_port() for _ in range(processes - 1)]
        for n, port in enumerate(ports):
            bot_procs.append(start_bot_process(config_path, workdir / f"bot{n}.log", port))
        watch = Watches([p.pid for p in bot_procs])
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for n, (proc, url) in enumerate(zip(bot_procs, bases, strict=True)):
            for _ in range(600):
                with contextlib.suppress(Exception):
                    if json.loads(http_text(url + "/healthz")).get("ok"):
                        break
                if proc.poll() is not None:
                    raise RuntimeError(f"a bot process exited; see {workdir / f'bot{n}.log'}")
                await asyncio.sleep(0.2)
        log(f"bot running ({processes} process{'es' if processes > 1 else ''}: "
            f"{' '.join(str(p.pid) for p in bot_procs)})")

        # Rooms through the bot's account: linli compound import.
        csv = workdir / "compounds.csv"
        csv.write_text("slug,name,station\n" + "".join(
            f"c{i},第{i}小区,s{i % args.stations}\n" for i in range(args.rooms)),
            encoding="utf-8")
        t = time.monotonic()
        await cli(config_path, "compound", "import", str(csv), "--parallel", str(args.parallel))
        created_s = time.monotonic() - t
        result["rooms"] = args.rooms
        result["rooms_created_s"] = round(created_s, 1)
        result["rooms_created_per_s"] = round(args.rooms / created_s, 2)
        log(f"{args.rooms} rooms created in {created_s:.0f}s "
            f"({args.rooms / created_s:.1f}/s)")

        # The registry of the rooms that get residents, and their codes.
        repo = VerificationRepository(db, SystemClock(), protector_from_security(cfg.security))
        registry = RegistryService(repo, SystemClock(), policy_from_config(cfg.verification))
        compounds = {c.slug: c for c in await community.list_compounds()}
        plan: dict[int, list[int]] = {}
        for i in range(args.residents):
            plan.setdefault(i % args.rooms, []).append(i)
        codes: dict[int, str] = {}
        t = time.monotonic()
        for room_index, people in plan.items():
            compound = compounds[f"c{room_index}"]
            rows = "".join(f"1,1,{101 + k},{name_of(i)},139{i:08d},owner,\n"
                           for k, i in enumerate(people))
            data = ("building,unit,flat,name,phone,role,note\n" + rows).encode()
            outcome = await registry.import_file(compound, data, "cli:bench")
            assert outcome.counts is not None, outcome.parsed.problems
            by_ref = {issue.household.ref: format_code(issue.code)
                      for issue in await registry.issue_codes(compound, "cli:bench")}
            for k, i in enumerate(people):
                codes[i] = by_ref[f"1-1-{101 + k}"]
        log(f"registry and codes for {len(plan)} rooms in {time.monotonic() - t:.0f}s")

        # The bot has every room in its directory and has joined them; with several
        # processes, every compound is owned by one of them.
        managed = args.rooms + args.stations
        for _ in range(600):
            texts = [await asyncio.to_thread(http_text, url + "/metrics") for url in bases]
            joined = max(metric(t, "linli_rooms_joined") for t in texts)
            owned = [metric(t, "linli_compounds_owned") for t in texts]
            if joined >= managed and (processes == 1 or (
                    sum(owned) >= args.rooms and min(owned) > 0)):
                break
            await asyncio.sleep(0.5)
        if processes > 1:
            result["compounds_owned"] = [int(o) for o in owned]
            log(f"compounds owned per process: {result['compounds_owned']}")
        residents = [Client(hs, acc) for acc in residents_acc]
        await asyncio.gather(*(r.start() for r in residents))
        clients.extend(residents)
        bare = AsyncClient(hs.base_url, bot.user_id)
        bare.restore_login(bot.user_id, bot.device_id, bot.access_token)
        log("storm")

        # The storm ----------------------------------------------------------------------------
        cpu_before = watch.cpu_s()
        assert hs.proc is not None
        hs_watch = ProcWatch(hs.proc.pid)
        hs_cpu_before = hs_watch.cpu_s()
        join_prompt: list[float] = []
        code_speak: list[float] = []
        questions: list[tuple[str, str, int, int]] = []  # room, event, ts, station id
        failures: list[str] = []
        wait = args.wait

        def bot_msgs(c: Client, room: str, text: str) -> Any:
            return next((src for rid, src in c.events
                         if rid == room and src.get("sender") == bot.user_id
                         and text in str(src.get("content", {}).get("body", ""))), None)

        def may_post(c: Client, room: str) -> Any:
            for rid, src in c.events:
                if rid == room and src.get("type") == "m.room.power_levels":
                    content = src.get("content", {})
                    level = content.get("users", {}).get(c.user_id,
                                                         content.get("users_default", 0))
                    if level >= content.get("events_default", 0):
                        return src
            return None

        async def resident(i: int, c: Client) -> None:
            compound = compounds[f"c{i % args.rooms}"]
            room = compound.room_id
            assert room
            await asyncio.sleep((i % 50) * args.spread / 50)
            t0 = time.time() * 1000
            joined = await c.client.join(room)
            if not hasattr(joined, "room_id"):
                failures.append(f"join {i}: {joined}")
                return
            dm = await c.wait_for(lambda: next(iter(c.invites), None), wait)
            if dm is None:
                failures.append(f"no direct room for {i}")
                return
            await c.client.join(dm)
            prompt = await c.wait_for(lambda: bot_msgs(c, dm, "登记码"), wait)
            if prompt is None:
                failures.append(f"no prompt for {i}")
                return
            join_prompt.append(prompt["origin_server_ts"] - t0)
            t1 = time.time() * 1000
            await c.client.room_send(dm, "m.room.message",
                                     {"msgtype": "m.text", "body": f"{codes[i]} {name_of(i)}"})
            pl = await c.wait_for(lambda: may_post(c, room), wait)
            if pl is None:
                failures.append(f"{i} may not post")
                return
            code_speak.append(pl["origin_server_ts"] - t1)
            if i < args.questions:
                resp = await c.client.room_send(room, "m.room.message",
                                                {"msgtype": "m.text", "body": QUESTION})
                if isinstance(resp, RoomSendResponse):
                    mine = await c.wait_for(lambda: next(
                        (s for r, s in c.events if s.get("event_id") == resp.event_id), None),
                        wait)
                    ts = mine["origin_server_ts"] if mine else int(time.time() * 1000)
                    questions.append((room, resp.event_id, ts, compound.station_id))
                else:
                    failures.append(f"question {i}: {resp}")

        notice_room = officers_rooms[min(officers_rooms)]
        notice: dict[str, Any] = {}
        quiet: dict[str, Any] = {}

        async def urgent_notice(number: int = 1, notice: dict[str, Any] = notice,
                                delay: float = args.spread / 2) -> None:
            await asyncio.sleep(delay)
            t0 = time.time() * 1000
            await officer.client.room_send(notice_room, "m.room.message",
                                           {"msgtype": "m.text", "body": f"!notice all {NOTICE}"})
            ack = await officer.wait_for(
                lambda: next((s for r, s in officer.events
                              if r == notice_room and s.get("sender") == bot.user_id
                              and s.get("origin_server_ts", 0) > t0
                              and "正在" in str(s.get("content", {}).get("body", ""))), None),
                args.wait)
            if ack is not None:
                notice["ack_s"] = (ack["origin_server_ts"] - t0) / 1000

            # One report per station, in its officers' room: "送达 N 个群".
            def reports() -> list[dict[str, Any]]:
                found = []
                for r, s in officer.events:
                    body = str(s.get("content", {}).get("body", ""))
                    if (r in officers_rooms.values() and s.get("sender") == bot.user_id
                            and s.get("origin_server_ts", 0) > t0
                            and f"紧急通知 #{number}：" in body and "送达" in body):
                        found.append(s)
                return found

            def delivered(found: list[dict[str, Any]]) -> int:
                total = 0
                for s in found:
                    m = re.search(r"送达 (\d+) 个群", s["content"]["body"])
                    total += int(m.group(1)) if m else 0
                return total

            found = await officer.wait_for(
                lambda: (lambda f: f if delivered(f) >= args.rooms else None)(reports()),
                args.wait)
            if found is None:
                failures.append(f"notice #{number} reports: {delivered(reports())} of "
                                f"{args.rooms} rooms")
                return
            notice["s"] = (max(s["origin_server_ts"] for s in found) - t0) / 1000
            notice["fanout_s"] = notice["s"] - notice.get("ack_s", 0.0)
            notice["reports"] = len(found)

        storm_t = time.monotonic()
        await asyncio.gather(urgent_notice(), *(resident(i, c) for i, c in enumerate(residents)))
        storm_s = time.monotonic() - storm_t
        log(f"joins and codes done in {storm_s:.0f}s; waiting for the flags")

        # Flags: one per question in the officers' room of its station.
        def flag_for(room: str, event: str, station: int) -> Any:
            link = f"{room}/{event}"
            return next((s for r, s in officer.events
                         if r == officers_rooms[station] and s.get("sender") == bot.user_id
                         and link in str(s.get("content", {}).get("body", ""))
                         and "m.new_content" not in s.get("content", {})), None)

        late: list[float] = []
        for room, event, ts, station in questions:
            left = max(1.0, ts / 1000 + deadline_s + args.wait - time.time())
            flag = await officer.wait_for(lambda r=room, e=event, s=station: flag_for(r, e, s),
                                          left)
            if flag is None:
                failures.append(f"no flag for {event}")
                continue
            late.append((flag["origin_server_ts"] - ts) / 1000 - deadline_s)
        cpu_storm = watch.cpu_s() - cpu_before
        hs_cpu_storm = hs_watch.cpu_s() - hs_cpu_before

        # A second notice with nothing else going on, then the bare client, the same rooms,
        # the bot's fan-out concurrency, alone too: like against like.
        await urgent_notice(2, quiet, 0.0)
        # The bare client, the same rooms, the bot's fan-out concurrency.
        rooms = [c.room_id for c in compounds.values() if c.room_id]
        conc = asyncio.Semaphore(cfg.broadcasts.max_concurrent_sends)

        async def send(room: str) -> bool:
            async with conc:
                resp = await bare.room_send(room, "m.room.message",
                                            {"msgtype": "m.text", "body": "bench: " + NOTICE},
                                            tx_id=secrets.token_hex(8))
                return isinstance(resp, RoomSendResponse)

        t = time.monotonic()
        sent = sum(await asyncio.gather(*(send(r) for r in rooms)))
        bare_s = time.monotonic() - t
        bare_rate = sent / bare_s

        # The homeserver's floor for the storm's prompts: the bare client opens a direct room
        # for every resident the way the bot does (private_chat, the marker, an alias) and
        # sends the prompt, all at once with the bot's concurrency, nothing else running.
        # Each figure runs from the start of them all to that prompt, as join → prompt runs
        # from a join of the storm: no bot can prompt a storm faster than this homeserver
        # opens the rooms.
        floor: list[float] = []
        places = asyncio.Semaphore(cfg.bot.concurrent_rooms)
        tag = secrets.token_hex(3)
        started = time.monotonic()

        async def open_dm(i: int, user: str) -> None:
            async with places:
                room = await bare.room_create(
                    visibility=RoomVisibility.private, alias=f"floor-{tag}-{i}", is_direct=True,
                    preset=RoomPreset.private_chat, invite=[user],
                    initial_state=[{"type": "org.linli.direct", "state_key": "",
                                    "content": {"user_id": user}}])
                if not isinstance(room, RoomCreateResponse):
                    failures.append(f"floor room {i}: {room}")
                    return
                await bare.room_send(room.room_id, "m.room.message",
                                     {"msgtype": "m.notice", "body": "请回复登记码和姓名"},
                                     tx_id=secrets.token_hex(8))
                floor.append((time.monotonic() - started) * 1000)

        t = time.monotonic()
        await asyncio.gather(*(open_dm(i, acc.user_id) for i, acc in enumerate(residents_acc)))
        floor_s = time.monotonic() - t
        await bare.close()
        result["dm_floor_ms"] = percentiles(floor)
        result["dm_floor_s"] = round(floor_s, 1)
        log(f"floor: {len(floor)} direct rooms opened and prompted by a bare client in "
            f"{floor_s:.1f}s")
        # The fan-out's own rate: from the acknowledgement (the fan-out starts) to the last
        # station's report; the command's wait in the bot's queue is reported apart.
        notice_rate = args.rooms / notice["fanout_s"] if notice.get("fanout_s") else None

        quiet_rate = args.rooms / quiet["fanout_s"] if quiet.get("fanout_s") else None
        result.update({
            "join_prompt_ms": percentiles(join_prompt),
            "code_speak_ms": percentiles(code_speak),
            "flag_late_s_max": round(max(late), 2) if late else None,
            "flag_late_s_p50": round(statistics.median(late), 2) if late else None,
            "flags": len(late),
            "questions": len(questions),
            "notice_s": round(notice["s"], 1) if notice.get("s") else None,
            "notice_ack_s": round(notice["ack_s"], 1) if notice.get("ack_s") else None,
            "notice_fanout_s": (round(notice["fanout_s"], 1) if notice.get("fanout_s")
                                else None),
            "notice_rooms_per_s": round(notice_rate, 1) if notice_rate else None,
            "bare_rooms_per_s": round(bare_rate, 1),
            "fanout_ratio": round(quiet_rate / bare_rate, 2) if quiet_rate else None,
            "fanout_ratio_storm": round(notice_rate / bare_rate, 2) if notice_rate else None,
            "notice_quiet_rooms_per_s": round(quiet_rate, 1) if quiet_rate else None,
            "residents": args.residents,
            "storm_s": round(storm_s, 1),
            "bot_cpu_s_storm": round(cpu_storm, 1),
            "bot_cpu_s": round(watch.cpu_s(), 1),
            "synapse_cpu_s_storm": round(hs_cpu_storm, 1),
            "rss_mib_peak": round(watch.rss_peak_mib(), 1),
            "failures": failures[:20],
            "failures_total": len(failures),
            "question_deadline_s": deadline_s,
            "tick_s": args.tick,
        })
        await db.close()
        return result
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.stop()
        for proc in bot_procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in bot_procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        hs.stop()
        if pg is not None:
            pg.stop()
