"""The questions repository on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.common.clock import FakeClock
from linli.common.ids import CompoundId, EventID, RoomID, UserID
from linli.questions.model import (
    AnswerKind,
    FlagLevel,
    FlagStatus,
    NewQuestion,
    QuestionState,
    Rating,
)
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.questions import QuestionRepository

M = timedelta(minutes=1)


async def _compound(db: Database, clock: FakeClock) -> CompoundId:
    community = CommunityRepository(db, clock)
    station = await community.create_station("xinhua", "新华派出所")
    compound = await community.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id="!r:hs"
    )
    return compound.id


def _new(compound: CompoundId, clock: FakeClock, event: str, asker: str = "@li:hs",
         minutes_ago: int = 0) -> NewQuestion:
    asked = clock.now() - minutes_ago * M
    return NewQuestion(
        compound_id=compound, room_id=RoomID("!r:hs"), event_id=EventID(event),
        asker=UserID(asker), asker_flat="3栋2单元501", text="派出所周六上班吗", topic="other",
        urgent=False, asked_at=asked, due_at=asked + 30 * M, escalate_at=asked + 120 * M,
        expires_at=asked + timedelta(days=7),
    )


async def test_add_is_idempotent_and_round_trips(db: Database, clock: FakeClock) -> None:
    repo = QuestionRepository(db, clock)
    cid = await _compound(db, clock)
    new = _new(cid, clock, "$q1")
    first = await repo.add(new, next_check_at=new.due_at)
    again = await repo.add(new, next_check_at=new.due_at)
    assert first.id == again.id
    assert first.text == "派出所周六上班吗" and first.asker_flat == "3栋2单元501"
    assert first.state is QuestionState.OPEN and first.due_at == new.due_at
    assert first.next_check_at == new.due_at
    assert "派出所" not in repr(first) and "3栋" not in repr(first)  # resident data not in repr
    assert await repo.by_event("!r:hs", "$q1") == first
    assert await repo.by_event("!other:hs", "$q1") is None


async def test_close_only_once(db: Database, clock: FakeClock) -> None:
    repo = QuestionRepository(db, clock)
    cid = await _compound(db, clock)
    q = await repo.add(_new(cid, clock, "$q1"), next_check_at=clock.now())
    closed = await repo.close(q.id, QuestionState.ANSWERED, clock.now() + 3 * M, "@wang:hs",
                              AnswerKind.REPLY, "$a1")
    assert closed is not None and closed.state is QuestionState.ANSWERED
    assert closed.answered_by == "@wang:hs" and closed.answer_kind is AnswerKind.REPLY
    assert closed.next_check_at is None and closed.response_time == 180.0
    assert await repo.close(q.id, QuestionState.WITHDRAWN, clock.now()) is None
    assert await repo.by_answer_event("!r:hs", "$a1") == closed
    await repo.set_rating(q.id, Rating.GOOD)
    rated = await repo.get(q.id)
    assert rated is not None and rated.rating is Rating.GOOD


async def test_due_uses_next_check_and_skips_closed(db: Database, clock: FakeClock) -> None:
    repo = QuestionRepository(db, clock)
    cid = await _compound(db, clock)
    a = await repo.add(_new(cid, clock, "$a"), next_check_at=clock.now() + 10 * M)
    b = await repo.add(_new(cid, clock, "$b"), next_check_at=clock.now() + 5 * M)
    c = await repo.add(_new(cid, clock, "$c"), next_check_at=clock.now() + 1 * M)
    await repo.close(c.id, QuestionState.ANSWERED, clock.now())
    assert await repo.due(clock.now(), 10) == []
    assert [q.id for q in await repo.due(clock.now() + 20 * M, 10)] == [b.id, a.id]
    assert [q.id for q in await repo.due(clock.now() + 20 * M, 1)] == [b.id]
    await repo.set_next_check(b.id, None)
    assert [q.id for q in await repo.due(clock.now() + 20 * M, 10)] == [a.id]


async def test_flags_are_claimed_once_per_level(db: Database, clock: FakeClock) -> None:
    repo = QuestionRepository(db, clock)
    cid = await _compound(db, clock)
    q = await repo.add(_new(cid, clock, "$q"), next_check_at=clock.now())
    now = clock.now()
    assert await repo.claim_flag(q.id, FlagLevel.FLAG, "!off:hs", now, now - 5 * M)
    assert not await repo.claim_flag(q.id, FlagLevel.FLAG, "!off:hs", now, now - 5 * M)
    # an unconfirmed claim may be retried once it is old enough, and only by one caller
    later = now + 6 * M
    assert await repo.claim_flag(q.id, FlagLevel.FLAG, "!off:hs", later, later - 5 * M)
    assert not await repo.claim_flag(q.id, FlagLevel.FLAG, "!off:hs", later, later - 5 * M)
    # no room: recorded as skipped, never claimed again
    assert await repo.claim_flag(q.id, FlagLevel.ESCALATION, None, now, now - 5 * M)
    far = now + timedelta(days=1)
    assert not await repo.claim_flag(q.id, FlagLevel.ESCALATION, "!sup:hs", far, far - 5 * M)
    posted = await repo.flag_posted(q.id, FlagLevel.FLAG, "$flag", later)
    assert posted is not None
    flag = posted.flag(FlagLevel.FLAG)
    assert flag is not None and flag.status is FlagStatus.POSTED and flag.event_id == "$flag"
    assert flag.room_id == "!off:hs" and flag.claimed_at == later
    escalation = posted.flag(FlagLevel.ESCALATION)
    assert escalation is not None and escalation.status is FlagStatus.SKIPPED
    assert not await repo.claim_flag(q.id, FlagLevel.FLAG, "!off:hs", far, far - 5 * M)
    found = await repo.by_flag_event("!off:hs", "$flag")
    assert found is not None and found.id == q.id
    assert await repo.by_flag_event("!r:hs", "$flag") is None


async def test_askers_replies_text_and_ranges(db: Database, clock: FakeClock) -> None:
    repo = QuestionRepository(db, clock)
    cid = await _compound(db, clock)
    old = await repo.add(_new(cid, clock, "$old", minutes_ago=60 * 30), clock.now())
    mine = await repo.add(_new(cid, clock, "$mine", minutes_ago=10), clock.now())
    other = await repo.add(_new(cid, clock, "$other", asker="@zhao:hs"), clock.now())
    found = await repo.open_by_askers("!r:hs", ["@li:hs"], clock.now() - timedelta(hours=24))
    assert [q.id for q in found] == [mine.id]
    assert await repo.open_by_askers("!r:hs", [], clock.now()) == []

    await repo.record_resident_reply(mine.id, clock.now(), "周六上午有人")
    await repo.record_resident_reply(mine.id, clock.now(), "x" * 1000)
    replied = await repo.get(mine.id)
    assert replied is not None and replied.resident_replies == 2
    assert replied.last_resident_reply == "x" * 300

    erased = await repo.erase_text(mine.id)
    assert erased is not None and erased.text == "" and erased.last_resident_reply is None

    listed, total = await repo.open_in_compounds([cid], 2)
    assert [q.id for q in listed] == [old.id, mine.id] and total == 3
    assert await repo.open_in_compounds([], 5) == ([], 0)
    between = await repo.asked_between([cid], clock.now() - timedelta(hours=1), clock.now())
    assert [q.id for q in between] == [mine.id]  # the end is exclusive, so not "other"
    everything = await repo.asked_between(None, clock.now() - timedelta(days=2),
                                          clock.now() + M)
    assert {q.id for q in everything} == {old.id, mine.id, other.id}


async def test_digest_claimed_once(db: Database, clock: FakeClock) -> None:
    repo = QuestionRepository(db, clock)
    assert await repo.claim_digest(1, "2026-W10", clock.now())
    assert not await repo.claim_digest(1, "2026-W10", clock.now())
    assert await repo.claim_digest(2, "2026-W10", clock.now())
    assert await repo.claim_digest(1, "2026-W11", clock.now())


async def test_question_tables_match_their_migration(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from linli.storage.tables import Base

    def _diff(connection):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(ctx, Base.metadata)

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    mine = [d for d in diff if "question" in repr(d)]
    assert mine == []


@pytest.mark.parametrize("table", ["questions", "question_flags", "question_digests"])
async def test_tables_exist_after_upgrade(db: Database, table: str) -> None:
    from sqlalchemy import inspect

    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert table in names
