"""The question detector's model and the officers' corrections against the real Synapse: an
urgent report without a listed word is flagged at once and says why; an officer's ❌ on the flag
closes it as a false alarm; ``!flag`` as a reply to a resident's message flags it now; ``!stats``
shows detection as the corrections measure it."""

from __future__ import annotations

import time as wallclock
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from linli.bot.devserver import Account, LocalSynapse
from linli.common.clock import FakeClock
from linli.questions.model import FeedbackKind, QuestionState, matrix_to
from tests.integration.harness import Person
from tests.integration.test_questions import (
    WAIT,
    Resident,
    edits_of,
    make_world,
    recorded,
    zone_where,
)

pytestmark = pytest.mark.integration

MakePerson = Callable[[str], Awaitable[Person]]


async def test_urgent_at_once_false_alarm_by_cross_miss_by_flag_and_figures(
    synapse: LocalSynapse, bot_account: Account, people: MakePerson, db_path: str,
    tmp_path: Path,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    tz = zone_where(start, 11)
    clock = FakeClock(start)
    resident = await people("resident")
    w = await make_world(synapse, bot_account, people, db_path, tmp_path, clock, tz,
                         [Resident(resident, "2-3-101", "张建国")], supervisors=False)
    app, officer, room, repo = w.app, w.officer, w.room, w.repo
    try:
        # An urgent report in words no keyword list holds: flagged at once, saying why.
        sent_at = wallclock.monotonic()
        urgent = await resident.send(room, "我家孩子刚才在游乐场玩着玩着找不到了，穿红衣服")
        flag = await officer.wait_for_message(
            lambda s: s.room_id == w.officers_room and matrix_to(room, urgent) in s.body,
            WAIT, "the urgent flag")
        took = wallclock.monotonic() - sent_at
        print(f"urgent report flagged after {took:.2f} s")
        assert "紧急" in flag.body and "原因：像是紧急情况" in flag.body
        q = await recorded(repo, room, urgent)
        assert q.urgent and q.reason == "sounds_urgent"

        # The officer says it is not a question for staff: ❌ on the flag.
        await officer.react(w.officers_room, flag.event_id, "❌")
        q = await recorded(repo, room, urgent, lambda q: q.state is QuestionState.DISMISSED,
                           "the false alarm closed")
        edit = await officer.wait_for_message(
            lambda s: bool(edits_of(officer, w.officers_room, flag.event_id)), WAIT,
            "the flag edited")
        assert edits_of(officer, w.officers_room, flag.event_id)
        assert any("误报" in e.content.get("m.new_content", {}).get("body", "")
                   for e in edits_of(officer, w.officers_room, flag.event_id)), edit.body
        feedback = await repo.all_feedback()
        assert [f.kind for f in feedback] == [FeedbackKind.FALSE_ALARM]

        # A resident's message the detector let through; the officer flags it by reply.
        chatter = await resident.send(room, "今天天气真好")
        ask = await officer.send(room, "!flag", reply_to=chatter)
        reply = await officer.wait_for_reply(room, ask, w.bot_id, WAIT)
        assert "漏报" in reply.body, reply.body
        flagged = await officer.wait_for_message(
            lambda s: s.room_id == w.officers_room and matrix_to(room, chatter) in s.body,
            WAIT, "the flag of the missed message")
        assert "工作人员标记" in flagged.body
        missed = await recorded(repo, room, chatter)
        assert missed.is_open and missed.reason == "officer"
        kinds = sorted(f.kind.value for f in await repo.all_feedback())
        assert kinds == ["false_alarm", "miss"]

        # The figures: one detected (the false alarm), one miss.
        ask = await officer.send(w.officers_room, "!stats")
        stats = await officer.wait_for_reply(w.officers_room, ask, w.bot_id, WAIT)
        assert "问题识别" in stats.body and "误报 1 条，漏报 1 条" in stats.body, stats.body
    finally:
        await app.close()
