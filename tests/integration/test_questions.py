"""Residents' questions against the real Synapse, with real clients for residents and officers.

Time. The bot runs on a FakeClock; Matrix events carry the homeserver's real timestamps, and the
service takes ``min(origin_server_ts, clock.now())`` as an event's time. Each test therefore
starts its FakeClock some hours *before* real now, so that the clock stays behind real time
however far the test moves it: every event then happens exactly at the clock's "now", and
deadlines, waiting times and "answered after" are exact. Office hours are the defaults
(08:00–20:00); each test picks a DST-free ``Etc/GMT±N`` zone for its compound in which the
clock's start is late morning (day test) or 02:xx at night (night test), computed from the
start instant, so nothing depends on the real time of day.

Residents are verified by the officer (``!verify``) through the real verification feature, so
they may post and the flags show their flat from the household registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from linli.bot.app import App
from linli.bot.devserver import Account, LocalSynapse
from linli.bot.features.verification.feature import VerificationFeature
from linli.common.clock import FakeClock
from linli.common.i18n import format_local_time, humanize_duration
from linli.questions.model import (
    AnswerKind,
    FlagLevel,
    FlagStatus,
    Question,
    QuestionState,
    matrix_to,
)
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.questions import QuestionRepository
from tests.integration.harness import Person, Seen, bot_config, cli, start_bot, until

pytestmark = pytest.mark.integration

MakePerson = Callable[[str], Awaitable[Person]]
WAIT = 30.0
M = timedelta(minutes=1)


def zone_where(start: datetime, local_hour: int) -> str:
    """An Etc/GMT zone (no DST) in which ``start`` falls in the hour ``local_hour``."""
    offset = (local_hour - start.astimezone(UTC).hour + 12) % 24 - 12  # -12 .. 11 hours
    zone = "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # Etc/GMT-8 is UTC+8
    assert start.astimezone(ZoneInfo(zone)).hour == local_hour
    return zone


REGISTRY = """building,unit,flat,name,phone,role,note
5,1,302,周晓梅,13900000302,owner,
2,3,101,张建国,13900000101,owner,
1,1,102,李明华,13900000102,owner,
"""


@dataclass(frozen=True)
class Resident:
    person: Person
    flat: str  # as an officer types it for !verify
    name: str


@dataclass
class World:
    app: App
    config: Any
    clock: FakeClock
    officer: Person
    room: str
    officers_room: str
    supervisors_room: str | None
    repo: QuestionRepository

    @property
    def bot_id(self) -> str:
        return self.app.gateway.user_id


async def make_world(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str,
    tmp_path: Path, clock: FakeClock, tz: str, residents: list[Resident], *, supervisors: bool,
) -> World:
    """Station xinhua (officer 王警官), compound meiyuan in ``tz`` with its registry, and the
    residents joined and verified by the officer (so they may post and flags show their
    flat through the verification feature)."""
    officer = await people("officer")
    supervisors_room = None
    if supervisors:
        resp = await officer.client.room_create(name="督察室", invite=[bot_account.user_id])
        supervisors_room = resp.room_id
    config = bot_config(synapse, bot_account, db_path)
    station_args = ["station", "create", "xinhua", "--name", "新华派出所"]
    if supervisors_room:
        station_args += ["--supervisors-room", supervisors_room]
    await cli(config, *station_args)
    await cli(config, "staff", "add", officer.user_id, "--role", "officer", "--station",
              "xinhua", "--name", "王警官")
    await cli(config, "compound", "create", "meiyuan", "--name", "梅园小区", "--station",
              "xinhua", "--timezone", tz)
    registry = tmp_path / "registry.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    await cli(config, "households", "import", str(registry), "--compound", "meiyuan")
    app = await start_bot(config, clock=clock)
    community = CommunityRepository(app.db, clock)
    compound = await community.compound("meiyuan")
    station = await community.station("xinhua")
    assert compound.room_id and station.officers_room_id
    room, officers_room = compound.room_id, station.officers_room_id
    await officer.accept_invite_to(officers_room, WAIT)
    await officer.accept_invite_to(room, WAIT)
    managed = {room, officers_room} | ({supervisors_room} if supervisors_room else set())
    await until(lambda: managed <= app.bot.joined_rooms, WAIT, "the bot in every room")
    verification = next(f for f in app.bot.features if isinstance(f, VerificationFeature))
    for r in residents:
        await r.person.join(room)
        await until(lambda r=r: verification.service.state(compound, r.person.user_id), WAIT,
                    "the new member seen by verification")
        ask = await officer.send(officers_room, f"!verify {r.person.user_id} {r.flat} {r.name}")
        report = (await officer.wait_for_reply(officers_room, ask, app.gateway.user_id, WAIT))
        assert "已人工验证" in report.body, report.body

        async def may_post(r: Resident = r) -> bool:
            return await app.gateway.power_level_of(room, r.person.user_id) >= 1

        await until(may_post, WAIT, "the verified resident may post")
    return World(app, config, clock, officer, room, officers_room, supervisors_room,
                 QuestionRepository(app.db, clock))


def questions_feature(app: App) -> Any:
    return next(f for f in app.bot.features if f.name == "questions")


async def recorded(
    repo: QuestionRepository, room: str, event_id: str,
    predicate: Callable[[Question], bool] = lambda q: True, what: str = "the question",
) -> Question:
    async def check() -> Question | None:
        q = await repo.by_event(room, event_id)
        return q if q is not None and predicate(q) else None

    result: Question = await until(check, WAIT, what)
    return result


def answered(kind: AnswerKind) -> Callable[[Question], bool]:
    return lambda q: q.state is QuestionState.ANSWERED and q.answer_kind is kind


def is_edit(s: Seen) -> bool:
    return (s.content.get("m.relates_to") or {}).get("rel_type") == "m.replace"


def flags_seen(person: Person, room: str, bot: str, link: str) -> list[Seen]:
    """The bot's own posts (not edits, not replies to commands) that link to a question."""
    return [s for s in person.messages(room, bot)
            if link in s.body and not is_edit(s) and s.reply_to is None]


def edits_of(person: Person, room: str, event_id: str) -> list[Seen]:
    return [s for s in person.seen if s.room_id == room and is_edit(s)
            and s.content["m.relates_to"].get("event_id") == event_id]


def posted(q: Question, level: FlagLevel) -> str:
    flag = q.flag(level)
    assert flag is not None and flag.status is FlagStatus.POSTED and flag.event_id
    return flag.event_id


async def test_questions_are_answered_flagged_escalated_edited_and_listed(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str,
    tmp_path: Path,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    tz = zone_where(start, 11)  # late morning: deadline and escalation fall in office hours
    clock = FakeClock(start)
    alice, bob, carol = await people("alice"), await people("bob"), await people("carol")
    w = await make_world(
        synapse, bot_account, people, db_path, tmp_path, clock, tz,
        [Resident(bob, "5-1-302", "周晓梅"), Resident(carol, "2-3-101", "张建国"),
         Resident(alice, "1-1-102", "李明华")],
        supervisors=True,
    )
    app, repo, officer, room = w.app, w.repo, w.officer, w.room
    try:
        # Questions, all asked at the clock's start.
        q2 = await bob.send(room, "小区东门的路灯坏了好几天了，什么时候能修？")
        q1 = await carol.send(room, "请问身份证丢了怎么补办？")
        q3 = await carol.send(room, "请问居住证在哪里办理？")
        q4 = await carol.send(room, "物业电话是多少？")
        q6 = await carol.send(room, "请问电动车可以停在楼道里吗")
        q5 = await alice.send(room, "楼下的狗每天晚上叫，能不能管一管")
        for event_id in (q1, q2, q3, q4, q5, q6):
            q = await recorded(repo, room, event_id)
            assert q.state is QuestionState.OPEN and q.asked_at == start
        chatter = await carol.send(room, "谢谢大家")

        # A staff reply answers q1. The automatic mention of the replied-to sender in a reply
        # (here and in a reply to carol's chatter) does not answer carol's other questions.
        await officer.send(room, "不客气", reply_to=chatter, mentions=[carol.user_id])
        await officer.send(room, "带户口本到派出所窗口补办就行", reply_to=q1,
                           mentions=[carol.user_id])
        q = await recorded(repo, room, q1, answered(AnswerKind.REPLY), "q1 answered by reply")
        assert q.answered_by == officer.user_id and q.closed_at == start
        for event_id in (q3, q4, q6):
            assert (await recorded(repo, room, event_id)).state is QuestionState.OPEN
        # A thread reply answers q3.
        await officer.send(room, "在社区服务中心一楼", thread_root=q3)
        await recorded(repo, room, q3, answered(AnswerKind.THREAD), "q3 answered in a thread")
        # A ✅ reaction answers q4.
        await officer.react(room, q4, "✅")
        await recorded(repo, room, q4, answered(AnswerKind.REACTION), "q4 answered by ✅")
        # A staff mention of the asker answers q5.
        await officer.send(
            room, "alice: 已经联系狗主人了",
            html=f'<a href="https://matrix.to/#/{alice.user_id}">alice</a>: 已经联系狗主人了',
            mentions=[alice.user_id],
        )
        await recorded(repo, room, q5, answered(AnswerKind.MENTION), "q5 answered by mention")
        # !answered as a reply to q6.
        ask = await officer.send(room, "!answered", reply_to=q6)
        reply = await officer.wait_for_reply(room, ask, w.bot_id, WAIT)
        assert "已将这个问题记为已回答" in reply.body
        await recorded(repo, room, q6, answered(AnswerKind.COMMAND), "q6 answered by command")
        # A resident's reply does not answer q2, but is kept for the flag.
        await carol.send(room, "我也发现了，东门那边晚上很黑", reply_to=q2)
        q = await recorded(repo, room, q2, lambda q: q.resident_replies == 1,
                           "carol's reply recorded on q2")
        assert q.state is QuestionState.OPEN
        assert await repo.by_event(room, chatter) is None  # chatter is no question

        # q7, one minute later.
        clock.advance(M)
        q7 = await carol.send(room, "请问明天社区办公室几点开门？")
        question7 = await recorded(repo, room, q7)
        assert question7.asked_at == start + M
        question2 = await recorded(repo, room, q2)
        assert question2.due_at == start + 30 * M and question2.escalate_at == start + 120 * M

        # !questions in the officers' room: the open ones, oldest first.
        link2, link7 = matrix_to(room, q2), matrix_to(room, q7)
        ask = await officer.send(w.officers_room, "!questions")
        listing = (await officer.wait_for_reply(w.officers_room, ask, w.bot_id, WAIT)).body
        assert "未回答的问题共 2 个" in listing
        assert link2 in listing and link7 in listing
        assert listing.index(link2) < listing.index(link7)
        assert matrix_to(room, q1) not in listing
        # A resident cannot run it, even in the officers' room.
        await app.gateway.invite(w.officers_room, carol.user_id)
        await carol.accept_invite_to(w.officers_room, WAIT)
        ask = await carol.send(w.officers_room, "!questions")
        refusal = (await carol.wait_for_reply(w.officers_room, ask, w.bot_id, WAIT)).body
        assert "抱歉" in refusal and link2 not in refusal

        # Past the deadlines of q2 and q7: one flag each in the officers' room.
        clock.set(question7.due_at + M)  # start + 32 min
        await app.bot.run_due()
        await app.bot.run_due()
        question2 = await repo.by_event(room, q2)
        assert question2 is not None and [f.level for f in question2.flags] == [FlagLevel.FLAG]
        flag2_id = posted(question2, FlagLevel.FLAG)
        flag2 = await officer.wait_for_message(
            lambda s: s.event_id == flag2_id, WAIT, "q2's flag in the officers' room")
        assert flag2.room_id == w.officers_room
        waited = humanize_duration(clock.now() - start, "zh-CN")
        assert waited == "32分钟"
        for part in (f"问题超过 30分钟 未获回答（已等待 {waited}）", "小区：梅园小区",
                     "住户：5栋1单元302室", "类别：物业", "小区东门的路灯坏了好几天了",
                     link2, f"提问时间：{format_local_time(start, tz, 'zh-CN')}",
                     "已有 1 条居民回复", "东门那边晚上很黑"):
            assert part in flag2.body, part
        assert "周晓梅" not in flag2.body and "周*" not in flag2.body  # the flat, no name
        question7 = await recorded(repo, room, q7)
        flag7_id = posted(question7, FlagLevel.FLAG)
        await officer.wait_for_message(lambda s: s.event_id == flag7_id, WAIT, "q7's flag")
        # Questions answered in time are never flagged.
        for event_id in (q1, q3, q4, q5, q6):
            q = await recorded(repo, room, event_id)
            assert q.flags == () and q.state is QuestionState.ANSWERED

        # !answered as a reply to q7's flag in the officers' room; the flag is edited.
        ask = await officer.send(w.officers_room, "!answered", reply_to=flag7_id)
        await officer.wait_for_reply(w.officers_room, ask, w.bot_id, WAIT)
        await recorded(repo, room, q7, answered(AnswerKind.COMMAND), "q7 answered from its flag")
        edit7 = await until(lambda: edits_of(officer, w.officers_room, flag7_id), WAIT,
                            "q7's flag edited")
        assert "✅ 已由 王警官 回答，用时 31分钟" in edit7[0].content["m.new_content"]["body"]

        # Past q2's second deadline: one escalation in the supervisors' room.
        assert w.supervisors_room
        clock.set(question2.escalate_at + M)  # start + 2 h 1 min
        await app.bot.run_due()
        await app.bot.run_due()
        question2 = await recorded(repo, room, q2)
        assert [f.level for f in question2.flags] == [FlagLevel.FLAG, FlagLevel.ESCALATION]
        esc2_id = posted(question2, FlagLevel.ESCALATION)
        escalation = await officer.wait_for_message(
            lambda s: s.event_id == esc2_id, WAIT, "q2's escalation")
        assert escalation.room_id == w.supervisors_room
        assert "升级：问题已等待 2小时1分钟" in escalation.body and link2 in escalation.body
        question7 = await recorded(repo, room, q7)
        assert [f.level for f in question7.flags] == [FlagLevel.FLAG]  # answered: no escalation

        # Answered at last: both of q2's flags are edited, naming who and after how long.
        await officer.send(room, "路灯明天上午修好", reply_to=q2)
        await recorded(repo, room, q2, answered(AnswerKind.REPLY), "q2 answered late")
        for flag_room, flag_id in ((w.officers_room, flag2_id), (w.supervisors_room, esc2_id)):
            edits = await until(lambda r=flag_room, f=flag_id: edits_of(officer, r, f), WAIT,
                                "q2's flags edited")
            body = edits[0].content["m.new_content"]["body"]
            assert "✅ 已由 王警官 回答，用时 2小时1分钟" in body and link2 in body

        # !stats answers in the officers' room.
        ask = await officer.send(w.officers_room, "!stats")
        stats = (await officer.wait_for_reply(w.officers_room, ask, w.bot_id, WAIT)).body
        assert "梅园小区：提问 7，已答 7（100%）" in stats and "王警官：回答 7" in stats

        # Each flag and escalation was posted exactly once, and each edited once.
        assert len(flags_seen(officer, w.officers_room, w.bot_id, link2)) == 1
        assert len(flags_seen(officer, w.officers_room, w.bot_id, link7)) == 1
        assert len(flags_seen(officer, w.supervisors_room, w.bot_id, link2)) == 1
        assert len(edits_of(officer, w.officers_room, flag2_id)) == 1
        samples = {(s.name, s.labels.get("level")): s.value
                   for s in await questions_feature(app).metrics()}
        assert samples[("linli_questions_open", None)] == 0
    finally:
        await app.close()


async def test_night_question_due_next_morning_urgent_at_once_and_restart_keeps_deadline(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str,
    tmp_path: Path,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=8)
    tz = zone_where(start, 2)  # 02:xx at night in the compound
    clock = FakeClock(start)
    resident = await people("resident")
    w = await make_world(synapse, bot_account, people, db_path, tmp_path, clock, tz,
                         [Resident(resident, "2-3-101", "张建国")], supervisors=False)
    app, officer, room = w.app, w.officer, w.room
    try:
        # An urgent report is flagged at once, night or not, without waiting for a tick.
        urgent = await resident.send(room, "3栋楼道里煤气泄漏了，味道很重，快来人！")
        link_urgent = matrix_to(room, urgent)
        flag = await officer.wait_for_message(
            lambda s: s.room_id == w.officers_room and link_urgent in s.body, WAIT,
            "the urgent flag")
        assert "紧急" in flag.body and "类别：消防" in flag.body
        q = await recorded(w.repo, room, urgent)
        assert q.urgent and q.due_at == start and posted(q, FlagLevel.FLAG) == flag.event_id

        # A question at night is due 30 minutes after the office opens in the morning.
        night = await resident.send(room, "请问明天社区办公室几点开门？")
        q = await recorded(w.repo, room, night)
        local = start.astimezone(ZoneInfo(tz))
        opens = datetime.combine(local.date(), time(8, 0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
        assert q.asked_at == start and q.due_at == opens + 30 * M
        assert q.escalate_at == opens + 120 * M
    finally:
        await app.close()

    # While the bot is down, another question; a new process on the same database.
    while_down = await resident.send(room, "请问小区可以办暂住证吗")
    app = await start_bot(w.config, clock=clock)
    try:
        repo = QuestionRepository(app.db, clock)
        down = await recorded(repo, room, while_down, what="the question asked while down")
        assert down.asked_at == start and down.due_at == opens + 30 * M
        q = await recorded(repo, room, night)
        assert q.due_at == opens + 30 * M and q.flags == ()

        clock.set(opens + 29 * M)
        await app.bot.run_due()
        for event_id in (night, while_down):
            assert (await recorded(repo, room, event_id)).flags == ()

        clock.set(opens + 31 * M)
        await app.bot.run_due()
        waited = humanize_duration(clock.now() - start, "zh-CN")
        for event_id in (night, while_down):
            q = await recorded(repo, room, event_id)
            flag_id = posted(q, FlagLevel.FLAG)
            seen = await officer.wait_for_message(lambda s, f=flag_id: s.event_id == f, WAIT,
                                                  "the morning flag")
            assert seen.room_id == w.officers_room
            assert f"已等待 {waited}" in seen.body and matrix_to(room, event_id) in seen.body
            assert "住户：2栋3单元101室" in seen.body
    finally:
        await app.close()
