"""The moderation feature's carrying out of effects, with a recording stand-in for the gateway:
order, conditional power-level writes, failures, and timed lifts retried on the next tick.
(The whole feature runs against a real Synapse in tests/integration/test_moderation.py.)"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from linli.bot.features.moderation.feature import ModerationFeature, room_power, split_by_action
from linli.bot.matrix.gateway import MatrixActionError, PowerLevelsEdits, RoomInfo, Unreachable
from linli.common.i18n import Translator, catalogue
from linli.common.ids import EventID, RoomID, UserID
from linli.moderation.model import (
    Effect,
    Kick,
    ModerationSettings,
    Redact,
    Report,
    RestrictionKind,
    RoomPower,
    SetPowerLevel,
    TellUser,
    Unban,
)

BOT = "@linli:hs"
ROOM = RoomID("!meiyuan:hs")
OFFICERS = RoomID("!officers:hs")
RES = UserID("@zhang:hs")
CREATOR = UserID("@founder:hs")
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class FakeGateway(PowerLevelsEdits):
    user_id = BOT

    def __init__(self) -> None:
        self.pl: dict[str, Any] = {"users": {RES: 0, "@wang:hs": 50}, "events_default": 1}
        self.calls: list[tuple[Any, ...]] = []
        self.failures: dict[str, list[Exception]] = {}
        self._lock = asyncio.Lock()

    def power_levels_lock(self, room_id: str) -> asyncio.Lock:
        return self._lock

    def _call(self, name: str, *args: Any) -> None:
        queued = self.failures.get(name)
        if queued:
            raise queued.pop(0)
        self.calls.append((name, *args))

    async def room_info(self, room_id: str) -> RoomInfo:
        return RoomInfo(RoomID(room_id), "12", {BOT, CREATOR})

    async def state_event(self, room_id: str, event_type: str) -> dict[str, Any]:
        return copy.deepcopy(self.pl)

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any]) -> None:
        self._call("put_state", room_id, copy.deepcopy(content["users"]))
        self.pl = copy.deepcopy(content)

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self._call("kick", room_id, user_id, reason)

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self._call("ban", room_id, user_id, reason)

    async def unban(self, room_id: str, user_id: str) -> None:
        self._call("unban", room_id, user_id)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        self._call("redact", room_id, event_id, reason)

    async def send_text(self, room_id: str, body: str, html: str | None = None) -> EventID:
        self._call("send_text", room_id, body)
        return EventID("$sent")


class FakeDms:
    def __init__(self, gateway: FakeGateway) -> None:
        self.gateway = gateway

    async def send(self, user_id: str, body: str, html: str | None = None) -> EventID:
        self.gateway._call("dm", user_id, body)
        return EventID("$dm")


class FakeRepo:
    async def count_active(self) -> dict[RestrictionKind, int]:
        return {RestrictionKind.MUTE: 2, RestrictionKind.BAN: 0}


class FakeService:
    """Hands out queued ``due`` batches, as the real service does: each once."""

    def __init__(self, *batches: list[Effect]) -> None:
        self.batches = list(batches)
        self.lifts_recorded: list[tuple[int, str | None]] = []
        self.repo = FakeRepo()
        self.settings = ModerationSettings()

    async def due(self, now: datetime) -> list[Effect]:
        return self.batches.pop(0) if self.batches else []

    async def due_lifts(
        self, now: datetime, compound_ids: Any = None
    ) -> list[tuple[Any, list[Effect]]]:
        return [(SimpleNamespace(id=i), group)
                for i, group in enumerate(split_by_action(await self.due(now)))]

    async def record_lift(self, restriction: Any, error: str | None = None) -> None:
        self.lifts_recorded.append((restriction.id, error))


def feature(gateway: FakeGateway, service: FakeService | None = None) -> ModerationFeature:
    return ModerationFeature(
        service or FakeService(),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # flood control is not used here
        gateway,  # type: ignore[arg-type]
        FakeDms(gateway),  # type: ignore[arg-type]
        Translator([catalogue("common"), catalogue("moderation")]),
    )


def report(user: str = RES) -> Report:
    return Report(OFFICERS, "en", "moderation.report.auto_unmute",
                  {"user": user, "compound": "Meiyuan"})


@pytest.mark.parametrize(
    ("levels", "user", "expected"),
    [
        ({}, RES, RoomPower(None, 0, 0)),
        ({"users": {RES: 1}, "events_default": 1}, RES, RoomPower(1, 0, 1)),
        ({"users": {RES: "5"}, "users_default": "2", "events_default": 1,
          "events": {"m.room.message": 10}}, RES, RoomPower(5, 2, 10)),
        ({"users": {"@other:hs": 50}, "users_default": 3}, RES, RoomPower(None, 3, 0)),
        ({"users": None, "events": None, "events_default": "bad"}, RES, RoomPower(None, 0, 0)),
    ],
)
def test_room_power_from_the_state_event(
    levels: dict[str, Any], user: str, expected: RoomPower
) -> None:
    assert room_power(levels, user) == expected


def test_due_effects_are_grouped_per_lift() -> None:
    a = SetPowerLevel(ROOM, RES, None, only_if_level=0)
    b = Unban(ROOM, UserID("@li:hs"))
    assert split_by_action([a, report(), b, report("@li:hs")]) == [[a, report()],
                                                                  [b, report("@li:hs")]]
    assert split_by_action([a, b]) == [[a], [b]]
    assert split_by_action([]) == []
    assert split_by_action([report()]) == [[report()]]


@pytest.mark.parametrize(
    ("effect", "users_after"),
    [
        # a mute writes the level unconditionally
        (SetPowerLevel(ROOM, RES, -1), {RES: -1, "@wang:hs": 50}),
        # a restore only while the level is still the one the bot set
        (SetPowerLevel(ROOM, RES, 1, only_if_level=0), {RES: 1, "@wang:hs": 50}),
        (SetPowerLevel(ROOM, RES, None, only_if_level=0), {"@wang:hs": 50}),
        (SetPowerLevel(ROOM, RES, 1, only_if_level=-1), {RES: 0, "@wang:hs": 50}),
        (SetPowerLevel(ROOM, UserID("@gone:hs"), 1, only_if_level=0),
         {RES: 0, "@wang:hs": 50}),
        # creators of version 12 rooms cannot be listed at all
        (SetPowerLevel(ROOM, CREATOR, -1), {RES: 0, "@wang:hs": 50}),
    ],
)
async def test_power_level_writes(effect: SetPowerLevel, users_after: dict[str, int]) -> None:
    gateway = FakeGateway()
    assert await feature(gateway).carry_out([effect]) is None
    assert gateway.pl["users"] == users_after
    written = [c for c in gateway.calls if c[0] == "put_state"]
    assert len(written) == (0 if users_after == {RES: 0, "@wang:hs": 50} else 1)


async def test_effects_run_in_order_and_undeliverable_messages_are_skipped() -> None:
    gateway = FakeGateway()
    notice = TellUser(RES, "en", "moderation.notice.warning",
                      {"compound": "Meiyuan", "count": 1, "limit": 3, "reason": "spam",
                       "duration": "1 h"})
    gateway.failures["dm"] = [MatrixActionError("create direct room", "M_FORBIDDEN", "no")]
    effects: list[Effect] = [
        Redact(ROOM, EventID("$ad"), "spam"), notice, Kick(ROOM, RES, ""), report(),
    ]
    assert await feature(gateway).carry_out(effects) is None
    assert [c[0] for c in gateway.calls] == ["redact", "kick", "send_text"]
    assert gateway.calls[1] == ("kick", ROOM, RES, None)  # no reason: none sent
    assert "Meiyuan" in gateway.calls[2][2]


async def test_a_failed_room_action_stops_the_rest() -> None:
    gateway = FakeGateway()
    effects: list[Effect] = [
        SetPowerLevel(ROOM, RES, -1), Kick(ROOM, RES, "x"), Unban(ROOM, RES), report(),
    ]
    gateway.failures["kick"] = [MatrixActionError("kick", "M_FORBIDDEN", "not allowed")]
    failure = await feature(gateway).carry_out(effects)
    assert failure is not None and failure.permanent and failure.describe() == "M_FORBIDDEN"
    assert failure.remaining == tuple(effects[1:])
    assert [c[0] for c in gateway.calls] == ["put_state"]  # no report of what did not happen


async def test_a_passing_failure_of_a_timed_lift_rolls_the_tick_back() -> None:
    """The runtime runs the tick in a unit of work: a passing failure propagates, the claims
    roll back, and the database offers the same lifts again on the next tick."""
    gateway = FakeGateway()
    lift = SetPowerLevel(ROOM, RES, 1, only_if_level=0)
    other = SetPowerLevel(ROOM, UserID("@wang:hs"), 51, only_if_level=50)
    batch = [lift, report(), other, report("@wang:hs")]
    service = FakeService(batch, batch)  # offered again: the first claim was rolled back
    moderation = feature(gateway, service)
    gateway.failures["put_state"] = [Unreachable("write", "connection refused")]

    with pytest.raises(Unreachable):
        await moderation.tick(NOW)
    assert gateway.calls == []

    await moderation.tick(NOW)
    assert gateway.pl["users"] == {RES: 1, "@wang:hs": 51}
    assert [c[0] for c in gateway.calls] == ["put_state", "send_text", "put_state", "send_text"]
    samples = {(s.name, tuple(s.labels.items())): s.value for s in await moderation.metrics()}
    assert samples[("linli_moderation_actions_total", (("action", "auto_unmute"),))] == 2


async def test_a_lift_the_server_refuses_for_good_is_not_retried() -> None:
    gateway = FakeGateway()
    service = FakeService([SetPowerLevel(ROOM, RES, 1, only_if_level=0), report()])
    moderation = feature(gateway, service)
    gateway.failures["put_state"] = [MatrixActionError("write", "M_FORBIDDEN", "no power")]
    await moderation.tick(NOW)
    await moderation.tick(NOW)
    assert gateway.calls == []
    # Audited as refused, not as done.
    assert service.lifts_recorded == [(0, "M_FORBIDDEN")]


@pytest.mark.parametrize(
    ("before", "granted", "after"),
    [
        (None, 1, 1),   # pending when muted, verified while muted: may post when it ends
        (0, 1, 1),      # a mute recorded again after a crash: its snapshot is the mute level
        (1, 1, 1),
        (10, 1, 10),    # a level set by hand stays
        (1, 0, 1),      # verification grants nothing: the level from before the mute
        (None, None, None),
    ],
)
async def test_the_level_after_a_mute_takes_verification_into_account(
    before: int | None, granted: int | None, after: int | None,
) -> None:
    gateway = FakeGateway()
    gateway.pl["users"][RES] = -1

    async def granted_level(room_id: str, user_id: str) -> int | None:
        return granted

    moderation = feature(gateway)
    moderation.granted_level = granted_level
    await moderation.carry_out([SetPowerLevel(ROOM, RES, before, only_if_level=-1)])
    assert gateway.pl["users"].get(RES) == after
