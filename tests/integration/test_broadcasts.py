"""Safety bulletins against a real Synapse: scheduled bulletins arrive in the right rooms with
the right text and HTML, with a controllable clock; pause, resume, delete; targets; a series;
urgent notices to many rooms; a bot process killed mid-fan-out; the catch-up window; a room
the bot was kicked from; residents refused."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import yaml

from linli.bot.app import App
from linli.bot.config import Config
from linli.bot.devserver import Account, LocalSynapse
from linli.bot.features.broadcasts.feature import BroadcastsFeature
from linli.bot.features.broadcasts.transport import MatrixTransport
from linli.bot.features.compounds.rooms import compound_power_levels
from linli.bot.matrix.gateway import MatrixGateway
from linli.bot.messages import all_catalogs
from linli.broadcasts.delivery import Renderer
from linli.broadcasts.model import Bulletin, DeliveryState, OccurrenceOutcome
from linli.broadcasts.ports import Sent
from linli.common.clock import FakeClock, SystemClock
from linli.common.i18n import Translator
from linli.community.model import AdmissionMode, Compound
from linli.storage.db import Database
from linli.storage.repos.broadcasts import BroadcastRepository
from linli.storage.repos.community import CommunityRepository
from tests.integration.harness import Person, Seen, bot_config, cli, handled, start_bot, until

pytestmark = pytest.mark.integration

MakePerson = Callable[[str], Awaitable[Person]]
WAIT = 30.0
SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- helpers -------------------------------------------------------------------------------------


async def room_posts(hs: LocalSynapse, admin: Account, room_id: str, sender: str) -> list[Any]:
    """The ``m.room.message`` contents ``sender`` posted in a room, oldest first, read with
    Synapse's admin API (no membership needed)."""
    url = f"{hs.base_url}/_synapse/admin/v1/rooms/{quote(room_id)}/messages?dir=b&limit=200"
    headers = {"Authorization": f"Bearer {admin.access_token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        data = await resp.json()
        assert resp.status == 200, data
    events = [e for e in data["chunk"] if e["type"] == "m.room.message" and e["sender"] == sender]
    return [e["content"] for e in reversed(events)]


async def make_compounds(
    gateway: MatrixGateway, db: Database, station_slug: str, names: dict[str, str]
) -> dict[str, Compound]:
    """Compound rooms made the cheap way: the bot creates each room (no alias, no invites)
    and the repository records the compound."""
    creator_power = await gateway.default_room_version_gives_creator_power()
    levels = compound_power_levels(gateway.user_id, [], AdmissionMode.MUTE, creator_power)
    repo = CommunityRepository(db, SystemClock())
    station = await repo.station(station_slug)
    made: dict[str, Compound] = {}
    for slug, name in names.items():
        room = await gateway.create_room(
            name=name, topic=name, alias_localpart=None, power_levels=levels
        )
        made[slug] = await repo.create_compound(
            slug=slug, name=name, station_id=station.id, room_id=room
        )
    return made


async def station_with_officer(config: Config, officer: Person, slug: str, name: str) -> str:
    """A station whose officers' room the officer has joined; returns that room."""
    await cli(config, "station", "create", slug, "--name", name)
    await cli(config, "staff", "add", officer.user_id, "--role", "officer", "--station", slug)
    db = Database(config.database.url)
    try:
        station = await CommunityRepository(db, SystemClock()).station(slug)
    finally:
        await db.close()
    assert station.officers_room_id
    await officer.accept_invite_to(station.officers_room_id, timeout=WAIT)
    return station.officers_room_id


def local(when: datetime) -> str:
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


@dataclass
class Setup:
    synapse: LocalSynapse
    admin: Account
    app: App
    config: Config
    clock: FakeClock
    officer: Person
    officers_room: str
    compounds: dict[str, Compound]

    @property
    def bot(self) -> str:
        return self.app.gateway.user_id

    def room(self, slug: str) -> str:
        room = self.compounds[slug].room_id
        assert room
        return room

    async def command(self, body: str, who: Person | None = None,
                      room: str | None = None) -> str:
        """Send a command (in the officers' room by default); return the bot's reply."""
        who = who or self.officer
        room = room or self.officers_room
        ask = await who.send(room, body)
        reply = await who.wait_for_reply(room, ask, self.bot, timeout=WAIT)
        await handled(self.app, ask)  # what the command decided is committed too
        return reply.body

    async def posts(self, slug: str) -> list[Any]:
        """Bulletins and notices in a compound room (``m.text``; the bot's answers to
        commands are ``m.notice``)."""
        posts = await room_posts(self.synapse, self.admin, self.room(slug), self.bot)
        return [p for p in posts if p.get("msgtype") == "m.text"]

    async def bulletin(self, number: int) -> Bulletin:
        found = await BroadcastRepository(self.app.db).get_bulletin(number)
        assert found is not None
        return found

    async def run_at(self, when: datetime) -> None:
        """Move the clock to ``when`` (never backwards) and run the due work, as the tick
        loop would."""
        if when > self.clock.now():
            self.clock.set(when)
        await self.app.bot.run_due()

    async def run_next(self, number: int) -> datetime:
        """Move the clock just past bulletin N's next fire time and run the due work."""
        at = (await self.bulletin(number)).next_at
        assert at is not None
        await self.run_at(at + timedelta(seconds=1))
        return at

    def reports(self, text: str) -> list[Seen]:
        return [s for s in self.officer.messages(self.officers_room, sender=self.bot)
                if text in s.body]

    async def report(self, *parts: str) -> Seen:
        return await self.officer.wait_for_message(
            lambda s: s.room_id == self.officers_room and s.sender == self.bot
            and all(p in s.body for p in parts),
            WAIT, f"a report with {parts!r} in the officers' room",
        )


async def _setup(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, db_path: str,
    people: MakePerson, compounds: dict[str, str], broadcasts: dict[str, Any] | None = None,
    admins: list[str] | None = None,
) -> Setup:
    officer = await people("officer")
    clock = FakeClock(datetime.now(UTC))
    config = bot_config(synapse, bot_account, db_path, admins=admins,
                        extra={"broadcasts": broadcasts or {}})
    officers_room = await station_with_officer(config, officer, "xinhua", "新华路派出所")
    app = await start_bot(config, clock=clock)
    made = await make_compounds(app.gateway, app.db, "xinhua", compounds)
    await app.bot.directory.reload()
    return Setup(synapse, hs_admin, app, config, clock, officer, officers_room, made)


# --- scheduled bulletins -------------------------------------------------------------------------


async def test_once_cron_and_interval_bulletins_arrive_formatted(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, people: MakePerson,
    db_path: str,
) -> None:
    s = await _setup(synapse, hs_admin, bot_account, db_path, people,
                     {"meiyuan": "梅园小区", "taoyuan": "桃园小区"})
    try:
        now = s.clock.now()
        once_at = local(now + timedelta(minutes=10))
        # A daily cron line three hours from now: the three fire in a known order (the
        # one-off after 10 minutes, the interval after 2 hours, the cron after 3).
        cron_local = (now + timedelta(hours=3)).astimezone(SHANGHAI)
        cron = f"{cron_local.minute} {cron_local.hour} * * *"
        reply = await s.command(
            f"!bulletin add meiyuan once {once_at} | 消防检查 | "
            "**{compound}**明天检查消防通道，请清理楼道杂物。"
        )
        assert "已创建公告 #1「消防检查」" in reply and "梅园小区" in reply
        reply = await s.command(f'!bulletin add taoyuan cron "{cron}" | 文明养犬 | 遛狗请*牵绳*')
        assert "已创建公告 #2「文明养犬」" in reply
        reply = await s.command(
            "!bulletin add meiyuan,taoyuan every 2h | 防盗提醒 | 出门请锁好门窗"
        )
        assert "已创建公告 #3「防盗提醒」" in reply

        listing = await s.command("!bulletin list")
        assert "公告（3 条）" in listing
        assert f"#2「文明养犬」 进行中 · cron “{cron}”（Asia/Shanghai）" in listing

        # Preview: the officers' room gets the post as 梅园小区 would see it.
        reply = await s.command("!bulletin preview 1")
        assert "公告 #1 在「梅园小区」群里将显示为" in reply
        preview = await s.officer.wait_for_message(
            lambda m: m.room_id == s.officers_room and m.sender == s.bot
            and m.body.startswith("消防检查"), WAIT, "the preview",
        )
        assert "<strong>梅园小区</strong>" in preview.content["formatted_body"]
        assert await s.posts("meiyuan") == []  # a preview posts nowhere else

        # The one-off, at its time: the plain body is the Markdown source, the HTML rendered.
        await s.run_next(1)
        posts = await s.posts("meiyuan")
        assert len(posts) == 1
        assert posts[0]["msgtype"] == "m.text"
        assert posts[0]["body"] == "消防检查\n\n**梅园小区**明天检查消防通道，请清理楼道杂物。"
        assert posts[0]["format"] == "org.matrix.custom.html"
        assert posts[0]["formatted_body"] == (
            "<p><strong>消防检查</strong></p>\n"
            "<p><strong>梅园小区</strong>明天检查消防通道，请清理楼道杂物。</p>"
        )
        assert posts[0]["m.mentions"] == {}
        assert await s.posts("taoyuan") == []
        await s.report("公告 #1「消防检查」", "按时送达 1 个群，迟发 0 个，失败 0 个")
        assert (await s.bulletin(1)).next_at is None
        assert "已结束" in await s.command("!bulletin show 1")

        # The interval bulletin, two hours after it was created, in both rooms.
        await s.run_next(3)
        for slug in ("meiyuan", "taoyuan"):
            bodies = [p["body"] for p in await s.posts(slug)]
            assert bodies[-1] == "防盗提醒\n\n出门请锁好门窗", (slug, bodies)
        assert len(await s.posts("taoyuan")) == 1
        await s.report("公告 #3「防盗提醒」", "按时送达 2 个群")

        # The cron bulletin at its local time, only in 桃园; next: the same time tomorrow.
        cron_at = await s.run_next(2)
        assert cron_at.astimezone(SHANGHAI).strftime("%H:%M") == cron_local.strftime("%H:%M")
        posts = await s.posts("taoyuan")
        assert [p["body"] for p in posts] == [
            "防盗提醒\n\n出门请锁好门窗", "文明养犬\n\n遛狗请*牵绳*"
        ]
        assert posts[1]["formatted_body"] == (
            "<p><strong>文明养犬</strong></p>\n<p>遛狗请<em>牵绳</em></p>"
        )
        assert len(await s.posts("meiyuan")) == 2
        await s.report("公告 #2「文明养犬」", "按时送达 1 个群")
        assert (await s.bulletin(2)).next_at == cron_at + timedelta(days=1)
    finally:
        await s.app.close()


async def test_pause_resume_and_delete(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, people: MakePerson,
    db_path: str,
) -> None:
    s = await _setup(synapse, hs_admin, bot_account, db_path, people, {"meiyuan": "梅园小区"})
    try:
        await s.command("!bulletin add meiyuan every 1h | 防火提示 | 不要在楼道充电")
        text = "防火提示\n\n不要在楼道充电"
        await s.run_next(1)
        assert [p["body"] for p in await s.posts("meiyuan")] == [text]

        assert "公告 #1 已暂停" in await s.command("!bulletin pause 1")
        assert "已暂停" in await s.command("!bulletin list")
        await s.run_at(s.clock.now() + timedelta(hours=3))
        assert len(await s.posts("meiyuan")) == 1  # nothing while paused

        reply = await s.command("!bulletin resume 1")
        assert "公告 #1 已恢复" in reply
        # Resumed from now on: the hours missed in the pause are not posted late.
        await s.run_at(s.clock.now() + timedelta(seconds=1))
        assert len(await s.posts("meiyuan")) == 1
        await s.run_next(1)
        assert [p["body"] for p in await s.posts("meiyuan")] == [text, text]

        assert "公告 #1 已删除" in await s.command("!bulletin delete 1")
        await s.run_at(s.clock.now() + timedelta(hours=5))
        assert len(await s.posts("meiyuan")) == 2
        assert "还没有公告" in await s.command("!bulletin list")
        assert "没有编号为 1 的公告" in await s.command("!bulletin show 1")
        assert "“x”不是公告编号" in await s.command("!bulletin pause x")
        assert "用法" in await s.command("!bulletin")
    finally:
        await s.app.close()


async def test_targets_by_station_and_by_name_and_a_series(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, people: MakePerson,
    db_path: str,
) -> None:
    s = await _setup(synapse, hs_admin, bot_account, db_path, people,
                     {"meiyuan": "梅园小区", "taoyuan": "桃园小区"})
    try:
        # A second station with a compound of its own and its own officer.
        other = await people("officer")
        other_room = await station_with_officer(s.config, other, "dongcheng", "东城派出所")
        made = await make_compounds(s.app.gateway, s.app.db, "dongcheng", {"lanyuan": "兰园小区"})
        s.compounds.update(made)
        await s.app.bot.directory.reload()

        await s.command("!bulletin add station:xinhua every 1d | 辖区通报 | 本周辖区治安平稳")
        await s.command("!bulletin add taoyuan every 1d | 电梯检修 | 明天上午电梯检修")
        reply = await s.command(
            "!bulletin add meiyuan every 1h series | 防诈骗提示 | "
            "不要轻信陌生来电 || 不要点击陌生链接 || 公检法不会电话办案"
        )
        assert "#3" in reply
        # Only the station's officers and admins may target its compounds.
        assert "只有本所民警和管理员" in await s.command(
            "!bulletin add lanyuan every 1d | 越权 | 不应创建"
        )
        assert "只有本所民警和管理员" in await s.command(
            "!bulletin add all every 1d | 全区 | 不应创建"
        )
        refused = await s.command("!bulletin add meiyuan every 1d | 越权 | 不应创建",
                                  who=other, room=other_room)
        assert "只有本所民警和管理员" in refused

        day = s.clock.now() + timedelta(days=1, seconds=1)
        await s.run_at(day)
        station_post = "辖区通报\n\n本周辖区治安平稳"
        lift_post = "电梯检修\n\n明天上午电梯检修"
        meiyuan = [p["body"] for p in await s.posts("meiyuan")]
        taoyuan = [p["body"] for p in await s.posts("taoyuan")]
        lanyuan = [p["body"] for p in await s.posts("lanyuan")]
        assert meiyuan.count(station_post) == 1 and taoyuan.count(station_post) == 1
        assert taoyuan.count(lift_post) == 1 and lift_post not in meiyuan
        assert lanyuan == []
        # The hourly series was due 24 times by then: one post (coalesced), its first tip.

        tips = ["不要轻信陌生来电", "不要点击陌生链接", "公检法不会电话办案"]
        before = [p for p in meiyuan if p.startswith("防诈骗提示")]
        assert before == [f"防诈骗提示\n\n{tips[0]}"]
        for _ in range(3):
            await s.run_next(3)
        series = [p["body"] for p in await s.posts("meiyuan") if p["body"].startswith("防诈骗")]
        assert series == [f"防诈骗提示\n\n{t}" for t in (*tips, tips[0])]
        assert "下次发送第 2 条" in await s.command("!bulletin show 3")
    finally:
        await s.app.close()


# --- urgent notices ------------------------------------------------------------------------------


async def test_urgent_notice_reaches_twenty_rooms(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, people: MakePerson,
    db_path: str,
) -> None:
    names = {f"xq{i:02d}": f"第{i}小区" for i in range(20)}
    s = await _setup(synapse, hs_admin, bot_account, db_path, people, names)
    try:
        ask = await s.officer.send(
            s.officers_room, "!notice station:xinhua @room 今晚20点至22点停水，请提前储水。"
        )
        ack = await s.officer.wait_for_reply(s.officers_room, ask, s.bot, timeout=WAIT)
        assert "正在向 20 个群发送紧急通知" in ack.body
        await s.report("紧急通知 #1：送达 20 个群，迟发 0 个，失败 0 个")
        for slug in names:
            posts = await s.posts(slug)
            assert len(posts) == 1, (slug, posts)
            assert posts[0]["body"] == "@room\n【紧急通知】\n\n今晚20点至22点停水，请提前储水。"
            assert posts[0]["m.mentions"] == {"room": True}  # the bot may: it created the room
            assert posts[0]["formatted_body"].startswith("<p>@room</p>")
        # A notice is no bulletin: the list stays empty.
        assert "还没有公告" in await s.command("!bulletin list")
        assert "用法" in await s.command("!notice station:xinhua")

        # The operator's console can send one too, through the bot's account.
        out = await cli(s.config, "bulletins", "notice", "xq00", "燃气管道抢修，请勿使用明火",
                        lang=None)
        assert out == ["🚨 紧急通知 #2：送达 1 个群，迟发 0 个，失败 0 个"]
        await s.report("紧急通知 #2：送达 1 个群")
        assert [p["body"] for p in await s.posts("xq00")][-1] == (
            "【紧急通知】\n\n燃气管道抢修，请勿使用明火"
        )
        feature = next(f for f in s.app.bot.features if isinstance(f, BroadcastsFeature))
        samples = {x.labels["state"]: x.value for x in await feature.metrics()}
        assert samples == {"pending": 0, "delivered": 21, "failed": 0, "skipped": 0}
    finally:
        await s.app.close()


async def test_a_room_the_bot_was_kicked_from_is_reported_and_the_rest_delivered(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, people: MakePerson,
    db_path: str,
) -> None:
    s = await _setup(synapse, hs_admin, bot_account, db_path, people,
                     {"meiyuan": "梅园小区", "taoyuan": "桃园小区"})
    try:
        # A room the officer created and handed to the bot, then took away again.
        resp = await s.officer.client.room_create(name="老院")
        room = resp.room_id
        await s.officer.client.room_invite(room, s.bot)
        pl = (await s.officer.client.room_get_state_event(room, "m.room.power_levels")).content
        pl["users"][s.bot] = 100
        await s.officer.client.room_put_state(room, "m.room.power_levels", pl)
        await until(lambda: room in s.app.bot.joined_rooms, WAIT, "the bot joining 老院")
        await cli(s.config, "compound", "adopt", "laoyuan", "--name", "老院", "--station",
                  "xinhua", "--room", room)
        await s.app.bot.directory.reload()
        kicked = await s.officer.client.room_kick(room, s.bot, "不再需要")
        assert not hasattr(kicked, "status_code"), kicked

        ask = await s.officer.send(s.officers_room, "!notice station:xinhua 明早8点疏散演练")
        await s.officer.wait_for_reply(s.officers_room, ask, s.bot, timeout=WAIT)
        report = await s.report("紧急通知 #1")
        assert "送达 2 个群，迟发 0 个，失败 1 个（老院）" in report.body
        for slug in ("meiyuan", "taoyuan"):
            assert [p["body"] for p in await s.posts(slug)] == ["【紧急通知】\n\n明早8点疏散演练"]
        rows = await BroadcastRepository(s.app.db).deliveries(1, (await _occurrence_at(s, 1)))
        failed = [r for r in rows if r.state is DeliveryState.FAILED]
        assert [r.room_id for r in failed] == [room]
        assert failed[0].error == "M_FORBIDDEN" and failed[0].attempts == 1  # not retried
    finally:
        await s.app.close()


async def _occurrence_at(s: Setup, bulletin: int) -> datetime:
    occurrences = await BroadcastRepository(s.app.db).occurrences(bulletin)
    assert len(occurrences) == 1
    return occurrences[0].at


# --- catch-up ------------------------------------------------------------------------------------


async def test_catch_up_window_both_ways(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, people: MakePerson,
    db_path: str,
) -> None:
    s = await _setup(synapse, hs_admin, bot_account, db_path, people, {"meiyuan": "梅园小区"},
                     broadcasts={"catch_up_window": "1h"})
    app = s.app
    try:
        start = s.clock.now()
        await s.command(f"!bulletin add meiyuan once {local(start + timedelta(minutes=10))}"
                        " | 补发测试 | 停机期间的公告")
        await s.command("!bulletin add meiyuan every 10m | 巡逻提示 | 巡逻队已出发")
        await app.close()

        # Down across both: the one-off is 30 minutes late (inside the hour: posted late);
        # the 10-minute bulletin missed four times: one post, not four stale copies.
        s.clock.set(start + timedelta(minutes=40, seconds=30))
        app = s.app = await start_bot(s.config, clock=s.clock)
        await app.bot.run_due()
        await s.report("公告 #1「补发测试」", "按时送达 0 个群，迟发 1 个")
        await s.report("公告 #2「巡逻提示」", "停机期间错过的 3 次已合并为这一次")
        bodies = [p["body"] for p in await s.posts("meiyuan")]
        assert sorted(bodies) == sorted(["补发测试\n\n停机期间的公告", "巡逻提示\n\n巡逻队已出发"])

        await s.command(f"!bulletin add meiyuan once {local(s.clock.now() + timedelta(minutes=5))}"
                        " | 过期测试 | 这条不应补发")
        await app.close()

        # Down for three hours: everything due lies beyond the hour. The one-off is skipped
        # and reported; the 10-minute bulletin posts once, for its latest occurrence.
        s.clock.advance(timedelta(hours=3))
        app = s.app = await start_bot(s.config, clock=s.clock)
        await app.bot.run_due()
        await s.report("公告 #3「过期测试」", "已超过补发时限")
        # Delivery reports only (the creation confirmation names the bulletin too).
        await until(lambda: len(s.reports("📢 公告 #2「巡逻提示」")) == 2, WAIT,
                    "the second report of the 10-minute bulletin")
        bodies = [p["body"] for p in await s.posts("meiyuan")]
        assert "过期测试\n\n这条不应补发" not in bodies
        assert bodies.count("巡逻提示\n\n巡逻队已出发") == 2
        outcomes = [o.outcome for o in await BroadcastRepository(app.db).occurrences(3)]
        assert outcomes == [OccurrenceOutcome.SKIPPED]
    finally:
        await s.app.close()


# --- permissions ---------------------------------------------------------------------------------


async def test_residents_cannot_run_bulletin_commands(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, people: MakePerson,
    db_path: str,
) -> None:
    s = await _setup(synapse, hs_admin, bot_account, db_path, people, {"meiyuan": "梅园小区"})
    try:
        resident = await people("resident")
        await resident.join(s.room("meiyuan"))
        await s.app.gateway.set_power_levels(s.room("meiyuan"), {resident.user_id: 1})
        # Even let into the officers' room, a resident is refused.
        await s.officer.client.room_invite(s.officers_room, resident.user_id)
        await resident.accept_invite_to(s.officers_room, timeout=WAIT)
        once_at = local(s.clock.now() + timedelta(minutes=10))
        attempts = [
            "!bulletin list", "!bulletin show 1", "!bulletin preview 1", "!bulletin pause 1",
            "!bulletin resume 1", "!bulletin delete 1",
            f"!bulletin add meiyuan once {once_at} | 假通知 | 中奖了",
            "!notice meiyuan 假的紧急通知",
        ]
        for room in (s.room("meiyuan"), s.officers_room):
            for body in attempts:
                reply = await s.command(body, who=resident, room=room)
                name = body.split()[0]
                assert f"抱歉，{name} 只有社区民警或管理员可以使用" in reply, (body, reply)
        assert "还没有公告" in await s.command("!bulletin list")
        assert await s.posts("meiyuan") == []
        # And an officer in a compound room is pointed to the officers' room.
        await s.app.gateway.set_power_levels(s.room("meiyuan"), {s.officer.user_id: 50})
        await s.officer.join(s.room("meiyuan"))
        reply = await s.command("!bulletin list", room=s.room("meiyuan"))
        assert "!bulletin 只能在民警工作群里使用" in reply
    finally:
        await s.app.close()


# --- a real process, killed mid-fan-out ----------------------------------------------------------


async def test_process_killed_mid_fan_out_posts_each_room_exactly_once(
    synapse: LocalSynapse, hs_admin: Account, bot_account: Account, people: MakePerson,
    tmp_path: Path,
) -> None:
    """An urgent notice to 30 rooms, one send at a time; SIGKILL once some rooms have it;
    the restarted process finishes the fan-out (same transaction ids) and reports once."""
    rooms = 30
    officer = await people("officer")
    db_file = tmp_path / "linli.db"
    config = bot_config(synapse, bot_account, f"sqlite+aiosqlite:///{db_file}")
    officers_room = await station_with_officer(config, officer, "xinhua", "新华路派出所")
    gateway = MatrixGateway(config.matrix)
    await gateway.login(None, None)
    db = Database(config.database.url)
    try:
        compounds = await make_compounds(
            gateway, db, "xinhua", {f"xq{i:02d}": f"第{i}小区" for i in range(rooms)}
        )
    finally:
        await gateway.close()
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump({
        "matrix": {"homeserver": synapse.base_url, "user_id": bot_account.user_id,
                   "sync_timeout": "1s", "request_timeout": "10s"},
        "database": {"url": f"sqlite:///{db_file}"},
        "bot": {"tick_interval": "1s", "directory_refresh": "1s"},
        "broadcasts": {"max_concurrent_sends": 1, "lease_ttl": "3s"},
    }))
    env = {**os.environ, "LINLI_MATRIX__ACCESS_TOKEN": bot_account.access_token,
           "LINLI_SECURITY__DATA_KEY": "k" * 43 + "="}
    store = BroadcastRepository(db)
    outputs: list[list[str]] = []

    async def start() -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "linli", "--config", str(config_file), "run", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        output: list[str] = []
        outputs.append(output)

        async def read() -> None:
            assert proc.stdout
            async for line in proc.stdout:
                output.append(line.decode(errors="replace"))

        readers.append(asyncio.create_task(read()))
        await until(lambda: any("running;" in line for line in output) or proc.returncode,
                    60, "the bot process running")
        assert proc.returncode is None, "".join(output)
        return proc

    readers: list[asyncio.Task[None]] = []
    procs: list[asyncio.subprocess.Process] = []
    try:
        procs.append(await start())
        notice = "台风预警：今晚请关好门窗。"
        ask = await officer.send(officers_room, f"!notice station:xinhua {notice}")

        # Watch the ledger closely and kill the process once some, not all, rooms have it.
        deadline = time.monotonic() + WAIT
        delivered = 0
        while time.monotonic() < deadline:
            delivered = (await store.delivery_counts())[DeliveryState.DELIVERED]
            if delivered:
                break
            await asyncio.sleep(0.005)
        procs[0].kill()
        await procs[0].wait()
        counts = await store.delivery_counts()
        assert 0 < counts[DeliveryState.DELIVERED] < rooms, counts
        assert counts[DeliveryState.PENDING] == rooms - counts[DeliveryState.DELIVERED]

        # The worst moment to die is after the homeserver accepted a send and before the
        # ledger recorded it. Make that case certain rather than lucky: send the first
        # pending row's message with its transaction id and the bot's token, as the killed
        # process might have done an instant before SIGKILL.
        occurrence = (await store.open_occurrences(10))[0]
        bulletin = await store.get_bulletin(occurrence.bulletin_id)
        assert bulletin is not None
        rows = await store.deliveries(bulletin.id, occurrence.at)
        in_flight = next(r for r in rows if r.state is DeliveryState.PENDING)
        directory = await CommunityRepository(db, SystemClock()).load_directory()
        message = Renderer(Translator(all_catalogs())).render(
            bulletin, occurrence.series_index, occurrence.at, in_flight.compound_id, directory
        )
        gateway = MatrixGateway(config.matrix)
        try:
            await gateway.login(None, None)
            sent = await MatrixTransport(gateway).send(
                in_flight.room_id, message, in_flight.txn_id
            )
        finally:
            await gateway.close()
        assert isinstance(sent, Sent)

        procs.append(await start())
        await until(
            lambda: _all_delivered(store, rooms), 60, "the restarted bot finishing the fan-out"
        )
        report = await officer.wait_for_message(
            lambda m: m.room_id == officers_room and "紧急通知 #1：" in m.body, WAIT,
            "the delivery report",
        )
        assert f"送达 {rooms} 个群，迟发 0 个，失败 0 个" in report.body
        for slug, compound in compounds.items():
            assert compound.room_id
            posts = await room_posts(synapse, hs_admin, compound.room_id, bot_account.user_id)
            assert [p["body"] for p in posts] == [f"【紧急通知】\n\n{notice}"], slug
        # The restarted process sent that row again with the same transaction id, and the
        # homeserver answered with the first event instead of posting twice.
        after = {r.id: r for r in await store.deliveries(bulletin.id, occurrence.at)}
        assert after[in_flight.id].event_id == sent.event_id
        assert after[in_flight.id].attempts >= 1
        # The command was handled once: one acknowledgement, one notice, one report.
        acks = [m for m in officer.messages(officers_room, bot_account.user_id)
                if m.reply_to == ask]
        assert len(acks) == 1
        reports = [m for m in officer.messages(officers_room, bot_account.user_id)
                   if "紧急通知 #1：" in m.body]
        assert len(reports) == 1
        assert await store.get_bulletin(2) is None

        procs[1].send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(procs[1].wait(), 30) == 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for reader in readers:
            await reader
        await db.close()
    for output in outputs:
        assert not any("Traceback" in line for line in output), "".join(output)


async def _all_delivered(store: BroadcastRepository, rooms: int) -> bool:
    return (await store.delivery_counts())[DeliveryState.DELIVERED] == rooms
