"""The demo's staged conversation: resident2 is verified by the officer after a "door visit",
asks an ordinary question the officer answers, and reports a gas smell that is flagged at
once in the officers' room; the officer sends an urgent notice. Everything goes through the
real rooms and the running bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, JoinResponse, RoomSendResponse, SyncResponse

from linli.bot.devserver import Account, LocalSynapse

log = logging.getLogger(__name__)

DEMO_NOTICE = "!notice meiyuan @room 今晚 20:00–22:00 小区停水检修，请提前储水。"
MARKER = "conversation.done"
VERIFY_AS = ("meiyuan:2-1-101", "陈静")
ANSWERED = "请问办理居住证需要带什么材料？"
ANSWER = "带身份证和租房合同，工作日到派出所户籍窗口办理即可。"
URGENT = "楼道里有很浓的煤气味，是不是煤气泄漏了？"


async def _until(check: Callable[[], Awaitable[bool]], limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.5)


def _client(hs: LocalSynapse, account: Account) -> AsyncClient:
    client = AsyncClient(hs.base_url, account.user_id,
                         config=AsyncClientConfig(max_timeouts=2, request_timeout=20))
    client.restore_login(account.user_id, account.device_id, account.access_token)
    return client


async def _send(client: AsyncClient, room: str, body: str, reply_to: str | None = None) -> str:
    content: dict[str, Any] = {"msgtype": "m.text", "body": body}
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    resp = await client.room_send(room, "m.room.message", content)
    if not isinstance(resp, RoomSendResponse):
        raise RuntimeError(f"could not post: {resp}")
    return str(resp.event_id)


async def stage(hs: LocalSynapse, accounts: dict[str, Account], data: Path, app: Any) -> list[str]:
    """Stage the conversation once per demo folder; returns lines for the instructions."""
    marker = data / MARKER
    if marker.exists():
        return []
    directory = app.bot.directory.current
    compound = directory.compound_by_slug("meiyuan")
    station = directory.station_by_slug("xinhua")
    if compound is None or station is None or not compound.room_id or not station.officers_room_id:
        return []
    room, officers_room = compound.room_id, station.officers_room_id
    officer = _client(hs, accounts["officer"])
    resident = _client(hs, accounts["resident2"])
    try:
        for client, rooms in ((officer, (room, officers_room)), (resident, (room,))):
            for r in rooms:
                joined = await client.join(r)
                if not isinstance(joined, JoinResponse):
                    raise RuntimeError(f"{client.user_id} could not join {r}: {joined}")

        async def prompted() -> bool:
            sync = await resident.sync(timeout=0)
            return isinstance(sync, SyncResponse) and bool(sync.rooms.invite)

        await _until(prompted, 30, "the bot's direct message to resident2")
        flat, name = VERIFY_AS
        await _send(officer, officers_room, f"!verify {resident.user_id} {flat} {name}")

        async def may_post() -> bool:
            pl = await resident.room_get_state_event(room, "m.room.power_levels")
            users = getattr(pl, "content", {}).get("users", {})
            return int(users.get(resident.user_id, 0)) >= 1

        await _until(may_post, 30, "resident2 verified")
        question = await _send(resident, room, ANSWERED)
        await _send(officer, room, ANSWER, reply_to=question)
        await _send(resident, room, URGENT)
        await _send(officer, officers_room, DEMO_NOTICE)
    except Exception as exc:  # the demo still runs without its sample conversation
        log.warning("could not stage the sample conversation: %s", exc)
        return ["  (the sample conversation could not be staged; see the log)"]
    finally:
        await officer.close()
        await resident.close()
    marker.write_text("done\n")
    return [
        f"  * already in 梅园小区: {accounts['resident2'].user_id} was verified by the officer",
        f"    (!verify in the officers' room), asked “{ANSWERED}”, which the officer",
        f"    answered, and reported “{URGENT}”, flagged at once in the",
        "    officers' room as urgent. There, !questions lists it and !stats shows the",
        "    response times; reply !answered to the flag to close it.",
        "  * the officer also sent an urgent notice from the officers' room; 梅园小区 got it at",
        "    once and the officers' room a delivery report.",
    ]
