"""The verification service on SQLite and PostgreSQL, with a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.common.clock import FakeClock
from linli.common.errors import Conflict, NotFound
from linli.common.ids import UserID
from linli.storage.db import Database
from linli.verification.model import AttemptOutcome, EffectKind, MemberState
from linli.verification.policy import VerificationPolicy
from linli.verification.service import VerificationService
from tests.unit.verification.fixtures import make_world, with_registry

H = timedelta(hours=1)
ALICE = UserID("@alice:hs")
BOB = UserID("@bob:hs")
CAROL = UserID("@carol:hs")
OFFICER = "@wang:hs"


def kinds(effects: object) -> list[str]:
    return [e.kind.value for e in effects]  # type: ignore[attr-defined]


async def test_join_prompt_then_correct_pair_verifies_and_welcomes(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    effects = await w.service.on_join(w.compound, ALICE)
    assert kinds(effects) == ["send_dm"]
    assert effects[0].key == "verification.dm.prompt"
    assert effects[0].params["deadline"] == "2026-03-05 09:00"  # 72 h, Asia/Shanghai

    code = codes["3-2-302"]
    typed = f"{code[:4].lower()}-{code[4:].lower()} 叶西•卓玛"
    result = await w.service.attempt(w.compound, ALICE, typed)
    assert result.outcome is AttemptOutcome.VERIFIED
    assert result.welcome is not None
    assert (result.welcome.place, result.welcome.masked_name) == ("3栋2单元", "叶*")
    assert kinds(result.effects) == ["admit", "welcome"]
    assert result.effects[1].params["name"] == "叶*"
    assert await w.service.is_verified(w.compound, ALICE)
    again = await w.service.attempt(w.compound, ALICE, typed)
    assert again.outcome is AttemptOutcome.ALREADY_VERIFIED
    audit = await w.audit.recent()
    assert [e.action for e in audit] == ["verification.verify"]


@pytest.mark.parametrize(
    "typed", ["叶西卓玛", "叶西・卓玛", "叶西.卓玛", " 叶西 卓玛 ", "叶西•卓玛"],
)
async def test_a_name_matches_with_any_middle_dot_or_none(
    db: Database, clock: FakeClock, typed: str
) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    result = await w.service.attempt(w.compound, ALICE, f"{codes['3-2-302']} {typed}")
    assert result.outcome is AttemptOutcome.VERIFIED


@pytest.mark.parametrize(
    ("flat", "name"),
    [("3-2-301", "王芳"),      # right code, name of another household
     ("3-2-301", "张卫"),      # right code, wrong name
     ("5-1-102", "张伟"),      # a real name with another household's code
     (None, "张伟")],          # a code that was never issued
)
async def test_wrong_pairs_get_one_neutral_answer(
    db: Database, clock: FakeClock, flat: str | None, name: str
) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    code = codes[flat] if flat else "7K3M9QXZ"
    result = await w.service.attempt(w.compound, ALICE, f"{code} {name}")
    assert result.outcome is AttemptOutcome.WRONG
    assert (result.reply_key, dict(result.reply_params)) == (
        "verification.dm.wrong", {"tries_left": 4})
    assert result.effects == ()


async def test_five_failures_lock_until_24h_later_and_officers_are_told(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    left = []
    for _ in range(5):
        clock.advance(timedelta(minutes=10))
        r = await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 无名氏")
        left.append(r.tries_left)
    assert left == [4, 3, 2, 1, 0]
    assert r.outcome is AttemptOutcome.LOCKED
    assert kinds(r.effects) == ["notify_officers"]
    assert r.effects[0].key == "verification.officers.locked"
    locked_at = clock.now()
    # even the right pair is refused while locked
    clock.advance(23 * H)
    r = await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")
    assert r.outcome is AttemptOutcome.LOCKED and r.locked_until == locked_at + 24 * H
    clock.advance(2 * H)
    r = await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 无名氏")
    assert r.outcome is AttemptOutcome.WRONG and r.tries_left == 4  # the count starts afresh
    r = await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")
    assert r.outcome is AttemptOutcome.VERIFIED


async def test_failures_older_than_a_day_do_not_count(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    for _ in range(4):
        await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 无名氏")
    clock.advance(25 * H)
    r = await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 无名氏")
    assert r.outcome is AttemptOutcome.WRONG and r.tries_left == 4


async def test_incomplete_messages_do_not_count(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    for text in ("你好", "张伟", "ABCD-EFGH"):
        r = await w.service.attempt(w.compound, ALICE, text)
        assert r.outcome is AttemptOutcome.INCOMPLETE
    r = await w.service.attempt(w.compound, BOB, "ABCD-EFGH 张伟")
    assert r.outcome is AttemptOutcome.NOT_PENDING


async def test_one_account_one_person(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    for user in (ALICE, BOB):
        await w.service.on_join(w.compound, user)
    assert (await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")).outcome \
        is AttemptOutcome.VERIFIED
    # a second account claiming the same person is refused and reported
    r = await w.service.attempt(w.compound, BOB, f"{codes['3-2-301']} 张伟")
    assert r.outcome is AttemptOutcome.PERSON_TAKEN
    assert kinds(r.effects) == ["notify_officers"]
    assert r.effects[0].params["holder"] == ALICE
    # the database itself refuses a second link, whatever the service checked before
    person = await w.repo.find_person((await w.repo.households(w.compound.id))[0].id, "张伟")
    assert person is not None
    member = await w.repo.member(w.compound.id, BOB)
    assert member is not None
    with pytest.raises(Conflict):
        await w.repo.link(member, person, "code", BOB)
    # and one account cannot be a second person
    with pytest.raises(Conflict):
        await w.service.manual_verify(w.compound, OFFICER, ALICE, "3-2-301", "李娜")


async def test_household_cap(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock, settings={"verification": {"household_cap": 1}})
    codes = await with_registry(w)
    for user in (ALICE, BOB):
        await w.service.on_join(w.compound, user)
    assert (await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")).outcome \
        is AttemptOutcome.VERIFIED
    r = await w.service.attempt(w.compound, BOB, f"{codes['3-2-301']} 李娜")
    assert r.outcome is AttemptOutcome.CAP_REACHED
    assert r.reply_params == {"cap": 1}
    assert kinds(r.effects) == ["notify_officers"]
    with pytest.raises(Conflict):
        await w.service.manual_verify(w.compound, OFFICER, BOB, "3-2-301", "李娜")


async def test_grace_reminders_and_removal_survive_a_restart(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    assert await w.service.due_work([w.compound]) == []
    clock.advance(47 * H)
    assert await w.service.due_work([w.compound]) == []
    clock.advance(H)  # 24 h before the deadline
    effects = await w.service.due_work([w.compound])
    assert [(e.kind.value, e.key) for e in effects] == [("send_dm", "verification.dm.reminder")]
    assert await w.service.due_work([w.compound]) == []  # applied once

    # a restart: a new service on the same database keeps the deadline
    fresh = VerificationService(w.repo, w.audit, clock, VerificationPolicy(), transactions=w.db)
    clock.advance(22 * H)  # 2 h before the deadline
    effects = await fresh.due_work([w.compound])
    assert [e.key for e in effects] == ["verification.dm.reminder"]
    clock.advance(2 * H)
    effects = await fresh.due_work([w.compound])
    assert [(e.kind.value, e.key) for e in effects] == [
        ("kick", "verification.kick.grace_expired"),
        ("notify_officers", "verification.officers.removed")]
    assert await fresh.due_work([w.compound]) == []
    member = await w.repo.member(w.compound.id, ALICE)
    assert member is not None and member.state is MemberState.REMOVED
    # the kick shows up as a leave: a removed member stays removed
    await fresh.on_leave(w.compound, ALICE)
    member = await w.repo.member(w.compound.id, ALICE)
    assert member is not None and member.state is MemberState.REMOVED


async def test_a_long_outage_sends_one_reminder_not_all(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    await w.service.on_join(w.compound, ALICE)
    clock.advance(71 * H)
    effects = await w.service.due_work([w.compound])
    assert [e.key for e in effects] == ["verification.dm.reminder"]
    clock.advance(2 * H)
    assert [e.kind for e in await w.service.due_work([w.compound])][0] is EffectKind.KICK


async def test_leaving_and_rejoining_keeps_the_deadline(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    deadline = (await w.repo.member(w.compound.id, ALICE)).deadline  # type: ignore[union-attr]
    clock.advance(10 * H)
    await w.service.on_leave(w.compound, ALICE)
    clock.advance(H)
    effects = await w.service.on_join(w.compound, ALICE)
    assert kinds(effects) == ["send_dm"]
    assert (await w.repo.member(w.compound.id, ALICE)).deadline == deadline  # type: ignore[union-attr]
    # a verified member who leaves and returns is admitted again, without a prompt
    await w.service.attempt(w.compound, ALICE, f"{codes['5-1-102']} 王芳")
    await w.service.on_leave(w.compound, ALICE)
    assert kinds(await w.service.on_join(w.compound, ALICE)) == ["admit"]
    assert await w.service.is_verified(w.compound, ALICE)


async def test_officers_verify_revoke_extend_and_list(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    await w.service.on_join(w.compound, BOB)

    with pytest.raises(NotFound):
        await w.service.manual_verify(w.compound, OFFICER, ALICE, "9-9-999", "张伟")
    with pytest.raises(NotFound):
        await w.service.manual_verify(w.compound, OFFICER, ALICE, "3栋2单元301", "无名氏")
    result = await w.service.manual_verify(w.compound, OFFICER, ALICE, "3栋2单元301室", "张 伟")
    assert result.report_key == "verification.officers.verified"
    assert result.report_params["name"] == "张*"
    assert result.report_params["flat"] == "3栋2单元301室"
    assert kinds(result.effects) == ["admit", "welcome", "send_dm"]

    lines = w.service.pending_lines(w.compound, await w.service.pending(w.compound))
    assert [k for k, _ in lines] == ["verification.officers.pending_header",
                                     "verification.officers.pending_line"]
    assert lines[1][1]["user"] == BOB

    result = await w.service.extend(w.compound, OFFICER, BOB, 48 * H)
    assert result.report_params["deadline"] == "2026-03-07 09:00"
    assert kinds(result.effects) == ["send_dm"]
    with pytest.raises(NotFound):
        await w.service.extend(w.compound, OFFICER, ALICE, 48 * H)  # verified, not waiting

    result = await w.service.revoke(w.compound, OFFICER, ALICE)
    assert kinds(result.effects) == ["restrict", "send_dm"]
    assert not await w.service.is_verified(w.compound, ALICE)
    with pytest.raises(NotFound):
        await w.service.revoke(w.compound, OFFICER, ALICE)
    # the person is free again for the right account
    r = await w.service.manual_verify(w.compound, OFFICER, BOB, "3-2-301", "张伟")
    assert r.report_params["user"] == BOB
    actions = [e.action for e in await w.audit.recent()]
    assert actions == ["verification.verify", "verification.revoke", "verification.extend",
                       "verification.verify"]  # newest first


async def test_adopted_members_are_asked_at_a_bounded_rate(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock, settings={"verification": {"adopted_dm_per_minute": 3}})
    users = [UserID(f"@m{i}:hs") for i in range(8)]
    assert await w.service.adopt(w.compound, users) == 8
    assert await w.service.adopt(w.compound, users) == 0  # idempotent
    first = await w.service.due_work([w.compound])
    assert [e.key for e in first] == ["verification.dm.prompt_adopted"] * 3
    assert await w.service.due_work([w.compound]) == []      # same minute: no more
    clock.advance(timedelta(seconds=61))
    second = await w.service.due_work([w.compound])
    assert len(second) == 3
    assert not {e.user_id for e in first} & {e.user_id for e in second}
    member = await w.repo.member(w.compound.id, users[0])
    assert member is not None and member.adopted
    assert member.deadline == clock.now() - timedelta(seconds=61) + timedelta(days=14)
    assert not any(e.kind is EffectKind.RESTRICT for e in first + second)  # nobody muted


async def test_joins_of_adopted_members_in_the_rooms_history_do_not_bypass_the_rate(
    db: Database, clock: FakeClock
) -> None:
    """The bot sees the old members' joins in the room's history once the room is adopted:
    they are asked by the bounded adopted prompts, not all at once by the join."""
    w = await make_world(db, clock, settings={"verification": {"adopted_dm_per_minute": 1}})
    users = [UserID(f"@m{i}:hs") for i in range(3)]
    await w.service.adopt(w.compound, users)
    for user in users:
        assert await w.service.on_join(w.compound, user) == []
    assert len(await w.service.due_work([w.compound])) == 1
    # Once asked, a join (the member came back) prompts again with the same deadline.
    members = [await w.repo.member(w.compound.id, u) for u in users]
    asked = next(m.user_id for m in members if m is not None and m.prompted_at)
    again = await w.service.on_join(w.compound, asked)
    assert [e.key for e in again] == ["verification.dm.prompt"]


async def test_moved_out_person_loses_verification_then_the_room(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")
    affected = await w.registry.move_out(w.compound, "3-2-301", "张伟", "cli:admin")
    assert [m.user_id for m in affected] == [ALICE]
    assert not await w.service.is_verified(w.compound, ALICE)
    effects = await w.service.due_work([w.compound])
    assert [(e.kind.value, e.key) for e in effects] == [
        ("restrict", None), ("send_dm", "verification.dm.moved_out"),
        ("notify_officers", "verification.officers.notice")]
    assert await w.service.due_work([w.compound]) == []
    clock.advance(24 * H)
    effects = await w.service.due_work([w.compound])
    assert [(e.kind.value, e.key) for e in effects][0] == ("kick", "verification.kick.moved_out")
    # the person cannot be claimed again while moved out
    await w.service.on_join(w.compound, CAROL)
    r = await w.service.attempt(w.compound, CAROL, f"{codes['3-2-301']} 张伟")
    assert r.outcome is AttemptOutcome.WRONG


async def test_reissued_and_revoked_codes(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    old = await with_registry(w)
    new = {i.household.ref: i.code for i in await w.registry.issue_codes(
        w.compound, "test", ["3-2-301"])}
    assert list(new) == ["3-2-301"] and new["3-2-301"] != old["3-2-301"]
    await w.service.on_join(w.compound, ALICE)
    r = await w.service.attempt(w.compound, ALICE, f"{old['3-2-301']} 张伟")
    assert r.outcome is AttemptOutcome.WRONG
    assert await w.registry.revoke_codes(w.compound, "test", ["5-1-101"]) == 1
    r = await w.service.attempt(w.compound, ALICE, f"{old['5-1-101']} Anna Berg")
    assert r.outcome is AttemptOutcome.WRONG
    assert (await w.service.attempt(w.compound, ALICE, f"{new['3-2-301']} 张伟")).outcome \
        is AttemptOutcome.VERIFIED
    assert await w.registry.issue_codes(w.compound, "test", only_missing=True) != []


async def test_expired_codes_do_not_work(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock, settings={"verification": {"code_validity": "7d"}})
    codes = await with_registry(w)
    clock.advance(timedelta(days=8))
    await w.service.on_join(w.compound, ALICE)
    r = await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")
    assert r.outcome is AttemptOutcome.WRONG


async def test_enrolment_figures(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock, settings={"verification": {"household_cap": 5}})
    codes = await with_registry(w)
    for user in (ALICE, BOB, CAROL):
        await w.service.on_join(w.compound, user)
    await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")
    await w.service.attempt(w.compound, BOB, f"{codes['3-2-301']} 李娜")
    report = await w.service.enrolment(w.compound)
    t = report.total
    assert (t.households, t.households_enrolled, t.verified_members) == (4, 1, 2)
    assert t.coverage == 25.0
    assert (t.pending_members, t.locked_members) == (1, 0)
    assert report.by_building["3"].households == 2
    assert report.by_building["3"].households_enrolled == 1
    assert report.by_building["5"].coverage == 0.0
    assert [(u.building, u.unit, u.flats) for u in report.unenrolled] == [
        ("3", "2", ("302",)), ("5", "1", ("101", "102"))]
    assert [p.user_id for p in report.pending] == [CAROL]


async def test_due_work_in_a_unit_of_work_claims_once(db: Database, clock: FakeClock) -> None:
    """The bot runs the periodic work in a unit of work: the due rows are read locked
    (PostgreSQL) and claimed in one query; a second pass finds nothing."""
    w = await make_world(db, clock)
    await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    await w.service.on_join(w.compound, UserID("@bob:hs"))
    clock.advance(timedelta(hours=49))  # 23 h left: the 24 h reminder is due
    async with db.unit_of_work():
        effects = await w.service.due_work([w.compound])
    assert sorted(e.user_id for e in effects) == sorted([ALICE, UserID("@bob:hs")])
    assert {e.key for e in effects} == {"verification.dm.reminder"}
    async with db.unit_of_work():
        assert await w.service.due_work([w.compound]) == []


class _BrokenAudit:
    """An audit log whose write fails, as a full disk or a lost connection would."""

    async def record(self, entry: object) -> None:
        raise RuntimeError("the audit log is unavailable")


async def test_a_link_and_its_audit_entry_commit_together(
    db: Database, clock: FakeClock
) -> None:
    """The service opens one unit of work for a verification: when its audit entry cannot be
    written, the link is not kept either, and the member can try again."""
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    broken = VerificationService(w.repo, _BrokenAudit(), clock, transactions=db)
    with pytest.raises(RuntimeError):
        await broken.attempt(w.compound, ALICE, f"{codes['3-2-302']} 叶西卓玛")
    assert await w.repo.link_of_user(ALICE) is None
    assert not await w.service.is_verified(w.compound, ALICE)
    result = await w.service.attempt(w.compound, ALICE, f"{codes['3-2-302']} 叶西卓玛")
    assert result.outcome is AttemptOutcome.VERIFIED
    with pytest.raises(RuntimeError):
        await broken.revoke(w.compound, OFFICER, ALICE)
    assert (await w.repo.link_of_user(ALICE)) is not None  # the unlink went with the audit
