"""The moderation service on both back-ends: timed mutes, refusals, warnings, audit, reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.common.clock import FakeClock
from linli.common.i18n import Locale, Translator, catalogue
from linli.moderation.model import (
    Ban,
    Kick,
    Outcome,
    Redact,
    Report,
    RestrictionKind,
    RoomPower,
    SetPowerLevel,
    TellUser,
    Unban,
)
from linli.moderation.service import ModerationService
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.moderation import ModerationRepository
from tests.unit.moderation.world import (
    ADMIN,
    BOT,
    CONFIG_ADMIN,
    OFFICER,
    OFFICERS_ROOM,
    OTHER,
    PROPERTY,
    RESIDENT,
    ROOM,
    World,
    build_world,
)

PLAIN = RoomPower(user_level=None, users_default=0, send_level=0)
MESSAGES = catalogue("moderation")
TRANSLATOR = Translator([catalogue("common"), MESSAGES])


@pytest.fixture
async def world(db: Database, clock: FakeClock) -> World:
    return await build_world(db, clock)


def kinds(outcome: Outcome) -> list[type]:
    return [type(e) for e in outcome.effects]


def rendered(outcome: Outcome | list) -> list[str]:  # type: ignore[type-arg]
    """Render every message effect in both locales: fails if a field is missing."""
    effects = outcome.effects if isinstance(outcome, Outcome) else outcome
    out = []
    for e in effects:
        if isinstance(e, Report | TellUser):
            for loc in Locale:
                out.append(TRANSLATOR.render(loc, e.key, **e.params))
    return out


async def audit_actions(world: World) -> list[tuple[str, str | None]]:
    entries = await AuditRepository(world.db, world.clock).recent()
    return [(e.action, e.target) for e in reversed(entries)]


async def test_timed_mute_ends_exactly_once_even_after_a_restart(world: World) -> None:
    service = world.service()
    outcome = await service.mute(
        OFFICER, RESIDENT, world.compound.id, timedelta(hours=2), "广告刷屏", PLAIN
    )
    assert outcome.ok
    assert outcome.effects[0] == SetPowerLevel(ROOM, RESIDENT, -1)
    report = outcome.effects[-1]
    assert isinstance(report, Report) and report.room_id == OFFICERS_ROOM
    assert report.key == "moderation.report.mute"
    assert "广告刷屏" in rendered(outcome)[-2]  # the zh-CN report
    assert await service.due() == []

    world.clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert await service.due() == []

    world.clock.advance(timedelta(seconds=1))
    restarted = world.service()  # a new process on the same database
    effects = await restarted.due()
    assert effects[0] == SetPowerLevel(ROOM, RESIDENT, None, only_if_level=-1)
    assert isinstance(effects[1], Report) and effects[1].key == "moderation.report.auto_unmute"
    rendered(effects)
    assert await restarted.due() == []
    assert await service.due() == []
    world.clock.advance(timedelta(days=1))
    assert await restarted.due() == []
    assert await audit_actions(world) == [("mute", RESIDENT), ("auto_unmute", RESIDENT)]


@pytest.mark.parametrize(
    ("power", "muted", "restored"),
    [
        (RoomPower(None, 0, 0), -1, None),  # no own entry: the entry is removed again
        (RoomPower(10, 0, 10), 9, 10),  # verified members at 10 in a room that needs 10
        (RoomPower(0, 0, 0), -1, 0),  # an explicit 0 is put back as 0, not removed
        (RoomPower(None, -5, 0), -5, None),  # already unable to post: never raised
        (RoomPower(5, 0, 0), -1, 5),
    ],
)
async def test_unmute_restores_the_level_held_before(
    world: World, power: RoomPower, muted: int, restored: int | None
) -> None:
    service = world.service()
    cid = world.compound.id
    outcome = await service.mute(OFFICER, RESIDENT, cid, timedelta(hours=1), "", power)
    assert outcome.effects[0] == SetPowerLevel(ROOM, RESIDENT, muted)
    lifted = await service.unmute(OFFICER, RESIDENT, world.compound.id, "误会")
    assert lifted.effects[0] == SetPowerLevel(ROOM, RESIDENT, restored, only_if_level=muted)
    rendered(lifted)
    assert await service.due(world.clock.now() + timedelta(days=1)) == []


async def test_muting_again_changes_the_end_and_keeps_the_first_level(world: World) -> None:
    service = world.service()
    await service.mute(
        OFFICER, RESIDENT, world.compound.id, timedelta(hours=1), "", RoomPower(10, 0, 10)
    )
    again = await service.mute(
        OFFICER, RESIDENT, world.compound.id, timedelta(hours=3), "再犯", RoomPower(9, 0, 10)
    )
    assert again.effects[0] == SetPowerLevel(ROOM, RESIDENT, 9)
    assert [e.key for e in again.effects if isinstance(e, Report)] == [
        "moderation.report.mute_changed"
    ]
    rendered(again)
    world.clock.advance(timedelta(hours=1))
    assert await service.due() == []
    world.clock.advance(timedelta(hours=2))
    assert (await service.due())[0] == SetPowerLevel(ROOM, RESIDENT, 10, only_if_level=9)


@pytest.mark.parametrize("target", [OFFICER, PROPERTY, ADMIN, CONFIG_ADMIN])
@pytest.mark.parametrize("action", ["mute", "kick", "ban", "warn", "redact"])
async def test_staff_and_admins_are_never_acted_on(
    world: World, target: str, action: str
) -> None:
    service = world.service()
    cid = world.compound.id
    actor = CONFIG_ADMIN if target != CONFIG_ADMIN else ADMIN
    outcome = await {
        "mute": lambda: service.mute(actor, target, cid, timedelta(hours=1), "x", PLAIN),
        "kick": lambda: service.kick(actor, target, cid, "x"),
        "ban": lambda: service.ban(actor, target, cid, "x"),
        "warn": lambda: service.warn(actor, target, cid, "x", PLAIN),
        "redact": lambda: service.redact(actor, cid, "$ev:hs", "x", sender=target),
    }[action]()
    assert outcome.refusal is not None and outcome.refusal.key == "moderation.refused.staff"
    assert outcome.effects == ()
    assert await audit_actions(world) == []


async def test_the_bot_does_not_act_on_itself(world: World) -> None:
    outcome = await world.service().kick(OFFICER, BOT, world.compound.id, "x")
    assert outcome.refusal is not None and outcome.refusal.key == "moderation.refused.bot"


@pytest.mark.parametrize("actor", [RESIDENT, PROPERTY, "@stranger:elsewhere"])
async def test_only_officers_and_admins_moderate(world: World, actor: str) -> None:
    service = world.service()
    cid = world.compound.id
    for outcome in (
        await service.mute(actor, OTHER, cid, timedelta(hours=1), "x", PLAIN),
        await service.kick(actor, OTHER, cid, "x"),
        await service.ban(actor, OTHER, cid, "x"),
        await service.warn(actor, OTHER, cid, "x", PLAIN),
        await service.unmute(actor, OTHER, cid),
        await service.unban(actor, OTHER, cid),
        await service.redact(actor, cid, "$ev:hs"),
    ):
        assert outcome.refusal is not None
        assert outcome.refusal.key == "moderation.refused.not_allowed"
        assert outcome.effects == ()
    assert await audit_actions(world) == []


@pytest.mark.parametrize(
    "bad", ["zhang", "@zhang", "@:hs", "!room:hs", "", "@a b:hs", "@zhang:hs\n!ban", "#alias:hs"]
)
async def test_invalid_user_ids_produce_no_effect(world: World, bad: str) -> None:
    service = world.service()
    cid = world.compound.id
    for outcome in (
        await service.mute(OFFICER, bad, cid, timedelta(hours=1), "x", PLAIN),
        await service.unmute(OFFICER, bad, cid),
        await service.kick(OFFICER, bad, cid, "x"),
        await service.ban(OFFICER, bad, cid, "x"),
        await service.unban(OFFICER, bad, cid),
        await service.warn(OFFICER, bad, cid, "x", PLAIN),
        await service.redact(OFFICER, cid, "$ev:hs", "x", sender=bad),
        await service.flood_mute(bad, cid, 12, PLAIN),
    ):
        assert outcome.refusal is not None
        assert outcome.refusal.key == "moderation.refused.invalid_user"
        assert outcome.effects == ()
        TRANSLATOR.render("en", outcome.refusal.key, **outcome.refusal.params)
    assert await audit_actions(world) == []
    repo = ModerationRepository(world.db, world.clock)
    assert await repo.active_in_compounds([cid]) == []


async def test_the_bot_only_lifts_what_it_imposed(world: World) -> None:
    service = world.service()
    cid = world.compound.id
    refused = await service.unmute(OFFICER, RESIDENT, cid)
    assert refused.refusal is not None
    assert refused.refusal.key == "moderation.refused.not_muted_by_bot"
    refused = await service.unban(OFFICER, RESIDENT, cid)
    assert refused.refusal is not None
    assert refused.refusal.key == "moderation.refused.not_banned_by_bot"

    await service.mute(OFFICER, RESIDENT, cid, timedelta(hours=1), "x", PLAIN)
    assert (await service.unmute(OFFICER, RESIDENT, cid)).ok
    second = await service.unmute(OFFICER, RESIDENT, cid)
    assert second.refusal is not None and second.effects == ()
    # the lifted mute is not lifted once more when its time comes
    assert await service.due(world.clock.now() + timedelta(hours=2)) == []


async def test_kick_ban_unban_effects_and_audit(world: World) -> None:
    service = world.service()
    cid = world.compound.id
    kick = await service.kick(OFFICER, RESIDENT, cid, "  骚扰\n邻居 ")
    assert kicks(kick) == [Kick(ROOM, RESIDENT, "骚扰 邻居")]
    ban = await service.ban(OFFICER, OTHER, cid, "诈骗")
    assert kinds(ban) == [Ban, Report]
    again = await service.ban(OFFICER, OTHER, cid, "诈骗")
    assert again.refusal is not None and again.refusal.key == "moderation.refused.already_banned"
    unban = await service.unban(ADMIN, OTHER, cid, "申诉通过")
    assert unban.effects[0] == Unban(ROOM, OTHER)
    for outcome in (kick, ban, unban):
        rendered(outcome)
    entries = await AuditRepository(world.db, world.clock).recent()
    assert [(e.action, e.actor, e.target) for e in reversed(entries)] == [
        ("kick", OFFICER, RESIDENT),
        ("ban", OFFICER, OTHER),
        ("unban", ADMIN, OTHER),
    ]
    assert all(
        e.station_id == world.station.id and e.compound_id == cid and e.at == world.clock.now()
        for e in entries
    )
    assert entries[-1].details["reason"] == "骚扰 邻居"


def kicks(outcome: Outcome) -> list[Kick]:
    return [e for e in outcome.effects if isinstance(e, Kick)]


async def test_warnings_escalate_to_a_timed_mute_at_the_limit(world: World) -> None:
    service = world.service()  # warn_limit 3 within 7 days, 1 hour mute
    cid = world.compound.id
    first = await service.warn(OFFICER, RESIDENT, cid, "人身攻击", RoomPower(10, 0, 10))
    assert kinds(first) == [TellUser, Report]
    assert first.effects[0].params["count"] == 1  # type: ignore[union-attr]
    rendered(first)

    world.clock.advance(timedelta(days=8))  # the first warning has expired
    for _ in range(2):
        outcome = await service.warn(OFFICER, RESIDENT, cid, "人身攻击", RoomPower(10, 0, 10))
        assert SetPowerLevel not in kinds(outcome)
    third = await service.warn(OFFICER, RESIDENT, cid, "又一次", RoomPower(10, 0, 10))
    # The mute first: if the homeserver refuses it, the edge sends nothing of the warning
    # either (and takes the records back), so nothing is announced that did not happen.
    assert third.effects[0] == SetPowerLevel(ROOM, RESIDENT, 9)
    keys = [e.key for e in third.effects if isinstance(e, Report | TellUser)]
    assert keys == [
        "moderation.notice.warning",
        "moderation.report.warn",
        "moderation.notice.warn_mute",
        "moderation.report.warn_mute",
    ]
    rendered(third)

    # the used-up warnings do not mute again; a fresh set of three does, after the mute
    fourth = await service.warn(OFFICER, RESIDENT, cid, "x", RoomPower(9, 0, 10))
    assert SetPowerLevel not in kinds(fourth)
    world.clock.advance(timedelta(hours=1))
    assert (await service.due())[0] == SetPowerLevel(ROOM, RESIDENT, 10, only_if_level=9)
    for _ in range(2):
        last = await service.warn(OFFICER, RESIDENT, cid, "x", RoomPower(10, 0, 10))
    assert SetPowerLevel in kinds(last)
    actions = [a for a, _ in await audit_actions(world)]
    assert actions.count("warn") == 7 and actions.count("warn_mute") == 2


async def test_redact_as_a_reply(world: World) -> None:
    service = world.service()
    cid = world.compound.id
    outcome = await service.redact(OFFICER, cid, "$abc:hs", "广告", sender=RESIDENT)
    assert outcome.effects[0] == Redact(ROOM, "$abc:hs", "广告")
    rendered(outcome)
    unknown_sender = await service.redact(OFFICER, cid, "$def:hs")
    assert unknown_sender.effects[0] == Redact(ROOM, "$def:hs", "")
    rendered(unknown_sender)
    for bad in ("abc", "", "$", "$a b"):
        refused = await service.redact(OFFICER, cid, bad)
        assert refused.refusal is not None and refused.effects == ()
        assert refused.refusal.key == "moderation.refused.invalid_event"
    assert await audit_actions(world) == [("redact", RESIDENT), ("redact", None)]


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(seconds=-5), timedelta(days=400)])
async def test_mute_durations_are_bounded(world: World, duration: timedelta) -> None:
    outcome = await world.service().mute(OFFICER, RESIDENT, world.compound.id, duration, "", PLAIN)
    assert outcome.refusal is not None and outcome.refusal.key == "moderation.refused.duration"
    TRANSLATOR.render("zh-CN", outcome.refusal.key, **outcome.refusal.params)


async def test_due_can_be_limited_to_owned_compounds(world: World) -> None:
    service = world.service()
    await service.mute(OFFICER, RESIDENT, world.compound.id, timedelta(minutes=5), "", PLAIN)
    later = world.clock.now() + timedelta(minutes=5)
    assert await service.due(later, compound_ids=[world.compound.id + 1]) == []
    assert len(await service.due(later, compound_ids=[world.compound.id])) == 2
    assert not await service.is_muted_by_bot(ROOM, RESIDENT)


async def test_active_mutes_are_listed(world: World) -> None:
    service: ModerationService = world.service()
    await service.mute(OFFICER, RESIDENT, world.compound.id, timedelta(hours=1), "x", PLAIN)
    await service.ban(OFFICER, OTHER, world.compound.id, "x")
    mutes = await service.active_mutes(world.compound.id)
    assert [(m.user_id, m.kind) for m in mutes] == [(RESIDENT, RestrictionKind.MUTE)]
    assert await service.is_muted_by_bot(ROOM, RESIDENT)
    assert mutes[0].ends_at == world.clock.now() + timedelta(hours=1)


def test_moderation_messages_have_both_locales_and_matching_fields() -> None:
    # Compared as frozensets here: Translator.problems() compares set reprs, whose order
    # depends on PYTHONHASHSEED, so it flags equal field sets at random.
    import string

    def fields(template: str) -> frozenset[str]:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)

    for key, templates in MESSAGES.items():
        assert set(templates) == {loc.value for loc in Locale}, key
        assert len({fields(t) for t in templates.values()}) == 1, key



async def test_muting_again_while_the_tick_lifts_the_first_mute_mutes_anew(world: World) -> None:
    """The race of a ``!mute`` with the tick that ends the same mute: the change of end finds
    the mute lifted, so a new one is recorded, restoring the level from before the first."""
    service = world.service()
    await service.mute(
        OFFICER, RESIDENT, world.compound.id, timedelta(hours=1), "", RoomPower(10, 0, 10)
    )
    real_active = service.repo.active

    async def active_then_lifted_by_the_tick(*args: object) -> object:
        found = await real_active(*args)  # type: ignore[arg-type]
        if found is not None:
            await service.repo.lift(found.id, "tick")
        return found

    service.repo.active = active_then_lifted_by_the_tick  # type: ignore[method-assign]
    again = await service.mute(
        OFFICER, RESIDENT, world.compound.id, timedelta(hours=3), "再犯", RoomPower(10, 0, 10)
    )
    service.repo.active = real_active  # type: ignore[method-assign]
    assert again.effects[0] == SetPowerLevel(ROOM, RESIDENT, 9)
    assert [e.key for e in again.effects if isinstance(e, Report)] == ["moderation.report.mute"]
    world.clock.advance(timedelta(hours=3))
    assert (await service.due())[0] == SetPowerLevel(ROOM, RESIDENT, 10, only_if_level=9)
