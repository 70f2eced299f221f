"""Officers' moderation commands end to end in one process: the real router, feature, service
and database, a recording stand-in for the homeserver, each command in a unit of work as the
runtime runs it. Only members of the room are acted on (a ban may target anyone); what the
audit and the restrictions record is what the homeserver carried out; a mute's end takes
verification's state into account, also when the member was revoked while muted."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nio import RoomMessageText

from linli.bot.commands.router import CommandContext, Router
from linli.bot.features.moderation.feature import ModerationFeature
from linli.bot.matrix.gateway import (
    MatrixActionError,
    PowerLevelsEdits,
    RoomInfo,
    Unreachable,
    event_of,
)
from linli.bot.matrix.translate import translate
from linli.bot.messages import all_catalogs
from linli.common.clock import FakeClock
from linli.common.events import MessagePosted
from linli.common.i18n import Translator
from linli.common.ids import EventID, RoomID, UserID
from linli.moderation.model import RestrictionKind
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from tests.unit.moderation.world import BOT, OFFICER, OTHER, RESIDENT, ROOM, World, build_world

T = Translator(all_catalogs())
GHOST = "@ghost:hs"  # never in the room
LEFT = "@left:hs"    # was in the room, left
INVITED = "@invited:hs"


class FakeNioClient:
    def __init__(self, senders: dict[str, str]) -> None:
        self.senders = senders
        self.asked: list[Any] = []

    async def room_get_event(self, room_id: str, event_id: Any) -> Any:
        from nio import RoomGetEventError, RoomGetEventResponse

        self.asked.append(event_id)
        if not isinstance(event_id, str):
            raise TypeError("event id must be a string")
        sender = self.senders.get(event_id)
        if sender is None:
            return RoomGetEventError("not found", "M_NOT_FOUND")
        event = RoomMessageText.from_dict({
            "type": "m.room.message", "event_id": event_id, "sender": sender,
            "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "ad"},
        })
        return RoomGetEventResponse.from_dict(event.source)


class FakeGateway(PowerLevelsEdits):
    user_id = BOT

    def __init__(self) -> None:
        self.pl: dict[str, Any] = {"users": {BOT: 100, RESIDENT: 1, OTHER: 1},
                                   "events_default": 1}
        self.members = {RESIDENT: "join", OTHER: "join", LEFT: "leave", INVITED: "invite",
                        OFFICER: "join"}
        self.calls: list[tuple[Any, ...]] = []
        self.failures: dict[str, list[Exception]] = {}
        self.client = FakeNioClient({"$ad": RESIDENT})
        self._lock = asyncio.Lock()

    def power_levels_lock(self, room_id: str) -> asyncio.Lock:
        return self._lock

    async def room_event(self, room_id: str, event_id: Any) -> Any:
        return event_of(await self.client.room_get_event(room_id, event_id))

    def _call(self, name: str, *args: Any) -> None:
        queued = self.failures.get(name)
        if queued:
            raise queued.pop(0)
        self.calls.append((name, *args))

    async def room_info(self, room_id: str) -> RoomInfo:
        return RoomInfo(RoomID(room_id), "12", {"@founder:hs"})

    async def state_event(self, room_id: str, event_type: str,
                          state_key: str = "") -> dict[str, Any]:
        if event_type == "m.room.member":
            if state_key not in self.members:
                raise MatrixActionError("read m.room.member", "M_NOT_FOUND", "no event")
            return {"membership": self.members[state_key]}
        return copy.deepcopy(self.pl)

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any],
                        state_key: str = "") -> None:
        self._call("put_state", copy.deepcopy(content["users"]))
        self.pl = copy.deepcopy(content)

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self._call("kick", user_id)

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self._call("ban", user_id)

    async def unban(self, room_id: str, user_id: str) -> None:
        self._call("unban", user_id)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        self._call("redact", event_id)

    async def send_text(self, room_id: str, body: str, html: str | None = None) -> EventID:
        self._call("send_text", room_id, body)
        return EventID("$sent")


class FakeDms:
    def __init__(self, gateway: FakeGateway) -> None:
        self.gateway = gateway

    async def send(self, user_id: str, body: str, html: str | None = None) -> EventID:
        self.gateway._call("dm", user_id, body)
        return EventID("$dm")


class Bench:
    def __init__(self, world: World, granted: dict[str, int | None] | None = None) -> None:
        self.world = world
        self.gateway = FakeGateway()
        self.granted: dict[str, int | None] = granted or {}
        self.service = world.service()
        self.feature = ModerationFeature(
            self.service, None, self.gateway, FakeDms(self.gateway), T,  # type: ignore[arg-type]
            granted_level=self.granted_level,
        )
        self.router = Router(T)
        self.router.add(self.feature.commands())
        self.count = 0

    async def granted_level(self, room_id: str, user_id: str) -> int | None:
        return self.granted.get(user_id)

    async def command(self, body: str, reply_to: str | None = None,
                      event: MessagePosted | None = None) -> str:
        """Run ``body`` as the officer in the compound room, in a unit of work."""
        self.count += 1
        event = event or MessagePosted(
            RoomID(ROOM), EventID(f"$cmd{self.count}"), UserID(OFFICER),
            datetime(2026, 3, 2, tzinfo=UTC), body=body,
            reply_to=EventID(reply_to) if reply_to else None)
        replies: list[str] = []

        async def reply(text: str, html: str | None) -> EventID:
            replies.append(text)
            return EventID("$reply")

        directory = self.world.directory
        ctx = CommandContext(
            event=event, sender=event.sender, room_id=event.room_id,
            roles=directory.roles_in_compound(OFFICER, self.world.compound), locale="en",
            compound=self.world.compound, station=self.world.station, translator=T,
            reply_fn=reply)
        async with self.world.db.unit_of_work():
            assert await self.router.dispatch(ctx)
        assert len(replies) == 1, replies
        return replies[0]

    async def audit(self) -> list[tuple[str, str | None]]:
        entries = await AuditRepository(self.world.db, self.world.clock).recent()
        return [(e.action, e.target) for e in reversed(entries)]

    async def active(self, user: str, kind: RestrictionKind) -> bool:
        return await self.service.repo.active(ROOM, user, kind) is not None

    def level(self, user: str) -> int | None:
        value = self.gateway.pl["users"].get(user)
        return None if value is None else int(value)

    async def tick(self, advance: timedelta) -> None:
        self.world.clock.advance(advance)
        async with self.world.db.unit_of_work():
            await self.feature.tick(self.world.clock.now())


@pytest.fixture
async def bench(sqlite_db: Database) -> Bench:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    return Bench(await build_world(sqlite_db, clock))


# user ids: only members of the room ---------------------------------------------------------
@pytest.mark.parametrize("target", [GHOST, LEFT])
@pytest.mark.parametrize("command", ["!mute {} 5m spam", "!warn {} spam", "!kick {} spam"])
async def test_only_members_of_the_room_are_acted_on(
    bench: Bench, command: str, target: str
) -> None:
    reply = await bench.command(command.format(target))
    assert "not a member of this room" in reply and target in reply
    assert bench.gateway.calls == []
    assert target not in bench.gateway.pl["users"]
    assert await bench.audit() == []
    assert not await bench.active(target, RestrictionKind.MUTE)


async def test_an_invitation_can_be_withdrawn_with_a_kick_but_not_muted(bench: Bench) -> None:
    assert "not a member of this room" in await bench.command(f"!mute {INVITED} 5m spam")
    assert "Removed" in await bench.command(f"!kick {INVITED} spam")
    assert ("kick", INVITED) in bench.gateway.calls


async def test_a_ban_may_target_someone_who_never_joined(bench: Bench) -> None:
    assert "Banned" in await bench.command(f"!ban {GHOST} known spammer")
    assert ("ban", GHOST) in bench.gateway.calls
    assert await bench.active(GHOST, RestrictionKind.BAN)


@pytest.mark.parametrize("target", ["@a:hs:99999", "@" + "a" * 300 + ":hs", "@a:[zz::1]"])
async def test_ids_outside_the_grammar_are_refused_with_the_usage(
    bench: Bench, target: str
) -> None:
    reply = await bench.command(f"!mute {target} 5m spam")
    assert "Usage: !mute USER DURATION REASON" in reply and len(reply) < 600
    assert bench.gateway.calls == []


# the outcome, not the intent ----------------------------------------------------------------
@pytest.mark.parametrize(("command", "call", "action"), [
    (f"!kick {RESIDENT} spam", "kick", "kick"),
    (f"!ban {RESIDENT} spam", "ban", "ban"),
    (f"!mute {RESIDENT} 5m spam", "put_state", "mute"),
])
async def test_a_refused_action_is_recorded_as_refused(
    bench: Bench, command: str, call: str, action: str
) -> None:
    bench.gateway.failures[call] = [MatrixActionError(call, "M_FORBIDDEN", "not allowed")]
    reply = await bench.command(command)
    assert "M_FORBIDDEN" in reply
    assert await bench.audit() == [(f"{action}_failed", RESIDENT)]
    assert not await bench.active(RESIDENT, RestrictionKind.BAN)
    assert not await bench.active(RESIDENT, RestrictionKind.MUTE)
    assert [c for c in bench.gateway.calls if c[0] == "send_text"] == []  # no report
    assert bench.level(RESIDENT) == 1
    # and the officer can try again once the room is fixed
    reply = await bench.command(command)
    assert "M_FORBIDDEN" not in reply
    assert (action, RESIDENT) in await bench.audit()


async def test_a_refused_ban_leaves_no_ban_to_lift(bench: Bench) -> None:
    bench.gateway.failures["ban"] = [MatrixActionError("ban", "M_FORBIDDEN", "not allowed")]
    await bench.command(f"!ban {RESIDENT} spam")
    assert "was not banned by the bot" in await bench.command(f"!unban {RESIDENT}")


async def test_a_passing_failure_rolls_everything_back_for_a_retry(bench: Bench) -> None:
    bench.gateway.failures["kick"] = [Unreachable("kick", "connection refused")]
    with pytest.raises(Unreachable):
        await bench.command(f"!kick {RESIDENT} spam")
    assert await bench.audit() == []


# !redact of odd events ----------------------------------------------------------------------
@pytest.mark.parametrize("relates", [
    {"m.in_reply_to": {"event_id": 12345}}, {"m.in_reply_to": {"event_id": ["$ad"]}},
    {"m.in_reply_to": {"event_id": "12345"}}, {"m.in_reply_to": {"event_id": "$" + "x" * 6000}},
    {"m.in_reply_to": {"event_id": "$nope"}}, {"m.in_reply_to": 7}, "x",
])
async def test_redact_of_an_odd_reply_answers_without_a_traceback(
    bench: Bench, relates: Any
) -> None:
    nio_event = RoomMessageText.from_dict({
        "type": "m.room.message", "event_id": "$cmd", "sender": OFFICER,
        "origin_server_ts": 1,
        "content": {"msgtype": "m.text", "body": "!redact spam", "m.relates_to": relates},
    })
    event = translate(ROOM, nio_event)
    assert isinstance(event, MessagePosted)
    reply = await bench.command("", event=event)
    assert "ref" not in reply and len(reply) < 600
    assert ("as a reply to the message" in reply or "not a valid message id" in reply), reply
    assert all(isinstance(e, str) and len(e) < 300 for e in bench.gateway.client.asked)
    assert await bench.audit() == []


async def test_redact_as_a_reply_still_works(bench: Bench) -> None:
    assert "removed" in (await bench.command("!redact spam", reply_to="$ad")).lower()
    assert ("redact", "$ad") in bench.gateway.calls
    assert await bench.audit() == [("redact", RESIDENT)]


# a mute's end and verification --------------------------------------------------------------
async def test_a_member_revoked_while_muted_cannot_post_when_the_mute_ends(
    bench: Bench,
) -> None:
    bench.granted[RESIDENT] = 1  # verified: level 1 is verification's
    await bench.command(f"!mute {RESIDENT} 1h spam")
    assert bench.level(RESIDENT) == 0
    bench.granted[RESIDENT] = 0  # !revoke while muted: verification grants nothing now
    await bench.tick(timedelta(hours=1))
    assert bench.level(RESIDENT) is None  # back to users_default: cannot post


async def test_a_member_revoked_while_muted_and_unmuted_by_hand_cannot_post(
    bench: Bench,
) -> None:
    bench.granted[RESIDENT] = 1
    await bench.command(f"!mute {RESIDENT} 1h spam")
    bench.granted[RESIDENT] = 0
    await bench.command(f"!unmute {RESIDENT}")
    assert bench.level(RESIDENT) is None


@pytest.mark.parametrize(("level", "granted_at_mute", "granted_at_end", "after"), [
    (1, 1, 1, 1),      # verified all along
    (1, 0, 0, 1),      # pending, given level 1 by hand: the hand-set level stays
    (1, None, None, 1),  # verification has no say (knock room, unknown member)
    (None, 0, 1, 1),   # pending when muted, verified while muted
    (None, 0, 0, None),
    (5, 1, 0, 5),      # a level set by hand above verification's stays
    (1, 0, 1, 1),      # set by hand, then verified
])
async def test_the_level_after_a_mute_from_every_features_state(
    bench: Bench, level: int | None, granted_at_mute: int | None,
    granted_at_end: int | None, after: int | None,
) -> None:
    if level is None:
        bench.gateway.pl["users"].pop(RESIDENT)
    else:
        bench.gateway.pl["users"][RESIDENT] = level
    bench.granted[RESIDENT] = granted_at_mute
    await bench.command(f"!mute {RESIDENT} 1h spam")
    bench.granted[RESIDENT] = granted_at_end
    await bench.tick(timedelta(hours=1))
    assert bench.level(RESIDENT) == after



# hostile arguments --------------------------------------------------------------------------
ODD = ["", "0", "-1", "9" * 5000, "x" * 6000, "\u200b", "\u202e", "＠zhang:hs",
       "99999999999999999999d", "9999999d", "１ｈ", "\u0000", '"', "“张伟",
       "https://matrix.to/#/%40zhang%3Ahs", "@a:hs:99999", "@" + "a" * 300 + ":hs"]


@pytest.mark.parametrize("name", ["mute", "unmute", "kick", "ban", "unban", "warn", "redact"])
async def test_odd_arguments_get_an_answer_never_a_traceback(bench: Bench, name: str) -> None:
    for odd in ODD:
        for body in (f"!{name} {odd}", f"!{name} {RESIDENT} {odd}",
                     f"!{name} {RESIDENT} {odd} {odd}"):
            reply = await bench.command(body)
            assert "(ref:" not in reply and len(reply) < 700, (body[:60], reply[:200])
