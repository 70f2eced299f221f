"""Effects recorded in a unit of work and carried out once it commits (bot/runtime/outbox.py),
on SQLite and PostgreSQL: nothing carried out for a unit rolled back; the write lock free
while the homeserver works; a passing failure leaves the effect (and those after it on the
same target) to the retry, in order, each once; a crash between the commit and the effect
leaves it to the next process; transaction ids distinct per effect and the same on a
repeat; what a person is told is encrypted at rest."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from linli.bot.matrix.gateway import MatrixActionError, Unreachable, effect_cause, txn_id_for
from linli.bot.runtime.outbox import Outbox
from linli.common.clock import FakeClock
from linli.common.crypto import DataProtector, generate_key, parse_key
from linli.storage.db import Database
from linli.storage.repos.outbox import OutboxRepository
from linli.storage.tables.outbox import PendingEffectRow

ROOM = "!meiyuan:test"


class FakeGateway:
    """Records sends (with their transaction ids) and redactions; fails or waits as told."""

    user_id = "@linli:test"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.redacted: list[tuple[str, str]] = []
        self.fail: list[Exception] = []
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def send_text(self, room_id: str, body: str, *_: Any, **__: Any) -> str:
        txn = txn_id_for(room_id)
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((room_id, body, txn))
        return f"$sent{len(self.sent)}"

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        self.redacted.append((room_id, event_id))


def make(db: Database, clock: FakeClock, gateway: FakeGateway,
         protector: DataProtector | None = None) -> Outbox:
    protector = protector or DataProtector(parse_key(generate_key()))
    return Outbox(db, OutboxRepository(db, clock, protector), gateway,  # type: ignore[arg-type]
                  clock)


async def rows(db: Database) -> list[PendingEffectRow]:
    async with db.session() as s:
        return list((await s.scalars(select(PendingEffectRow))).all())


async def test_carried_out_once_the_unit_commits_and_not_for_a_unit_rolled_back(
    db: Database, clock: FakeClock
) -> None:
    gateway = FakeGateway()
    outbox = make(db, clock, gateway)
    with pytest.raises(RuntimeError):
        async with db.unit_of_work():
            await outbox.send_text(ROOM, "不该发出")
            raise RuntimeError("the decision failed")
    assert gateway.sent == [] and await rows(db) == []

    async with db.unit_of_work():
        with effect_cause("$event"):
            await outbox.send_text(ROOM, "欢迎")
            await outbox.redact(ROOM, "$answer")
        assert gateway.sent == [] and gateway.redacted == []  # not while the unit is open
    # Once the unit committed, the task that opened it carried them out, in order.
    assert [b for _, b, _ in gateway.sent] == ["欢迎"]
    assert gateway.redacted == [(ROOM, "$answer")]
    assert await rows(db) == []
    assert outbox.carried_out == 2


async def test_the_write_lock_is_free_while_the_homeserver_works(
    sqlite_db: Database, clock: FakeClock
) -> None:
    """On SQLite a unit used to hold the one write lock across its homeserver calls; now a
    second unit commits while the first one's effect is still on its way."""
    db = sqlite_db
    gateway = FakeGateway()
    gateway.hold = asyncio.Event()
    outbox = make(db, clock, gateway)

    async def slow_event() -> None:
        async with db.unit_of_work():
            with effect_cause("$join"):
                await outbox.send_text(ROOM, "请回复登记码")

    first = asyncio.create_task(slow_event())
    await asyncio.wait_for(gateway.entered.wait(), 5)  # the homeserver is working on it
    second_done = False
    async with asyncio.timeout(5):  # it would wait for the first (60 s) with the lock held
        async with db.unit_of_work():
            await OutboxRepository(db, clock, DataProtector(parse_key(generate_key()))).add(
                "room:!other:test", "send", "$other#0", {"room": "!other:test", "body": "x"})
        second_done = True
    assert second_done and not first.done()
    gateway.hold.set()
    await first
    assert [b for _, b, _ in gateway.sent] == ["请回复登记码"]


async def test_a_passing_failure_leaves_the_effect_and_those_after_it_to_the_retry(
    db: Database, clock: FakeClock
) -> None:
    gateway = FakeGateway()
    outbox = make(db, clock, gateway)
    gateway.fail = [Unreachable("send", "connection refused")]
    async with db.unit_of_work():
        with effect_cause("$join"):
            await outbox.send_text(ROOM, "第一条")
    assert gateway.sent == [] and len(await rows(db)) == 1
    # A later effect on the same room waits behind it: order is kept.
    async with db.unit_of_work():
        with effect_cause("$code"):
            await outbox.send_text(ROOM, "第二条")
    assert [b for _, b, _ in gateway.sent] == ["第一条", "第二条"]
    assert await rows(db) == [] and outbox.postponed == 1



async def test_an_outage_of_any_length_ends_on_the_first_tick_after_it(
    db: Database, clock: FakeClock
) -> None:
    """During an outage each tick tries one target (no storm of failing calls); the first
    tick after it carries out everything, whatever the back-off says."""
    gateway = FakeGateway()
    outbox = make(db, clock, gateway)
    down = Unreachable("send", "connection refused")
    gateway.fail = [down] * 5
    rooms = [f"!room{i}:test" for i in range(5)]
    async with db.unit_of_work():
        with effect_cause("$notice"):
            for room in rooms:
                await outbox.send_text(room, "通知")
    assert gateway.sent == [] and len(await rows(db)) == 5
    attempts = 0
    for _ in range(200):
        clock.advance(timedelta(seconds=1))
        gateway.fail = [down]
        await outbox.retry_due()
        attempts += 1 - len(gateway.fail)  # the probe took the failure
    assert attempts == 200 and gateway.sent == []
    await outbox.retry_due()  # the homeserver is back
    assert sorted(r for r, _, _ in gateway.sent) == sorted(rooms)
    assert await rows(db) == []
    await outbox.retry_due()
    assert len(gateway.sent) == 5


async def test_a_refusal_is_logged_and_the_effects_after_it_go_on(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = FakeGateway()
    outbox = make(db, clock, gateway)
    gateway.fail = [MatrixActionError("send", "M_FORBIDDEN", "not in the room")]
    async with db.unit_of_work():
        with effect_cause("$ev"):
            await outbox.send_text(ROOM, "被拒")
            await outbox.send_text(ROOM, "照发")
    assert [b for _, b, _ in gateway.sent] == ["照发"]
    assert await rows(db) == [] and outbox.refused == 1
    assert "M_FORBIDDEN" in caplog.text


async def test_a_crash_between_the_commit_and_the_effect_leaves_it_to_the_next_process(
    db: Database, clock: FakeClock
) -> None:
    key = DataProtector(parse_key(generate_key()))
    gateway = FakeGateway()
    dying = make(db, clock, gateway, key)

    async def died(_targets: list[str]) -> None:
        raise SystemExit  # stands for kill -9 after the commit: nothing after it runs

    dying._flush_recorded = died  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        async with db.unit_of_work():
            with effect_cause("$join"):
                await dying.send_text(ROOM, "请回复登记码")
    assert gateway.sent == [] and len(await rows(db)) == 1

    restarted = make(db, clock, gateway, key)
    await restarted.retry_due()  # the first tick after the start
    await restarted.retry_due()
    assert [b for _, b, _ in gateway.sent] == ["请回复登记码"]
    assert await rows(db) == []


async def test_transaction_ids_are_distinct_per_effect_and_the_same_on_a_repeat(
    db: Database, clock: FakeClock
) -> None:
    key = DataProtector(parse_key(generate_key()))
    gateway = FakeGateway()
    outbox = make(db, clock, gateway, key)
    async with db.unit_of_work():
        with effect_cause("$ev"):
            assert txn_id_for(ROOM)  # a message sent in the unit itself, the event's first
            await outbox.send_text(ROOM, "一")
            await outbox.send_text(ROOM, "二")
    txns = [t for _, _, t in gateway.sent]
    assert len(set(txns)) == 2

    # Carried out again (the process died after the send, before the row went): same ids.
    repo = OutboxRepository(db, clock, key)
    async with db.unit_of_work():
        with effect_cause("$ev"):
            await repo.add("room:" + ROOM, "send", "$ev#0", {"room": ROOM, "body": "一"})
    await make(db, clock, gateway, key).retry_due()
    assert gateway.sent[-1][2] == txns[0]


async def test_what_a_person_is_told_is_encrypted_at_rest(
    db: Database, clock: FakeClock
) -> None:
    gateway = FakeGateway()
    gateway.fail = [Unreachable("send", "down")]
    outbox = make(db, clock, gateway)
    async with db.unit_of_work():
        await outbox.send_text(ROOM, "张明华，3栋2单元501室，验证成功")
    [row] = await rows(db)
    assert "张明华".encode() not in bytes(row.payload)
    assert b"501" not in bytes(row.payload)


async def test_outside_a_unit_an_effect_is_carried_out_at_once(
    db: Database, clock: FakeClock
) -> None:
    gateway = FakeGateway()
    outbox = make(db, clock, gateway)
    await outbox.send_text(ROOM, "即时")
    assert [b for _, b, _ in gateway.sent] == ["即时"] and await rows(db) == []
    gateway.fail = [Unreachable("send", "down")]
    with pytest.raises(Unreachable):  # the caller's own failure, as before
        await outbox.send_text(ROOM, "失败")


async def test_another_process_target_is_left_to_its_owner(
    db: Database, clock: FakeClock
) -> None:
    key = DataProtector(parse_key(generate_key()))
    gateway = FakeGateway()
    repo = OutboxRepository(db, clock, key)
    await repo.add("room:!theirs:test", "send", "$a#0", {"room": "!theirs:test", "body": "他"})
    await repo.add("room:" + ROOM, "send", "$b#0", {"room": ROOM, "body": "我"})
    outbox = make(db, clock, gateway, key)

    async def mine(target: str) -> bool:
        return target == "room:" + ROOM

    outbox.owns = mine
    await outbox.retry_due()
    assert [b for _, b, _ in gateway.sent] == ["我"]
    assert [r.target for r in await rows(db)] == ["room:!theirs:test"]


async def test_subjects_of_one_room_go_side_by_side_each_in_its_own_order(
    db: Database, clock: FakeClock
) -> None:
    """Thirty flags due at once in one officers' room are not posted one behind the other:
    each question's flag (and later its edit) is a subject of its own."""
    from linli.bot.features.questions.feature import _target
    from linli.common.ids import EventID, RoomID
    from linli.questions.model import EditMessage, FlagLevel, PostFlag

    officers = RoomID("!officers:test")
    one = _target(PostFlag(1, FlagLevel.FLAG, officers, "问题一", "t1"))
    two = _target(PostFlag(2, FlagLevel.FLAG, officers, "问题二", "t2"))
    assert one != two
    assert _target(PostFlag(1, FlagLevel.ESCALATION, officers, "升级", "t3")) == one
    assert _target(EditMessage(officers, EventID("$flag1"), "已回答")).startswith(
        f"room:{officers} ")

    gateway = FakeGateway()
    outbox = make(db, clock, gateway)
    first_waits = asyncio.Event()
    seen: list[str] = []

    async def post(p: dict[str, Any]) -> None:
        seen.append(p["body"])
        if p["body"] == "问题一":
            await asyncio.wait_for(first_waits.wait(), 5)  # waits for the other question's
        else:
            first_waits.set()

    outbox.register("flag", post)
    async with db.unit_of_work():
        with effect_cause("tick"):
            await outbox.submit("flag", one, {"body": "问题一"})
            await outbox.submit("flag", two, {"body": "问题二"})
    assert seen == ["问题一", "问题二"] and await rows(db) == []
