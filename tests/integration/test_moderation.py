"""Moderation against a real Synapse with real clients: officers' commands, timed mutes that
end by themselves (also across a restart), refusals, and flood control."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nio import JoinError, RoomGetEventResponse, RoomGetStateEventResponse

from linli.bot.app import App
from linli.bot.config import Config
from linli.bot.devserver import Account, LocalSynapse
from linli.common.clock import FakeClock
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.community import CommunityRepository
from tests.integration.harness import Person, Seen, bot_config, cli, handled, start_bot, until

pytestmark = pytest.mark.integration

MakePerson = Callable[[str], Awaitable[Person]]
WAIT = 30.0


@dataclass
class Setup:
    app: App
    config: Config
    clock: FakeClock
    officer: Person
    resident: Person
    room: str
    officers_room: str

    @property
    def bot(self) -> str:
        return self.app.gateway.user_id

    async def command(self, body: str, who: Person | None = None,
                      reply_to: str | None = None) -> str:
        """Send a command in the compound room and return the bot's reply to it."""
        who = who or self.officer
        ask = await who.send(self.room, body, reply_to=reply_to)
        reply = await who.wait_for_reply(self.room, ask, self.bot, timeout=WAIT)
        await handled(self.app, ask)  # what the command decided is committed too
        return reply.body

    async def level(self, user_id: str) -> int | None:
        pl = await self.app.gateway.state_event(self.room, "m.room.power_levels")
        value = pl.get("users", {}).get(user_id)
        return None if value is None else int(value)

    def reports(self, text: str) -> list[Seen]:
        return [s for s in self.officer.messages(self.officers_room, sender=self.bot)
                if text in s.body]

    async def report(self, text: str) -> Seen:
        return await self.officer.wait_for_message(
            lambda s: s.room_id == self.officers_room and s.sender == self.bot and text in s.body,
            WAIT, f"a report with {text!r} in the officers' room",
        )

    async def can_post(self, person: Person) -> None:
        await until(lambda: person.try_send(self.room, "我可以说话了"), WAIT,
                    f"{person.user_id} allowed to post")

    async def cannot_post(self, person: Person) -> None:
        async def refused() -> bool:
            return await person.try_send(self.room, "测试发言") is None

        await until(refused, WAIT, f"{person.user_id} muted")


async def _setup(
    synapse: LocalSynapse, bot_account: Account, db_path: str, people: MakePerson,
    moderation: dict[str, Any] | None = None,
) -> Setup:
    officer = await people("officer")
    resident = await people("resident")
    clock = FakeClock(datetime.now(UTC))  # Matrix timestamps are real: start at real now
    config = bot_config(synapse, bot_account, db_path,
                        extra={"moderation": moderation} if moderation else None)
    app = await start_bot(config, clock=clock)
    try:
        await cli(config, "station", "create", "xinhua", "--name", "新华派出所")
        await cli(config, "staff", "add", officer.user_id, "--role", "officer",
                  "--station", "xinhua")
        await cli(config, "compound", "create", "meiyuan", "--name", "梅园小区",
                  "--station", "xinhua")
        await app.bot.directory.reload()
        repo = CommunityRepository(app.db, app.clock)
        room = (await repo.compound("meiyuan")).room_id
        officers_room = (await repo.station("xinhua")).officers_room_id
        assert room and officers_room
        await officer.accept_invite_to(room)
        await officer.accept_invite_to(officers_room)
        await until(lambda: {room, officers_room} <= app.bot.joined_rooms, WAIT,
                    "the bot in both rooms")
        await resident.join(room)
        # A verified resident: level 1 in a room where posting needs 1.
        await app.gateway.set_power_levels(room, {resident.user_id: 1})
        setup = Setup(app, config, clock, officer, resident, room, officers_room)
        await setup.can_post(resident)
        return setup
    except BaseException:
        await app.close()
        raise


async def _membership(person: Person, room_id: str, user_id: str) -> dict[str, Any]:
    resp = await person.client.room_get_state_event(room_id, "m.room.member", user_id)
    assert isinstance(resp, RoomGetStateEventResponse), resp
    return dict(resp.content)


async def test_timed_mute_ends_by_itself_and_officers_are_told(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people)
    try:
        reply = await s.command(f"!mute {s.resident.user_id} 2h 发广告")
        assert "已禁言" in reply and s.resident.user_id in reply
        await s.cannot_post(s.resident)
        assert await s.level(s.resident.user_id) == 0
        report = await s.report("禁言了")
        assert s.officer.user_id in report.body and "发广告" in report.body
        assert "梅园小区" in report.body

        # Not yet: an hour later the mute holds.
        s.clock.advance(timedelta(hours=1))
        await s.app.bot.run_due()
        assert await s.resident.try_send(s.room, "现在试试") is None

        s.clock.advance(timedelta(hours=1))
        await s.app.bot.run_due()
        await s.can_post(s.resident)
        assert await s.level(s.resident.user_id) == 1  # the level from before the mute
        await s.report("已自动解除")

        audit = await AuditRepository(s.app.db, s.app.clock).recent()
        actions = [(e.action, e.target) for e in audit]
        assert ("mute", s.resident.user_id) in actions
        assert ("auto_unmute", s.resident.user_id) in actions
    finally:
        await s.app.close()


async def test_unmute_early_and_nothing_left_to_lift(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people)
    try:
        await s.command(f"!mute {s.resident.user_id} 2h 吵架")
        await s.cannot_post(s.resident)
        reply = await s.command(f"!unmute {s.resident.user_id} 已道歉")
        assert "已解除" in reply
        await s.can_post(s.resident)
        await s.report("解除了")
        assert await s.level(s.resident.user_id) == 1

        reply = await s.command(f"!unmute {s.resident.user_id}")
        assert "没有被机器人禁言" in reply

        s.clock.advance(timedelta(hours=3))
        await s.app.bot.run_due()
        marker = await s.command("!help")
        assert "!mute" in marker
        assert s.reports("已自动解除") == []
    finally:
        await s.app.close()


async def test_kick_with_reason(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people)
    try:
        reply = await s.command(f"!kick {s.resident.user_id} 多次发布诈骗链接")
        assert "移出" in reply
        member = await _membership(s.officer, s.room, s.resident.user_id)
        assert member["membership"] == "leave"
        assert member.get("reason") == "多次发布诈骗链接"
        await s.report("移出了")
        # A kick is not a ban: they may come back.
        await s.resident.join(s.room)
    finally:
        await s.app.close()


async def test_ban_and_unban(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people)
    try:
        reply = await s.command(f"!ban {s.resident.user_id} 冒充民警")
        assert "已封禁" in reply
        member = await _membership(s.officer, s.room, s.resident.user_id)
        assert member["membership"] == "ban" and member.get("reason") == "冒充民警"
        assert isinstance(await s.resident.client.join(s.room), JoinError)
        await s.report("封禁了")
        assert "已经被封禁" in await s.command(f"!ban {s.resident.user_id} 再次")

        reply = await s.command(f"!unban {s.resident.user_id}")
        assert "解除" in reply
        member = await _membership(s.officer, s.room, s.resident.user_id)
        assert member["membership"] == "leave"
        await s.resident.join(s.room)
        await s.report("解除了")
        assert "没有被机器人封禁" in await s.command(f"!unban {s.resident.user_id}")
    finally:
        await s.app.close()


async def test_warnings_lead_to_a_timed_mute(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people,
                     moderation={"warn_limit": 3, "warn_mute": "1h"})
    try:
        for n in (1, 2):
            reply = await s.command(f"!warn {s.resident.user_id} 第{n}次刷屏")
            assert reply.startswith("已警告") and "禁言" not in reply
            assert await s.resident.try_send(s.room, f"警告{n}次后还能说话") is not None
        reply = await s.command(f"!warn {s.resident.user_id} 第3次刷屏")
        assert "已达上限" in reply and "1小时" in reply.replace(" ", "")
        await s.cannot_post(s.resident)
        await s.report("累计受到 3 次警告")
        assert len(s.reports("警告了")) == 3

        # The resident is told in a direct message.
        dm = s.app.bot.dms.rooms[s.resident.user_id]
        await s.resident.accept_invite_to(dm, WAIT)
        await s.resident.wait_for_message(
            lambda m: m.room_id == dm and "第 1/3 次" in m.body, WAIT, "the first warning")
        await s.resident.wait_for_message(
            lambda m: m.room_id == dm and "被禁言" in m.body, WAIT, "the mute notice")

        s.clock.advance(timedelta(hours=1))
        await s.app.bot.run_due()
        await s.can_post(s.resident)
        # Those warnings were used up: the next one starts a new count.
        reply = await s.command(f"!warn {s.resident.user_id} 又刷屏")
        assert reply.startswith("已警告") and "禁言" not in reply
    finally:
        await s.app.close()


async def test_redact_as_a_reply_removes_the_message(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people)
    try:
        spam = await s.resident.send(s.room, "低价代办证件，加微信")
        reply = await s.command("!redact 违规广告", reply_to=spam)
        assert "已撤回" in reply
        resp = await s.officer.client.room_get_event(s.room, spam)
        assert isinstance(resp, RoomGetEventResponse)
        assert resp.event.source.get("content") == {}
        assert "redacted_because" in resp.event.source.get("unsigned", {})
        await s.report("撤回了")

        assert "回复" in await s.command("!redact")  # not a reply: says how
        # A staff member's message stays.
        notice = await s.officer.send(s.room, "今晚停水")
        assert "工作人员" in await s.command("!redact", reply_to=notice)
        resp = await s.officer.client.room_get_event(s.room, notice)
        assert isinstance(resp, RoomGetEventResponse)
        assert resp.event.source.get("content", {}).get("body") == "今晚停水"
    finally:
        await s.app.close()


async def test_staff_cannot_be_muted_and_ids_are_checked(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people)
    colleague = await people("wuye")
    try:
        await cli(s.config, "staff", "add", colleague.user_id, "--role", "property",
                  "--compound", "meiyuan")
        await s.app.bot.directory.reload()
        await colleague.accept_invite_to(s.room, WAIT)
        before = (await s.app.gateway.state_event(s.room, "m.room.power_levels"))["users"]

        for body in (f"!mute {colleague.user_id} 2h 测试", f"!kick {colleague.user_id} 测试",
                     f"!ban {colleague.user_id} 测试", f"!warn {colleague.user_id} 测试",
                     f"!mute {s.officer.user_id} 1h 测试"):
            assert "工作人员" in await s.command(body), body
        assert "机器人不能对自己" in await s.command(f"!mute {s.bot} 1h 测试")
        for bad in ("zhangsan", "@zhangsan", "@:linli.test", "#room:linli.test"):
            reply = await s.command(f"!mute {bad} 1h 测试")
            assert "不是有效的 Matrix 用户" in reply, reply
        assert "时长" in await s.command(f"!mute {s.resident.user_id} forever 测试")
        assert "不超过" in await s.command(f"!mute {s.resident.user_id} 400d 测试")
        assert "用法" in await s.command(f"!mute {s.resident.user_id} 2h")  # reason required

        after = (await s.app.gateway.state_event(s.room, "m.room.power_levels"))["users"]
        assert after == before
        assert await colleague.try_send(s.room, "物业还能发言") is not None
        assert (await _membership(s.officer, s.room, colleague.user_id))["membership"] == "join"
        assert s.reports("禁言了") == [] and s.reports("警告了") == []
    finally:
        await s.app.close()


async def test_only_members_are_acted_on_and_ids_follow_the_grammar(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    """Ids that never joined, longer than 255 bytes or with a port above 65535 never reach
    the power levels; a kick of a non-member is refused, not audited as done; a ban may
    target someone not (yet) in the room."""
    s = await _setup(synapse, bot_account, db_path, people)
    server = s.bot.split(":", 1)[1]
    ghost = f"@nobody-here:{server}"
    try:
        before = (await s.app.gateway.state_event(s.room, "m.room.power_levels"))["users"]
        for body in (f"!mute {ghost} 2h 测试", f"!warn {ghost} 测试", f"!kick {ghost} 测试"):
            assert "不是本群成员" in await s.command(body), body
        for bad in (f"@x:{server}:99999", "@" + "x" * 300 + f":{server}",
                    f"@x:{server}:65536"):
            reply = await s.command(f"!mute {bad} 1h 测试")
            assert "用法" in reply and len(reply) < 600, reply
        reply = await s.command(f"!mute {s.resident.user_id} {'9' * 5000}d 测试")
        assert "用法" in reply and len(reply) < 600
        after = (await s.app.gateway.state_event(s.room, "m.room.power_levels"))["users"]
        assert after == before

        assert "已封禁" in await s.command(f"!ban {ghost} 已知的诈骗账号")
        assert (await _membership(s.officer, s.room, ghost))["membership"] == "ban"
        audit = await AuditRepository(s.app.db, s.app.clock).recent()
        assert [(e.action, e.target) for e in audit if e.target == ghost] == [("ban", ghost)]
    finally:
        await s.app.close()


async def test_residents_cannot_moderate(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people)
    neighbour = await people("resident")
    try:
        await neighbour.join(s.room)
        await s.app.gateway.set_power_levels(s.room, {neighbour.user_id: 1})
        target = await s.resident.send(s.room, "邻居你好")
        before = (await s.app.gateway.state_event(s.room, "m.room.power_levels"))["users"]
        victim = s.resident.user_id
        for body in (f"!mute {victim} 2h 烦", f"!unmute {victim}", f"!kick {victim} 烦",
                     f"!ban {victim} 烦", f"!unban {victim}", f"!warn {victim} 烦"):
            reply = await s.command(body, who=neighbour)
            assert "抱歉" in reply and "Traceback" not in reply, reply
        assert "抱歉" in await s.command("!redact", who=neighbour, reply_to=target)

        after = (await s.app.gateway.state_event(s.room, "m.room.power_levels"))["users"]
        assert after == before
        assert (await _membership(s.officer, s.room, victim))["membership"] == "join"
        resp = await s.officer.client.room_get_event(s.room, target)
        assert isinstance(resp, RoomGetEventResponse)
        assert resp.event.source.get("content", {}).get("body") == "邻居你好"
        assert await s.resident.try_send(s.room, "我还在") is not None
        assert s.reports(victim) == []
        audit = await AuditRepository(s.app.db, s.app.clock).recent()
        assert [e for e in audit if e.target == victim] == []
    finally:
        await s.app.close()


async def test_flood_control_mutes_a_resident_once_but_not_staff(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people,
                     moderation={"flood_messages": 3, "flood_window": "10m",
                                 "flood_mute": "10m"})
    try:
        # Staff first: the same burst leaves them speaking.
        for i in range(8):
            await s.officer.send(s.room, f"通知第{i}条")
        await s.command("!help")  # handled after the burst: the bot has seen it all
        assert await s.officer.try_send(s.room, "民警还能发言") is not None
        assert await s.level(s.officer.user_id) == 50

        # The setup's message counts too; the limit is 3 within 10 minutes.
        sent = 0
        for i in range(8):
            if await s.resident.try_send(s.room, f"刷屏{i}") is not None:
                sent += 1
        await s.cannot_post(s.resident)
        assert 3 <= sent <= 8
        report = await s.report("刷屏")
        assert s.resident.user_id in report.body and s.officer.user_id not in report.body
        assert await s.level(s.resident.user_id) == 0

        await s.command("!help")
        assert len(s.reports("刷屏")) == 1
        assert s.reports(s.officer.user_id) == []

        s.clock.advance(timedelta(minutes=10))
        await s.app.bot.run_due()
        await s.can_post(s.resident)
        assert await s.level(s.resident.user_id) == 1
    finally:
        await s.app.close()


async def test_a_timed_mute_survives_a_restart(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str
) -> None:
    s = await _setup(synapse, bot_account, db_path, people)
    closed = False
    try:
        await s.command(f"!mute {s.resident.user_id} 2h 发广告")
        await s.cannot_post(s.resident)
        await s.app.close()
        closed = True

        later = FakeClock(s.clock.now() + timedelta(hours=2, minutes=1))
        app = await start_bot(s.config, clock=later)
        try:
            await app.bot.run_due()
            await s.can_post(s.resident)
            await s.report("已自动解除")
            pl = await app.gateway.state_event(s.room, "m.room.power_levels")
            assert pl["users"][s.resident.user_id] == 1
        finally:
            await app.close()
    finally:
        if not closed:
            await s.app.close()
