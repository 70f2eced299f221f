"""Part 2 of the district benchmark: the bot's real sync processing at a district's size, fed
with generated sync responses instead of a homeserver.

The bot is the real composition (``build_app``: every feature, the router, the directory, the
real storage on SQLite or PostgreSQL); only the nio client under the Matrix gateway is a fake
that records the calls and answers at once (no network). Before the stream, storage holds the
district as it stands: ``--rooms`` compounds in ``--stations`` stations, ``--members``
verified members spread over the rooms, each with the bot's direct room (loaded in memory at
start as the real bot does). Then ``--events`` timeline events go through ``Bot.process`` in
sync responses of ``--batch-rooms`` rooms each: messages (chatter and questions) from the
members, joins of new residents (the whole verification path: prompt, direct room, power
levels), leaves, reactions and state events; each room's ``state`` carries the member events
of its senders, as a lazy-loading sync does.

Measured: CPU seconds of ``Bot.process`` per event, events per second (wall), the peak RSS of
the process, and the same batches' bare parse by nio (``SyncResponse.from_dict``) for the
ratio. Prints one JSON object on stdout (``district.py`` runs this as a subprocess, once per
database).

    python bench/district_synthetic.py [--members 300000] [--events 20000] [--db sqlite|pg]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nio import (  # noqa: E402
    ErrorResponse,
    JoinedMembersResponse,
    JoinResponse,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomInviteResponse,
    RoomKickResponse,
    RoomLeaveResponse,
    RoomPutStateResponse,
    RoomRedactResponse,
    RoomSendResponse,
    SyncResponse,
)

SERVER = "bench"
BOT = f"@linli:{SERVER}"
QUESTIONS = ["请问身份证丢了怎么补办？", "小区东门的路灯坏了好几天了，什么时候能修？",
             "请问居住证在哪里办理？", "电动车可以停在楼道里吗？", "明天社区办公室几点开门？"]
CHATTER = ["大家好", "谢谢大家", "今天天气不错", "收到", "好的", "楼下有快递", "晚上好"]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class FakeClient:
    """The nio client's surface the gateway uses, answering at once and recording each call."""

    def __init__(self) -> None:
        self.user_id = BOT
        self.device_id = "BENCH"
        self.access_token = "bench-token"
        self.next_batch: str | None = None
        self.calls: dict[str, int] = {}
        self.power: dict[str, dict[str, Any]] = {}
        self.account_data: dict[str, Any] = {}
        self._n = 0

    def _note(self, name: str) -> str:
        self.calls[name] = self.calls.get(name, 0) + 1
        self._n += 1
        return f"{self._n}"

    async def room_send(self, room_id: str, event_type: str, content: Any, **_: Any) -> Any:
        return RoomSendResponse(f"$sent{self._note('send')}", room_id)

    async def room_redact(self, room_id: str, event_id: str, *_: Any, **__: Any) -> Any:
        return RoomRedactResponse(f"$red{self._note('redact')}", room_id)

    async def join(self, room_id: str) -> Any:
        self._note("join")
        return JoinResponse(room_id)

    async def room_leave(self, room_id: str) -> Any:
        self._note("leave")
        return RoomLeaveResponse()

    async def room_invite(self, room_id: str, user_id: str) -> Any:
        self._note("invite")
        return RoomInviteResponse()

    async def room_kick(self, room_id: str, user_id: str, reason: Any = None) -> Any:
        self._note("kick")
        return RoomKickResponse()

    async def joined_members(self, room_id: str) -> Any:
        self._note("joined_members")
        return JoinedMembersResponse([], room_id)

    async def joined_rooms(self) -> Any:
        return ErrorResponse("not in the benchmark")

    async def room_get_state_event(self, room_id: str, event_type: str,
                                   state_key: str = "") -> Any:
        self._note(f"get {event_type}")
        if event_type == "m.room.power_levels":
            content = self.power.setdefault(room_id, {
                "users": {BOT: 100}, "users_default": 0, "events_default": 1,
                "state_default": 50, "events": {}})
            return RoomGetStateEventResponse(json.loads(json.dumps(content)), event_type,
                                             state_key, room_id)
        return ErrorResponse("not found", "M_NOT_FOUND")

    async def room_put_state(self, room_id: str, event_type: str, content: Any,
                             state_key: str = "") -> Any:
        self._note(f"put {event_type}")
        if event_type == "m.room.power_levels":
            self.power[room_id] = content
        return RoomPutStateResponse(f"$state{self._n}", room_id)

    async def _send(self, response_class: Any, method: str, path: str, *_: Any,
                    response_data: Any = None, **__: Any) -> Any:
        # The gateway reads m.room.create with format=event this way.
        self._note("get m.room.create")
        room_id = response_data[2] if response_data else ""
        return RoomGetStateEventResponse(
            {"type": "m.room.create", "sender": BOT, "state_key": "",
             "content": {"room_version": "10", "creator": BOT}},
            "m.room.create", "", room_id)

    async def room_get_state(self, room_id: str) -> Any:
        return RoomGetStateResponse([], room_id)

    async def room_create(self, **_: Any) -> Any:
        return RoomCreateResponse(f"!dm{self._note('create room')}:{SERVER}")

    async def room_resolve_alias(self, alias: str) -> Any:
        return ErrorResponse("not found", "M_NOT_FOUND")

    async def room_delete_alias(self, alias: str) -> Any:
        return ErrorResponse("not found", "M_NOT_FOUND")

    async def send(self, method: str, path: str, data: Any = None, **_: Any) -> Any:
        """Raw requests: the bot's account data (``m.direct``), kept like the homeserver."""
        self._note(f"{method} account data")
        key = path.split("?", 1)[0]
        if method == "PUT":
            self.account_data[key] = json.loads(data)
            return _RawResponse(200, {})
        content = self.account_data.get(key)
        return _RawResponse(200, content) if content is not None else _RawResponse(
            404, {"errcode": "M_NOT_FOUND", "error": "not found"})

    async def close(self) -> None:
        return None


class _RawResponse:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self._body = body

    async def json(self, **_: Any) -> dict[str, Any]:
        return json.loads(json.dumps(self._body))


def room_of(i: int) -> str:
    return f"!c{i:05d}:{SERVER}"


def member_of(room: int, k: int) -> str:
    return f"@r{room}_{k}:{SERVER}"


def config(db_url: str) -> Any:
    from linli.bot.config import Config

    return Config.model_validate({
        "matrix": {"homeserver": "http://127.0.0.1:9", "user_id": BOT,
                   "access_token": "bench-token", "device_id": "BENCH"},
        "database": {"url": db_url},
        "bot": {"admins": [], "tick_interval": "1h", "directory_refresh": "1h"},
        "security": {"data_key": "k" * 43 + "="},
    })


async def populate(app: Any, rooms: int, stations: int, members: int) -> None:
    """Stations, compounds, and ``members`` verified members with their direct rooms, written
    in chunks the way an import would, so the setup's memory does not count as the bot's."""
    from sqlalchemy import insert

    from linli.storage.repos.community import CommunityRepository
    from linli.storage.tables.core import DirectRoomRow
    from linli.storage.tables.verification import MemberRow

    community = CommunityRepository(app.db, app.clock)
    station_ids = []
    for s in range(stations):
        st = await community.create_station(f"s{s}", f"第{s}派出所",
                                            officers_room_id=f"!off{s}:{SERVER}")
        station_ids.append(st.id)
    compound_ids = []
    for i in range(rooms):
        c = await community.create_compound(slug=f"c{i}", name=f"第{i}小区",
                                            station_id=station_ids[i % stations],
                                            room_id=room_of(i))
        compound_ids.append(c.id)
    now = datetime.now(UTC)
    per_room = members // rooms
    chunk: list[dict[str, Any]] = []
    dms: list[dict[str, Any]] = []

    async def flush() -> None:
        async with app.db.transaction() as s:
            if chunk:
                await s.execute(insert(MemberRow), chunk)
            if dms:
                await s.execute(insert(DirectRoomRow), dms)
        chunk.clear()
        dms.clear()

    for i in range(rooms):
        for k in range(per_room + (1 if i < members % rooms else 0)):
            user = member_of(i, k)
            chunk.append(dict(
                compound_id=compound_ids[i], user_id=user, state="verified", deadline=None,
                next_action_at=None, reminders_sent=0, locked_until=None, failures_since=None,
                person_id=None, household_id=None, adopted=False, prompted_at=now,
                notice_key=None, removal_reason=None, joined_at=now, verified_at=now,
                updated_at=now))
            dms.append(dict(user_id=user, room_id=f"!dm_{i}_{k}:{SERVER}", created_at=now))
        if len(chunk) >= 5000:
            await flush()
    await flush()


class Stream:
    """Generated sync responses over the district's rooms."""

    def __init__(self, rooms: int, members: int, seed: int = 7) -> None:
        self.rooms = rooms
        self.per_room = max(1, members // rooms)
        self.rng = random.Random(seed)
        self.n = 0
        self.new_members = [0] * rooms
        self.ts = int(time.time() * 1000)

    def _id(self) -> str:
        self.n += 1
        return f"$e{self.n}:{SERVER}"

    def _member_event(self, room: int, user: str, membership: str) -> dict[str, Any]:
        self.ts += 1
        return {"type": "m.room.member", "state_key": user, "sender": user,
                "event_id": self._id(), "origin_server_ts": self.ts,
                "content": {"membership": membership, "displayname": user[1:8]},
                "unsigned": {}}

    def _event(self, room: int) -> tuple[dict[str, Any], str | None]:
        r = self.rng.random()
        self.ts += 1
        if r < 0.06:  # a new resident joins
            self.new_members[room] += 1
            user = f"@n{room}_{self.new_members[room]}:{SERVER}"
            return self._member_event(room, user, "join"), None
        if r < 0.08:  # someone leaves
            user = member_of(room, self.rng.randrange(self.per_room))
            return self._member_event(room, user, "leave"), None
        user = member_of(room, self.rng.randrange(self.per_room))
        if r < 0.13:  # a reaction
            return ({"type": "m.reaction", "sender": user, "event_id": self._id(),
                     "origin_server_ts": self.ts,
                     "content": {"m.relates_to": {"rel_type": "m.annotation",
                                                  "event_id": f"$e{max(1, self.n - 3)}:{SERVER}",
                                                  "key": "👍"}}}, user)
        if r < 0.16:  # a state event the bot does not act on
            return ({"type": "m.room.topic", "state_key": "", "sender": user,
                     "event_id": self._id(), "origin_server_ts": self.ts,
                     "content": {"topic": f"话题{self.n}"}}, user)
        body = self.rng.choice(QUESTIONS if r < 0.26 else CHATTER)
        return ({"type": "m.room.message", "sender": user, "event_id": self._id(),
                 "origin_server_ts": self.ts,
                 "content": {"msgtype": "m.text", "body": body}}, user)

    def batch(self, first_room: int, rooms: int, per_room: int) -> dict[str, Any]:
        join: dict[str, Any] = {}
        for i in range(first_room, first_room + rooms):
            room = i % self.rooms
            timeline, senders = [], set()
            for _ in range(per_room):
                ev, sender = self._event(room)
                timeline.append(ev)
                if sender:
                    senders.add(sender)
            state = [self._member_event(room, u, "join") for u in sorted(senders)]
            join[room_of(room)] = {
                "timeline": {"events": timeline, "limited": False, "prev_batch": f"p{self.n}"},
                "state": {"events": state},
                "ephemeral": {"events": []},
                "account_data": {"events": []},
                "summary": {"m.joined_member_count": self.per_room},
                "unread_notifications": {"highlight_count": 0, "notification_count": 0},
            }
        return {"next_batch": f"s{self.n}", "rooms": {"join": join, "invite": {}, "leave": {}},
                "presence": {"events": []}, "account_data": {"events": []},
                "to_device": {"events": []}, "device_lists": {"changed": [], "left": []},
                "device_one_time_keys_count": {}}


async def drained(bot: Any) -> None:
    """If ``Bot.process`` hands rooms to concurrent tasks and returns before they finish, wait
    for them (whichever of these names the runtime offers), so the time is the handling's."""
    for name in ("drain", "wait_idle", "idle"):
        wait = getattr(bot, name, None)
        if callable(wait):
            result = wait()
            if asyncio.iscoroutine(result):
                await result
            return


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from linli.bot.app import build_app

    pg = None
    tmp = Path(tempfile.mkdtemp(prefix="linli-district-"))
    if args.db == "pg":
        from tests.pg import PostgresServer

        pg = PostgresServer()
        pg.start()
        url = pg.create_database("district")
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'linli.db'}"
    try:
        app = await build_app(config(url))
        fake = FakeClient()
        app.gateway.client = fake  # type: ignore[assignment]
        started = time.monotonic()
        await populate(app, args.rooms, args.stations, args.members)
        setup_s = time.monotonic() - started
        gc.collect()
        rss_after_setup = rss_mib()
        # What Bot.start does before it connects: the directory and the direct rooms in
        # memory, then the features.
        bot = app.bot
        if getattr(app, "cluster", None) is not None:
            # On PostgreSQL the process handles the rooms of the compounds it holds leases
            # on (bot/cluster.py): take them, as App.start does, or nothing is handled.
            await app.cluster.round()
        await bot.directory.reload()
        await bot.dms.load()
        for feature in bot.features:
            await feature.start()
        bot.joined_rooms.update(room_of(i) for i in range(args.rooms))
        rss_loaded = rss_mib()

        stream = Stream(args.rooms, args.members)
        per_room = args.events_per_room
        batches = max(1, args.events // (args.batch_rooms * per_room))
        handle_cpu = parse_cpu = handle_wall = 0.0
        events = 0
        room = 0
        since = "s0"
        for _ in range(batches):
            raw = stream.batch(room, args.batch_rooms, per_room)
            room += args.batch_rooms
            c0 = cpu()
            response = SyncResponse.from_dict(raw)
            parse_cpu += cpu() - c0
            assert isinstance(response, SyncResponse), response
            events += sum(len(r.timeline.events) for r in response.rooms.join.values())
            w0, c0 = time.perf_counter(), cpu()
            await bot.process(response, since)
            await drained(bot)
            handle_wall += time.perf_counter() - w0
            handle_cpu += cpu() - c0
            since = response.next_batch
        result = {
            "db": args.db, "rooms": args.rooms, "members": args.members, "events": events,
            "batches": batches, "events_per_batch": events // batches,
            "setup_s": round(setup_s, 1),
            "cpu_ms_per_event": round(1000 * handle_cpu / events, 3),
            "events_per_s": round(events / handle_wall, 1),
            "parse_ms_per_event": round(1000 * parse_cpu / events, 4),
            "handle_to_parse_ratio": round(handle_cpu / parse_cpu, 1) if parse_cpu else None,
            "rss_mib_after_setup": round(rss_after_setup, 1),
            "rss_mib_loaded": round(rss_loaded, 1),
            "rss_mib_peak": round(rss_mib(), 1),
            "homeserver_calls": dict(sorted(fake.calls.items())),
            "events_handled": bot.stats.events_handled,
        }
        await app.db.close()
        return result
    finally:
        if pg is not None:
            pg.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rooms", type=int, default=2000)
    p.add_argument("--stations", type=int, default=8)
    p.add_argument("--members", type=int, default=300_000)
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--batch-rooms", type=int, default=50)
    p.add_argument("--events-per-room", type=int, default=8)
    p.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    p.add_argument("--profile", metavar="FILE.html", help="write a pyinstrument profile")
    args = p.parse_args()
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled")
        profiler.start()
    result = asyncio.run(run(args))
    if args.profile:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_html())
        result["profile"] = args.profile
        print(profiler.output_text(unicode=False, color=False, show_all=False)[:6000],
              file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
