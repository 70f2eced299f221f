"""The questions service end to end over a real (SQLite) repository and a FakeClock:
answer rules, flags once per level, escalation, edits of flags, restarts, commands, digest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from linli.common.clock import FakeClock
from linli.common.errors import Conflict, DomainError, NotFound, PermissionDenied
from linli.common.i18n import Translator, catalogue
from linli.common.ids import EventID, RoomID, UserID
from linli.community.model import Directory, Role, StaffGrant
from linli.questions.model import (
    AnswerKind,
    EditMessage,
    FlagLevel,
    MessageIn,
    PostDigest,
    PostFlag,
    QuestionState,
    Rating,
)
from linli.questions.policy import txn_id
from linli.questions.service import QuestionService
from linli.questions.settings import QuestionSettings
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.questions import QuestionRepository

ROOM = RoomID("!meiyuan:hs")
OFFICERS = RoomID("!officers:hs")
SUPERVISORS = RoomID("!supervisors:hs")
OFFICER = UserID("@wang:hs")
PROPERTY = UserID("@wuye:hs")
ASKER = UserID("@li:hs")
NEIGHBOUR = UserID("@zhao:hs")
M = timedelta(minutes=1)
# Monday 2026-03-02 09:00 in Shanghai
MORNING = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class World:
    db: Database
    clock: FakeClock
    directory: Directory
    translator: Translator
    settings: QuestionSettings

    def service(self) -> QuestionService:
        """A fresh service, as after a restart: nothing shared but the database."""
        return QuestionService(
            QuestionRepository(self.db, self.clock), self.clock, lambda: self.directory,
            self.translator, self.settings,
        )

    async def ask(
        self, svc: QuestionService, text: str, event: str, sender: UserID = ASKER, **kw: object
    ) -> list[object]:
        return list(await svc.on_message(MessageIn(
            room_id=ROOM, event_id=EventID(event), sender=sender, text=text,
            sent_at=self.clock.now(), asker_flat="3栋2单元501" if sender == ASKER else None,
            **kw,  # type: ignore[arg-type]
        )))

    async def question(self, event: str) -> object:
        q = await QuestionRepository(self.db, self.clock).by_event(ROOM, event)
        assert q is not None
        return q


async def make_world(db: Database, settings: QuestionSettings | None = None,
                     compound_settings: dict[str, object] | None = None) -> World:
    clock = FakeClock(MORNING)
    community = CommunityRepository(db, clock)
    await community.create_station("xinhua", "新华派出所", officers_room_id=OFFICERS)
    station = await community.update_station("xinhua", supervisors_room_id=SUPERVISORS)
    compound = await community.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id=ROOM,
        settings=compound_settings or {},
    )
    await community.add_grant(
        StaffGrant(OFFICER, Role.OFFICER, station_id=station.id, display_name="王警官")
    )
    await community.add_grant(StaffGrant(PROPERTY, Role.PROPERTY, compound_id=compound.id))
    directory = await community.load_directory()
    translator = Translator([catalogue("common"), catalogue("questions")])
    return World(db, clock, directory, translator, settings or QuestionSettings())


@pytest.fixture
async def world(sqlite_db: Database) -> World:
    return await make_world(sqlite_db)


def flags(effects: list[object]) -> list[PostFlag]:
    return [e for e in effects if isinstance(e, PostFlag)]


async def flag_now(w: World, svc: QuestionService, event_id: str) -> PostFlag:
    """Let the deadline pass, take the one flag and report it posted."""
    w.clock.advance(31 * M)
    posted = flags(await svc.tick())
    assert len(posted) == 1 and posted[0].level is FlagLevel.FLAG
    assert await svc.flag_posted(posted[0].question_id, FlagLevel.FLAG, EventID(event_id)) == []
    return posted[0]


# ---- answer rules -------------------------------------------------------------------------------


async def test_staff_reply_answers_and_is_never_flagged(world: World) -> None:
    svc = world.service()
    assert await world.ask(svc, "派出所周六上班吗", "$q") == []
    world.clock.advance(3 * M)
    assert await world.ask(svc, "上班的，九点到五点", "$a", sender=OFFICER,
                           reply_to=EventID("$q")) == []
    q = await world.question("$q")
    assert q.state is QuestionState.ANSWERED  # type: ignore[attr-defined]
    assert q.answered_by == OFFICER and q.answer_kind is AnswerKind.REPLY  # type: ignore[attr-defined]
    assert q.response_time == 180.0  # type: ignore[attr-defined]
    for _ in range(5):
        world.clock.advance(timedelta(hours=1))
        assert await svc.tick() == []


@pytest.mark.parametrize(
    ("how", "kind"),
    [("thread", AnswerKind.THREAD), ("reaction", AnswerKind.REACTION),
     ("mention", AnswerKind.MENTION), ("command", AnswerKind.COMMAND)],
)
async def test_each_staff_answer_closes(world: World, how: str, kind: AnswerKind) -> None:
    svc = world.service()
    await world.ask(svc, "How do I renew my residence permit?", "$q")
    world.clock.advance(5 * M)
    if how == "thread":
        await world.ask(svc, "Bring your old permit", "$a", sender=PROPERTY,
                        thread_root=EventID("$q"), reply_to=EventID("$other"))
    elif how == "reaction":
        await svc.on_reaction(ROOM, EventID("$q"), OFFICER, "✅️", world.clock.now())
    elif how == "mention":
        await world.ask(svc, "li, come to the office on Monday", "$a", sender=OFFICER,
                        mentions=(ASKER,))
    else:
        result = await svc.command_answered(ROOM, OFFICER, EventID("$q"))
        assert result.text == "已将这个问题记为已回答。"
    q = await world.question("$q")
    assert q.state is QuestionState.ANSWERED and q.answer_kind is kind  # type: ignore[attr-defined]
    world.clock.advance(timedelta(hours=3))
    assert flags(await svc.tick()) == []


async def test_what_does_not_answer(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "电梯又坏了，什么时候能修好", "$q")
    await world.ask(svc, "我家也是，昨天就坏了", "$r", sender=NEIGHBOUR, reply_to=EventID("$q"))
    await world.ask(svc, "补充一下，是2号电梯", "$self", sender=ASKER, reply_to=EventID("$q"))
    await svc.on_reaction(ROOM, EventID("$q"), NEIGHBOUR, "✅", world.clock.now())  # resident
    await svc.on_reaction(ROOM, EventID("$q"), OFFICER, "❤️", world.clock.now())  # other emoji
    await world.ask(svc, "大家注意安全", "$m", sender=OFFICER, mentions=(NEIGHBOUR,))
    with pytest.raises(PermissionDenied):
        await svc.command_answered(ROOM, NEIGHBOUR, EventID("$q"))
    q = await world.question("$q")
    assert q.is_open  # type: ignore[attr-defined]
    assert q.resident_replies == 1  # the asker's own follow-up is not a resident answer  # type: ignore[attr-defined]
    # the neighbour's reply did not become a question of its own
    assert await QuestionRepository(world.db, world.clock).by_event(ROOM, "$r") is None
    posted = flags(await _past_deadline(world, svc))
    assert len(posted) == 1
    assert "1 条居民回复" in posted[0].body and "我家也是" in posted[0].body


async def _past_deadline(w: World, svc: QuestionService) -> list[object]:
    w.clock.advance(31 * M)
    return list(await svc.tick())


async def test_a_reply_mention_does_not_close_the_askers_other_questions(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "物业费怎么交", "$q1")
    await world.ask(svc, "车位租金是多少", "$q2")
    # Matrix clients mention the replied-to sender by themselves
    await world.ask(svc, "在物业办公室交", "$a", sender=PROPERTY, reply_to=EventID("$q1"),
                    mentions=(ASKER,), reply_to_sender=ASKER)
    assert (await world.question("$q1")).state is QuestionState.ANSWERED  # type: ignore[attr-defined]
    assert (await world.question("$q2")).is_open  # type: ignore[attr-defined]


async def test_mention_only_within_the_window(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "请问民警几点在警务室", "$q")
    world.clock.advance(timedelta(hours=25))
    await world.ask(svc, "@li 你好", "$a", sender=OFFICER, mentions=(ASKER,))
    assert (await world.question("$q")).is_open  # type: ignore[attr-defined]


async def test_answered_command_errors(world: World) -> None:
    svc = world.service()
    with pytest.raises(DomainError) as err:
        await svc.command_answered(ROOM, OFFICER, None)
    assert err.value.key == "error.question_reply_needed"
    with pytest.raises(NotFound):
        await svc.command_answered(ROOM, OFFICER, EventID("$nothing"))
    await world.ask(svc, "派出所周六上班吗", "$q")
    await svc.command_answered(ROOM, OFFICER, EventID("$q"))
    with pytest.raises(Conflict):
        await svc.command_answered(ROOM, OFFICER, EventID("$q"))


async def test_answered_as_reply_to_the_flag_in_the_officers_room(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "派出所周六上班吗", "$q")
    await flag_now(world, svc, "$flag")
    result = await svc.command_answered(OFFICERS, OFFICER, EventID("$flag"))
    assert [type(e) for e in result.effects] == [EditMessage]
    assert (await world.question("$q")).answer_kind is AnswerKind.COMMAND  # type: ignore[attr-defined]


async def test_chatter_and_staff_messages_are_not_questions(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "早上好", "$c1")
    await world.ask(svc, "谢谢大家", "$c2")
    await world.ask(svc, "大家注意，明天几点停水？", "$s", sender=OFFICER)
    repo = QuestionRepository(world.db, world.clock)
    for event in ("$c1", "$c2", "$s"):
        assert await repo.by_event(ROOM, event) is None
    assert await svc.on_message(MessageIn(
        RoomID("!elsewhere:hs"), EventID("$x"), ASKER, "怎么办？", world.clock.now()
    )) == []


async def test_the_askers_flat_is_looked_up_only_for_a_question(world: World) -> None:
    svc = world.service()
    looked_up: list[str] = []

    def flat_of(event: str) -> Callable[[], Awaitable[str]]:
        async def look_up() -> str:
            looked_up.append(event)
            return "5栋101"
        return look_up

    for event, text in (("$c", "谢谢大家"), ("$q", "请问身份证丢了怎么补办？")):
        await svc.on_message(MessageIn(ROOM, EventID(event), ASKER, text, world.clock.now()),
                             flat_of=flat_of(event))
    assert looked_up == ["$q"]
    assert (await world.question("$q")).asker_flat == "5栋101"  # type: ignore[attr-defined]


async def test_mentioning_staff_makes_a_question(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "麻烦看一下我家门口", "$q", mentions=(OFFICER,))
    assert (await world.question("$q")).is_open  # type: ignore[attr-defined]


# ---- edits and redactions ---------------------------------------------------------------------


async def test_edits_follow_the_question(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "身份证怎么办", "$q")
    await svc.on_edit(ROOM, EventID("$q"), NEIGHBOUR, "hacked", world.clock.now())
    await svc.on_edit(ROOM, EventID("$q"), ASKER, "身份证丢了怎么补办？", world.clock.now())
    q = await world.question("$q")
    assert q.text == "身份证丢了怎么补办？" and q.topic == "household"  # type: ignore[attr-defined]
    # an edit that makes a plain message a question records it
    await world.ask(svc, "今天天气真好", "$p")
    await svc.on_edit(ROOM, EventID("$p"), ASKER, "今天停水吗", world.clock.now())
    assert (await world.question("$p")).is_open  # type: ignore[attr-defined]
    # an edit that adds an urgent keyword flags at once
    effects = await svc.on_edit(ROOM, EventID("$q"), ASKER, "楼道里有煤气味！", world.clock.now())
    assert [f.level for f in flags(list(effects))] == [FlagLevel.FLAG]


async def test_redaction_withdraws_and_forgets_the_text(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "派出所周六上班吗", "$q")
    await flag_now(world, svc, "$flag")
    effects = await svc.on_redaction(ROOM, EventID("$q"))
    assert len(effects) == 1 and isinstance(effects[0], EditMessage)
    assert effects[0].event_id == "$flag" and "撤回" in effects[0].body
    assert "派出所周六上班吗" not in effects[0].body
    q = await world.question("$q")
    assert q.state is QuestionState.WITHDRAWN and q.text == ""  # type: ignore[attr-defined]
    world.clock.advance(timedelta(hours=5))
    assert await svc.tick() == []
    assert await svc.on_redaction(ROOM, EventID("$unknown")) == []


# ---- flags and escalation ---------------------------------------------------------------------


async def test_a_flag_names_responders_by_their_names(world: World) -> None:
    """``staff add --name`` was given: the flag says 王警官, not the Matrix id (the edited
    flag already did)."""
    svc = world.service()
    await world.ask(svc, "有人打电话说我涉嫌洗钱，要我转账到安全账户，是诈骗吗", "$q")
    world.clock.advance(31 * M)
    flag = flags(await svc.tick())[0]
    assert "王警官" in flag.body and OFFICER not in flag.body


async def test_flag_once_per_level_then_escalate_once(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "楼上每天晚上十二点还在装修，噪音太大了", "$q")
    world.clock.advance(29 * M)
    assert await svc.tick() == []
    world.clock.advance(2 * M)
    first = flags(await svc.tick())
    assert len(first) == 1
    flag = first[0]
    assert flag.room_id == OFFICERS and flag.level is FlagLevel.FLAG
    for expected in ("梅园小区", "3栋2单元501", "噪音", "装修", "31分钟", "30分钟",
                     "https://matrix.to/#/!meiyuan:hs/$q", "物业", PROPERTY):
        assert expected in flag.body
    assert "@li:hs" not in flag.body  # the flat, not the account
    assert await svc.tick() == []  # claimed: not again while the edge posts it
    await svc.flag_posted(flag.question_id, FlagLevel.FLAG, EventID("$flag"))
    world.clock.advance(60 * M)
    assert await svc.tick() == []
    world.clock.advance(30 * M)  # 2 h of office time since asking
    escalation = flags(await svc.tick())
    assert len(escalation) == 1
    assert escalation[0].room_id == SUPERVISORS and escalation[0].level is FlagLevel.ESCALATION
    assert "升级" in escalation[0].body
    await svc.flag_posted(flag.question_id, FlagLevel.ESCALATION, EventID("$esc"))
    for _ in range(10):
        world.clock.advance(timedelta(hours=3))
        assert flags(await svc.tick()) == []


async def test_answer_after_flagging_edits_every_flag(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "派出所周六上班吗", "$q")
    await flag_now(world, svc, "$flag")
    world.clock.advance(timedelta(hours=2))
    escalation = flags(await svc.tick())
    assert len(escalation) == 1
    await svc.flag_posted(escalation[0].question_id, FlagLevel.ESCALATION, EventID("$esc"))
    edits = await world.ask(svc, "上班的", "$a", sender=OFFICER, reply_to=EventID("$q"))
    assert {(e.room_id, e.event_id) for e in edits} == {  # type: ignore[attr-defined]
        (OFFICERS, "$flag"), (SUPERVISORS, "$esc")
    }
    body = edits[0].body  # type: ignore[attr-defined]
    assert "已由 王警官 回答" in body and "2小时31分钟" in body and "梅园小区" in body


async def test_answer_while_the_flag_is_being_posted(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "派出所周六上班吗", "$q")
    world.clock.advance(31 * M)
    flag = flags(await svc.tick())[0]
    assert await world.ask(svc, "上班", "$a", sender=OFFICER, reply_to=EventID("$q")) == []
    edits = await svc.flag_posted(flag.question_id, FlagLevel.FLAG, EventID("$flag"))
    assert len(edits) == 1 and isinstance(edits[0], EditMessage)
    assert edits[0].event_id == "$flag" and "已由 王警官 回答" in edits[0].body


async def test_unconfirmed_flag_is_retried_with_the_same_txn_id(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "派出所周六上班吗", "$q")
    world.clock.advance(31 * M)
    first = flags(await svc.tick())
    world.clock.advance(4 * M)
    assert await svc.tick() == []
    world.clock.advance(2 * M)  # the edge died before confirming; a new process retries
    again = flags(await world.service().tick())
    assert len(first) == len(again) == 1 and first[0].txn_id == again[0].txn_id
    # Derived from the resident's message, not the row id (which a PostgreSQL sequence may
    # hand out anew when the unit of work that recorded the question is done again).
    assert first[0].txn_id == txn_id(ROOM, "$q", FlagLevel.FLAG)
    assert txn_id(ROOM, "$other", FlagLevel.FLAG) != first[0].txn_id
    await svc.flag_posted(again[0].question_id, FlagLevel.FLAG, EventID("$flag"))
    world.clock.advance(10 * M)
    assert await svc.tick() == []


async def test_urgent_is_flagged_at_once_even_at_night(world: World) -> None:
    world.clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    svc = world.service()
    effects = await world.ask(svc, "5栋着火了！快打119", "$fire")
    posted = flags(effects)
    assert len(posted) == 1 and "紧急" in posted[0].body and posted[0].room_id == OFFICERS
    assert await svc.tick() == []
    await svc.flag_posted(posted[0].question_id, FlagLevel.FLAG, EventID("$flag"))
    world.clock.advance(15 * M)
    assert [f.level for f in flags(await svc.tick())] == [FlagLevel.ESCALATION]


async def test_night_question_is_due_next_morning_across_a_restart(world: World) -> None:
    world.clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    assert await world.ask(world.service(), "小区门禁卡丢了能补吗", "$q") == []
    q = await world.question("$q")
    assert q.due_at == datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    restarted = world.service()  # new instance, same database
    world.clock.set(datetime(2026, 3, 3, 0, 29, tzinfo=UTC))
    assert await restarted.tick() == []
    world.clock.set(datetime(2026, 3, 3, 0, 31, tzinfo=UTC))
    posted = flags(await restarted.tick())
    assert len(posted) == 1 and "10小时31分钟" in posted[0].body
    assert await world.service().tick() == []  # and a third instance does not flag again


async def test_question_from_an_outage_waits_for_the_rest_of_the_batch(world: World) -> None:
    svc = world.service()
    asked = world.clock.now()
    world.clock.advance(timedelta(hours=3))  # the bot was down; the sync brings old events
    await svc.on_message(MessageIn(ROOM, EventID("$q"), ASKER, "派出所周六上班吗", asked))
    await svc.on_message(MessageIn(ROOM, EventID("$a"), OFFICER, "上班", asked + 10 * M,
                                   reply_to=EventID("$q")))
    assert await svc.tick() == []
    q = await world.question("$q")
    assert q.asked_at == asked and q.response_time == 600.0  # type: ignore[attr-defined]


async def test_unanswered_questions_expire(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "派出所周六上班吗", "$q")
    await flag_now(world, svc, "$flag")
    world.clock.advance(timedelta(hours=2))
    for f in flags(await svc.tick()):
        await svc.flag_posted(f.question_id, f.level, EventID("$esc"))
    world.clock.advance(timedelta(days=7))
    edits = [e for e in await svc.tick() if isinstance(e, EditMessage)]
    assert len(edits) == 2 and all("无人回答" in e.body for e in edits)
    assert (await world.question("$q")).state is QuestionState.EXPIRED  # type: ignore[attr-defined]


async def test_station_without_supervisors_room_skips_escalation(sqlite_db: Database) -> None:
    w = await make_world(sqlite_db)
    w.directory = Directory(
        [s.__class__(**{**s.__dict__, "supervisors_room_id": None})
         for s in w.directory.stations.values()],
        w.directory.compounds.values(), w.directory.grants,
    )
    svc = w.service()
    await w.ask(svc, "派出所周六上班吗", "$q")
    await flag_now(w, svc, "$flag")
    w.clock.advance(timedelta(hours=3))
    assert flags(await svc.tick()) == []
    q = await w.question("$q")
    assert q.next_check_at == q.expires_at  # type: ignore[attr-defined]


async def test_per_compound_deadline(sqlite_db: Database) -> None:
    w = await make_world(
        sqlite_db, compound_settings={"questions": {"deadline": "10m", "escalate_after": "1h"}}
    )
    svc = w.service()
    await w.ask(svc, "派出所周六上班吗", "$q")
    w.clock.advance(11 * M)
    assert len(flags(await svc.tick())) == 1


async def test_disabled_compound_records_nothing(sqlite_db: Database) -> None:
    w = await make_world(sqlite_db, compound_settings={"questions": {"enabled": False}})
    svc = w.service()
    await w.ask(svc, "派出所周六上班吗", "$q")
    assert await QuestionRepository(w.db, w.clock).by_event(ROOM, "$q") is None


# ---- ratings, listing, stats, digest ----------------------------------------------------------


async def test_asker_rates_the_answer(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "派出所周六上班吗", "$q")
    await world.ask(svc, "上班", "$a", sender=OFFICER, reply_to=EventID("$q"))
    await svc.on_reaction(ROOM, EventID("$a"), NEIGHBOUR, "👎", world.clock.now())
    assert (await world.question("$q")).rating is None  # type: ignore[attr-defined]
    await svc.on_reaction(ROOM, EventID("$a"), ASKER, "👍🏻", world.clock.now())
    assert (await world.question("$q")).rating is Rating.GOOD  # type: ignore[attr-defined]


async def test_questions_command_lists_oldest_first(world: World) -> None:
    svc = world.service()
    empty = await svc.command_questions(OFFICERS, OFFICER)
    assert empty.text == "目前没有未回答的问题。"
    await world.ask(svc, "派出所周六上班吗", "$q1")
    world.clock.advance(40 * M)
    await world.ask(svc, "物业费怎么交", "$q2")
    listing = (await svc.command_questions(OFFICERS, OFFICER)).text.splitlines()
    assert listing[0] == "未回答的问题共 2 个（最早的在前）："
    assert listing[1].startswith("1. [梅园小区 · 3栋2单元501] 其他，已等待 40分钟（已超时）")
    assert "派出所周六上班吗" in listing[1] and "物业费怎么交" in listing[2]
    assert "（已超时）" not in listing[2]
    with pytest.raises(DomainError):
        await svc.command_questions(ROOM, OFFICER)
    with pytest.raises(PermissionDenied):
        await svc.command_questions(OFFICERS, ASKER)


async def test_stats_command_and_weekly_digest(world: World) -> None:
    svc = world.service()
    await world.ask(svc, "派出所周六上班吗", "$q1")
    world.clock.advance(10 * M)
    await world.ask(svc, "上班", "$a1", sender=OFFICER, reply_to=EventID("$q1"))
    await world.ask(svc, "物业费怎么交", "$q2")
    world.clock.advance(50 * M)
    await svc.on_reaction(ROOM, EventID("$q2"), PROPERTY, "✅", world.clock.now())
    await world.ask(svc, "电梯什么时候修好", "$q3")
    text = (await svc.command_stats(OFFICERS, OFFICER)).text
    assert "2026-W10" in text
    assert "梅园小区：提问 3，已答 2（67%），中位 30分钟，P90 50分钟，按时 50%" in text
    assert "王警官：回答 1，中位 10分钟" in text
    with pytest.raises(DomainError):
        await svc.command_stats(OFFICERS, OFFICER, "someday")
    assert "这段时间没有居民提问" in (await svc.command_stats(OFFICERS, OFFICER, "last")).text

    # Monday 09:00 next week: one digest for last week, once, even after a restart
    world.clock.set(datetime(2026, 3, 9, 0, 59, tzinfo=UTC))
    assert [e for e in await svc.tick() if isinstance(e, PostDigest)] == []
    world.clock.set(datetime(2026, 3, 9, 1, 0, tzinfo=UTC))
    digests = [e for e in await svc.tick() if isinstance(e, PostDigest)]
    assert len(digests) == 1 and digests[0].room_id == OFFICERS
    assert digests[0].week == "2026-W10" and "周报" in digests[0].body
    assert "梅园小区：提问 3" in digests[0].body
    assert [e for e in await svc.tick() if isinstance(e, PostDigest)] == []
    assert [e for e in await world.service().tick() if isinstance(e, PostDigest)] == []


async def test_flag_in_english_for_an_english_station(sqlite_db: Database) -> None:
    w = await make_world(sqlite_db)
    await CommunityRepository(w.db, w.clock).update_station("xinhua", locale="en")
    w.directory = await CommunityRepository(w.db, w.clock).load_directory()
    svc = w.service()
    await w.ask(svc, "The dog upstairs barks all night", "$q")
    w.clock.advance(31 * M)
    body = flags(await svc.tick())[0].body
    assert "past its 30 min deadline" in body and "Topic: dogs" in body


def test_messages_are_complete() -> None:
    assert Translator([catalogue("common"), catalogue("questions")]).problems() == []
