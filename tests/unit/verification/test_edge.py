"""The look-ups the Matrix edge needs from verification, on SQLite and PostgreSQL: which
compound a direct message is meant for, a verified member's flat, members by state."""

from __future__ import annotations

from datetime import timedelta

from linli.common.clock import FakeClock
from linli.common.ids import UserID
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.verification.model import MemberState
from tests.unit.verification.fixtures import make_world, with_registry

ALICE = UserID("@alice:hs")
BOB = UserID("@bob:hs")
CAROL = UserID("@carol:hs")


async def test_reply_target_is_the_compound_of_the_code_else_the_latest_joined(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    station = await CommunityRepository(db, clock).station("xinhua")
    other = await CommunityRepository(db, clock).create_compound(
        slug="taoyuan", name="桃园小区", station_id=station.id, room_id="!tao:hs")
    compounds = {w.compound.id: w.compound, other.id: other}

    assert await w.service.reply_target(ALICE, "ABCD-EFGH 张伟", compounds) is None
    await w.service.on_join(w.compound, ALICE)
    clock.advance(timedelta(minutes=5))
    await w.service.on_join(other, ALICE)
    cases = [
        (f"{codes['3-2-301']} 张伟", w.compound.id),  # meiyuan's code, though joined earlier
        ("7K3M9QXZ 张伟", other.id),                  # an unknown code: the latest joined
        ("张伟", other.id),                            # no code at all
    ]
    for text, expected in cases:
        target = await w.service.reply_target(ALICE, text, compounds)
        assert target is not None and target.id == expected, text
    # compounds this process does not run are not candidates
    only = {w.compound.id: w.compound}
    target = await w.service.reply_target(ALICE, "张伟", only)
    assert target is not None and target.id == w.compound.id
    # verified, the account waits nowhere; its compound is known
    await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")
    await w.service.on_leave(other, ALICE)
    assert await w.service.reply_target(ALICE, "你好", compounds) is None
    assert await w.service.linked_compound(ALICE) == w.compound.id
    assert await w.service.linked_compound(BOB) is None


async def test_flat_label_only_for_verified_members_and_never_a_name(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await w.service.on_join(w.compound, ALICE)
    assert await w.service.flat_label(w.compound, ALICE) is None
    await w.service.attempt(w.compound, ALICE, f"{codes['3-2-302']} 叶西·卓玛")
    assert await w.service.flat_label(w.compound, ALICE) == "3栋2单元302室"
    assert await w.service.flat_label(w.compound, BOB) is None
    await w.service.revoke(w.compound, "@wang:hs", ALICE)
    assert await w.service.flat_label(w.compound, ALICE) is None


async def test_member_counts_by_state(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    assert await w.service.member_counts([]) == {s: 0 for s in MemberState}
    for user in (ALICE, BOB, CAROL):
        await w.service.on_join(w.compound, user)
    await w.service.attempt(w.compound, ALICE, f"{codes['3-2-301']} 张伟")
    for _ in range(5):
        await w.service.attempt(w.compound, BOB, f"{codes['3-2-301']} 无名氏")
    counts = await w.service.member_counts([w.compound])
    assert (counts[MemberState.PENDING], counts[MemberState.VERIFIED],
            counts[MemberState.LOCKED], counts[MemberState.LEFT]) == (1, 1, 1, 0)
