"""Officers' verification commands and the router's refusals, in one process: the real router,
verification feature, service and database, a recording stand-in for the homeserver.

- A refusal says who may run the command: officers and admins, or staff and admins, or, to
  someone who holds that role elsewhere, only this compound's (station's) officers.
- ``!pending OTHER-SLUG`` in a compound room lists nothing of another compound (and no longer
  lists this room's pending accounts instead).
- Any ``!verify`` that carries a name is redacted, whoever sent it and wherever, even when the
  router refuses it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from linli.bot.commands.router import Command, CommandContext, Router, Where
from linli.bot.features.verification.feature import VerificationFeature
from linli.bot.matrix.gateway import PowerLevelsEdits, RoomInfo
from linli.bot.messages import all_catalogs
from linli.common.clock import FakeClock
from linli.common.events import MessagePosted
from linli.common.i18n import Translator
from linli.common.ids import EventID, RoomID, UserID
from linli.community.model import ALL_ROLES, STAFF_ROLES, Directory, Role, StaffGrant
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from tests.unit.verification.fixtures import make_world

T = Translator(all_catalogs())
OFFICER = UserID("@wang:hs")
STRANGER_OFFICER = UserID("@zhao:hs")  # an officer of another station
RESIDENT = UserID("@zhang:hs")
WAITING = UserID("@waiting:hs")
ROOM = RoomID("!room:hs")
OFFICERS_ROOM = RoomID("!off:hs")
DM = RoomID("!dm:hs")


# the router's refusals ------------------------------------------------------------------------
def refusal_router() -> Router:
    router = Router(T)

    async def ok(ctx: CommandContext, args: dict[str, Any]) -> None:
        await ctx.reply_text("ok")

    def anywhere(user: str) -> frozenset[Role]:
        return frozenset({Role.OFFICER}) if user == STRANGER_OFFICER else frozenset()

    router.roles_anywhere = anywhere
    router.add([
        Command("mute", ok, "help.help", roles=frozenset({Role.OFFICER, Role.ADMIN}),
                where=Where.COMPOUND, roles_anywhere=anywhere),
        Command("pending", ok, "help.help", roles=frozenset({Role.OFFICER, Role.ADMIN}),
                where=Where.STAFF_ROOMS, roles_anywhere=anywhere),
        Command("questions", ok, "help.help", roles=STAFF_ROLES | {Role.ADMIN},
                where=Where.OFFICERS),
        Command("status", ok, "help.help", roles=frozenset({Role.OFFICER, Role.ADMIN})),
    ])
    return router


def router_ctx(body: str, sender: str, roles: frozenset[Role], replies: list[str], *,
               compound: bool = True, locale: str = "en") -> CommandContext:
    from linli.community.model import AdmissionMode, Compound, Station

    event = MessagePosted(ROOM if compound else OFFICERS_ROOM, EventID("$e"), UserID(sender),
                          datetime(2026, 1, 1, tzinfo=UTC), body=body)

    async def reply(text: str, html: str | None) -> EventID:
        replies.append(text)
        return EventID("$r")

    station = Station(id=1, slug="xinhua", name="新华派出所",  # type: ignore[arg-type]
                      officers_room_id=OFFICERS_ROOM)
    here = Compound(id=1, slug="meiyuan", name="梅园", station_id=1,  # type: ignore[arg-type]
                    room_id=ROOM, admission_mode=AdmissionMode.MUTE) if compound else None
    return CommandContext(event=event, sender=event.sender, room_id=event.room_id, roles=roles,
                          locale=locale, compound=here, station=station, translator=T,
                          reply_fn=reply)


RESIDENT_ROLES = frozenset({Role.RESIDENT})


@pytest.mark.parametrize(("body", "sender", "compound", "expected"), [
    # a resident: who may run it, by the command's roles
    ("!mute @a:hs 1h x", RESIDENT, True, "Sorry, !mute is for community officers and admins"),
    ("!status", RESIDENT, True, "Sorry, !status is for community officers and admins"),
    ("!questions", RESIDENT, False, "Sorry, !questions is for staff (officers, property "
                                    "managers, community and judicial workers) and admins"),
    # an officer of another station: here it is this compound's (station's) officers only
    ("!mute @a:hs 1h x", STRANGER_OFFICER, True, "only this compound's officers and admins"),
    ("!pending", STRANGER_OFFICER, True, "only this compound's officers and admins"),
    ("!pending", STRANGER_OFFICER, False, "only this station's officers and admins"),
    # commands that do not say their own: the router's default
    ("!status", STRANGER_OFFICER, True, "only this compound's officers and admins"),
])
async def test_a_refusal_says_who_may_run_the_command(
    body: str, sender: str, compound: bool, expected: str
) -> None:
    for locale in ("en", "zh-CN"):
        replies: list[str] = []
        assert await refusal_router().dispatch(
            router_ctx(body, sender, RESIDENT_ROLES, replies, compound=compound, locale=locale))
        assert len(replies) == 1
        if locale == "en":
            assert expected in replies[0], replies[0]
        else:
            assert replies[0].startswith("抱歉")
            assert ("物业" in replies[0]) == ("staff" in expected)
            assert ("本小区" in replies[0]) == ("this compound's" in expected)
            assert ("本所" in replies[0]) == ("this station's" in expected)


def test_every_message_exists_in_both_languages() -> None:
    assert T.problems() == []


# the verification feature ---------------------------------------------------------------------
class FakeGateway(PowerLevelsEdits):
    user_id = "@linli:hs"

    def __init__(self) -> None:
        self.pl: dict[str, Any] = {"users": {}, "events_default": 1}
        self.calls: list[tuple[Any, ...]] = []
        self._lock = asyncio.Lock()

    def power_levels_lock(self, room_id: str) -> asyncio.Lock:
        return self._lock

    async def room_info(self, room_id: str) -> RoomInfo:
        return RoomInfo(RoomID(room_id), "12", {"@linli:hs"})

    async def state_event(self, room_id: str, event_type: str,
                          state_key: str = "") -> dict[str, Any]:
        return dict(self.pl)

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any],
                        state_key: str = "") -> None:
        self.calls.append(("put_state", room_id))
        self.pl = content

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        self.calls.append(("redact", room_id, event_id))

    async def send_text(self, room_id: str, body: str, html: str | None = None,
                        **_: Any) -> EventID:
        self.calls.append(("send_text", room_id, body))
        return EventID("$sent")

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        self.calls.append(("kick", room_id, user_id))

    async def invite(self, room_id: str, user_id: str) -> None:
        self.calls.append(("invite", room_id, user_id))


class FakeDms:
    def __init__(self, gateway: FakeGateway) -> None:
        self.gateway = gateway

    async def send(self, user_id: str, body: str, html: str | None = None) -> EventID:
        self.gateway.calls.append(("dm", user_id, body))
        return EventID("$dm")


class Bench:
    def __init__(self, feature: VerificationFeature, gateway: FakeGateway,
                 directory: Directory, db: Database) -> None:
        self.feature, self.gateway, self.directory, self.db = feature, gateway, directory, db
        self.router = Router(T)
        self.router.add(feature.commands())
        self.count = 0

    async def command(self, body: str, sender: str, room: RoomID = ROOM) -> str:
        self.count += 1
        event = MessagePosted(room, EventID(f"$cmd{self.count}"), UserID(sender),
                              datetime(2026, 3, 2, tzinfo=UTC), body=body)
        compound = self.directory.compound_by_room(room)
        station = (self.directory.station_of(compound) if compound
                   else self.directory.station_by_officers_room(room))
        if compound is not None:
            roles = self.directory.roles_in_compound(sender, compound)
        elif station is not None:
            roles = self.directory.roles_in_station(sender, station)
        else:
            roles = self.directory.roles_in_room(sender, room)
        replies: list[str] = []

        async def reply(text: str, html: str | None) -> EventID:
            replies.append(text)
            return EventID("$reply")

        ctx = CommandContext(event=event, sender=event.sender, room_id=room, roles=roles,
                             locale="en", compound=compound, station=station, translator=T,
                             reply_fn=reply)
        async with self.db.unit_of_work():
            assert await self.router.dispatch(ctx)
        assert len(replies) == 1, replies
        return replies[0]

    def redacted(self) -> list[str]:
        return [c[2] for c in self.gateway.calls if c[0] == "redact"]


@pytest.fixture
async def bench(sqlite_db: Database) -> Bench:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    w = await make_world(sqlite_db, clock)
    community = CommunityRepository(sqlite_db, clock)
    station = await community.station("xinhua")
    other_station = await community.create_station("dongcheng", "东城派出所",
                                                   officers_room_id="!off2:hs")
    await community.create_compound(slug="taoyuan", name="桃园小区", station_id=station.id,
                                    room_id="!tao:hs")
    await community.create_compound(slug="lanyuan", name="兰园小区",
                                    station_id=other_station.id, room_id="!lan:hs")
    await community.add_grant(StaffGrant(OFFICER, Role.OFFICER, station_id=station.id))
    await community.add_grant(StaffGrant(STRANGER_OFFICER, Role.OFFICER,
                                         station_id=other_station.id))
    directory = await community.load_directory(config_admins=[])
    gateway = FakeGateway()
    feature = VerificationFeature(
        w.service, gateway, FakeDms(gateway), T, lambda: directory,  # type: ignore[arg-type]
    )
    await w.service.on_join(w.compound, WAITING)
    return Bench(feature, gateway, directory, sqlite_db)


@pytest.mark.parametrize(("body", "sender", "room"), [
    ("!verify @zhang:hs 3-2-301 张伟", RESIDENT, ROOM),      # a resident: refused
    ("!verify 张伟 3-2-301 @zhang:hs", RESIDENT, ROOM),      # in any order
    ("!verify @zhang:hs 3-2-301 Anna Berg", RESIDENT, ROOM),
    ("！verify @zhang:hs 3-2-301 张伟", RESIDENT, ROOM),      # the full-width prefix
    ("!verify @zhang:hs 3-2-301 张伟", STRANGER_OFFICER, ROOM),  # another station's officer
    ("!verify @zhang:hs 3-2-301 张伟", RESIDENT, DM),        # not a room for it
    ("!verify @waiting:hs 3-2-301 张伟", OFFICER, ROOM),     # done, redacted all the same
    ("!verify @waiting:hs meiyuan:9-9-999 王大锤", OFFICER, OFFICERS_ROOM),
])
async def test_a_verify_with_a_name_is_redacted_whoever_sent_it(
    bench: Bench, body: str, sender: str, room: RoomID
) -> None:
    await bench.command(body, sender, room)
    assert bench.redacted() == [f"$cmd{bench.count}"]  # once


@pytest.mark.parametrize("body", ["!verify", "!verify @zhang:hs", "!verify @zhang:hs 3-2-301"])
async def test_a_verify_without_a_name_is_left(bench: Bench, body: str) -> None:
    await bench.command(body, RESIDENT)
    assert bench.redacted() == []


async def test_pending_in_a_compound_room_lists_only_that_compound(bench: Bench) -> None:
    listing = await bench.command("!pending", OFFICER)
    assert WAITING in listing and "梅园小区" in listing
    assert WAITING in await bench.command("!pending meiyuan", OFFICER)
    for other in ("taoyuan", "lanyuan", "nosuch", "x" * 5000):
        reply = await bench.command(f"!pending {other}", OFFICER)
        assert WAITING not in reply and "waiting for verification" not in reply, reply
        assert "officers' room" in reply and len(reply) < 600
    # In the officers' room the argument picks the compound.
    assert "桃园小区" in await bench.command("!pending taoyuan", OFFICER, OFFICERS_ROOM)
    assert "not a compound of this station" in await bench.command(
        "!pending lanyuan", OFFICER, OFFICERS_ROOM)


async def test_verification_commands_name_this_compound_to_another_stations_officer(
    bench: Bench,
) -> None:
    for body in ("!pending", "!revoke @zhang:hs", "!extend @zhang:hs 2h"):
        reply = await bench.command(body, STRANGER_OFFICER)
        assert "only this compound's officers and admins" in reply, reply


def test_roles_anywhere() -> None:
    directory = Directory([], [], [StaffGrant(OFFICER, Role.OFFICER, station_id=1),  # type: ignore[arg-type]
                                   StaffGrant(OFFICER, Role.JUDICIAL, compound_id=2)],  # type: ignore[arg-type]
                          config_admins=["@root:hs"])
    assert directory.roles_anywhere(OFFICER) == {Role.OFFICER, Role.JUDICIAL}
    assert directory.roles_anywhere("@root:hs") == {Role.ADMIN}
    assert directory.roles_anywhere(RESIDENT) == frozenset()
    assert directory.roles_anywhere(OFFICER) <= ALL_ROLES



ODD = ["", "0", "-1", "9" * 5000, "x" * 6000, "\u200b", "\u202e", "＠zhang:hs",
       "99999999999999999999d", "9999999d", "36500d", "１ｈ", "\u0000", '"', "“张伟",
       "meiyuan:9-9-999", "meiyuan：3-2-301", "lanyuan:3-2-301", "@a:hs:99999"]


@pytest.mark.parametrize("name", ["verify", "revoke", "extend", "pending"])
async def test_odd_arguments_get_an_answer_never_a_traceback(bench: Bench, name: str) -> None:
    for room in (ROOM, OFFICERS_ROOM):
        for odd in ODD:
            for body in (f"!{name} {odd}", f"!{name} {WAITING} {odd}",
                         f"!{name} {WAITING} {odd} {odd}"):
                reply = await bench.command(body, OFFICER, room)
                assert "(ref:" not in reply and len(reply) < 700, (body[:60], reply[:200])
