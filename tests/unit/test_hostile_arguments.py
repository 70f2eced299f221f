"""Odd arguments, as people (and people testing the bot) type them: huge numbers, thousands of
digits, unicode look-alikes, zero-width and control characters, negative and overflowing
values. Every bad argument gets the command's usage line and echoes a short excerpt at most;
nothing raises past the router."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linli.bot.commands.router import Arg, ArgKind, Command, CommandContext, Router, Where
from linli.bot.messages import all_catalogs
from linli.common.clock import FakeClock
from linli.common.durations import parse_duration
from linli.common.errors import DomainError
from linli.common.events import MessagePosted
from linli.common.i18n import Translator
from linli.common.ids import EventID, RoomID, UserID, parse_user_id
from linli.community.model import AdmissionMode, Compound, Role
from linli.storage.db import Database
from tests.unit.verification.fixtures import make_world

T = Translator(all_catalogs())
COMPOUND = Compound(id=1, slug="meiyuan", name="梅园", station_id=1,  # type: ignore[arg-type]
                    room_id=RoomID("!r:hs"), admission_mode=AdmissionMode.MUTE)
OFFICER = frozenset({Role.RESIDENT, Role.OFFICER})
MAX_REPLY = 600  # characters: a usage line and a short excerpt, never the whole argument

HOSTILE_DURATIONS = [
    "99999999999999999999d",   # OverflowError in timedelta
    "9" * 5000 + "d",          # ValueError: int() of more than 4300 digits
    "x" * 6000,                # echoed whole, the reply was too large to send
    "-5m", "0s", "+5m", "1e9d", "5m" * 3000, "1\u200bd", "\u202e5d", "5\u0000m",
    "٣d",                      # Arabic-Indic digit
    "５分钟" * 2000,
    "9223372036854775807s", "1" + "0" * 400 + "s", "∞d", "NaNh",
]
HOSTILE_USERS = [
    "@" + "a" * 300 + ":hs",           # longer than 255 bytes
    "@a:" + "h" * 300,
    "@a:hs:99999",                     # port above 65535
    "@a:hs:65536", "@a:hs:", "@a:hs:1234567", "@a:hs:-1", "@a::hs", "@a:hs::80",
    "@a:[zz::1]", "@a:[::1", "@a:hs\u200b", "@\u200ba:hs", "@ａ:hs", "@a:ｈｓ",
    "@a:hs/path", "@a:h_s", "@:hs", "@a:", "@a", "a:hs", "@" * 6000,
    "@a:" + "9" * 5000,
]


def router_with(calls: list[dict[str, Any]]) -> Router:
    router = Router(T)

    async def handler(ctx: CommandContext, args: dict[str, Any]) -> None:
        calls.append(args)
        await ctx.reply_text("ok")

    router.add([
        Command("mute", handler, "help.help", roles=OFFICER,
                args=(Arg("user", ArgKind.USER), Arg("duration", ArgKind.DURATION),
                      Arg("reason", ArgKind.TEXT)), where=Where.COMPOUND),
        Command("show", handler, "help.help", roles=OFFICER, args=(Arg("n", ArgKind.INT),)),
    ])
    return router


def ctx_for(body: str, replies: list[str], locale: str = "en") -> CommandContext:
    event = MessagePosted(RoomID("!r:hs"), EventID("$e"), UserID("@wang:hs"),
                          datetime(2026, 1, 1, tzinfo=UTC), body=body)

    async def reply(text: str, html: str | None) -> EventID:
        replies.append(text)
        return EventID("$reply")

    return CommandContext(event=event, sender=event.sender, room_id=event.room_id,
                          roles=OFFICER, locale=locale, compound=COMPOUND, station=None,
                          translator=T, reply_fn=reply)


async def answer(body: str, locale: str = "en") -> tuple[list[str], list[dict[str, Any]]]:
    replies: list[str] = []
    calls: list[dict[str, Any]] = []
    assert await router_with(calls).dispatch(ctx_for(body, replies, locale))
    return replies, calls


@pytest.mark.parametrize("duration", HOSTILE_DURATIONS)
@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_a_hostile_duration_gets_the_usage_line(duration: str, locale: str) -> None:
    replies, calls = await answer(f"!mute @zhang:hs {duration} spam", locale)
    assert calls == []
    assert len(replies) == 1
    assert ("Usage: !mute USER DURATION REASON" if locale == "en"
            else "用法：!mute USER DURATION REASON") in replies[0]
    assert len(replies[0]) < MAX_REPLY
    assert "ref" not in replies[0] and "编号" not in replies[0]


@pytest.mark.parametrize("user", HOSTILE_USERS)
async def test_a_hostile_user_id_gets_the_usage_line(user: str) -> None:
    replies, calls = await answer(f"!mute {user} 5m spam")
    assert calls == []
    assert len(replies) == 1 and "Usage: !mute USER DURATION REASON" in replies[0]
    assert len(replies[0]) < MAX_REPLY


@pytest.mark.parametrize("number", ["9" * 5000, "-1", "1.5", "٣", "#", "1e3", "0x10",
                                    "99999999999999999999999"])
async def test_a_hostile_number_gets_the_usage_line(number: str) -> None:
    replies, calls = await answer(f"!show {number}")
    assert calls == []
    assert len(replies) == 1 and "Usage: !show N" in replies[0]
    assert len(replies[0]) < MAX_REPLY


async def test_good_arguments_still_parse() -> None:
    _, calls = await answer("!mute @zhang:hs 1h30m spam")
    assert calls == [{"user": "@zhang:hs", "duration": timedelta(minutes=90),
                      "reason": "spam"}]
    _, calls = await answer("!show #42")
    assert calls == [{"n": 42}]


@pytest.mark.parametrize("text", HOSTILE_DURATIONS)
def test_parse_duration_raises_only_its_own_error(text: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_duration(text)
    assert len(str(info.value.params.get("value", ""))) <= 41


@pytest.mark.parametrize("good", [
    "@a:example.org", "@a:hs:8448", "@a:hs:65535", "@a:1.2.3.4", "@a:1.2.3.4:8008",
    "@a:[::1]", "@a:[2001:db8::1]:8448", "@alice.b=c_d-e/f+g:matrix.org",
    "@" + "a" * 240 + ":hs.org",   # 251 bytes in all
    "@Old!Style:hs",               # historical user ids are still valid
])
def test_valid_user_ids(good: str) -> None:
    assert parse_user_id(good) == good


@pytest.mark.parametrize("bad", HOSTILE_USERS)
def test_invalid_user_ids(bad: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_user_id(bad)
    assert info.value.key == "error.invalid_user_id"
    assert len(info.value.params["value"]) <= 41


def test_excerpt_is_short_and_visible() -> None:
    from linli.common.errors import excerpt

    assert excerpt("5m") == "5m"
    assert excerpt("x" * 6000) == "x" * 40 + "…"
    assert excerpt("1\u200bd\u202e\n\u0000") == "1d"


async def test_extending_a_deadline_past_what_dates_hold_is_refused(
    sqlite_db: Database, clock: FakeClock
) -> None:
    """``!extend @u 9999999d`` went past year 9999 ("date value out of range")."""
    w = await make_world(sqlite_db, clock)
    user = UserID("@zhang:hs")
    await w.service.on_join(w.compound, user)
    for days in (9_999_999, 36_500, 366):
        with pytest.raises(DomainError) as info:
            await w.service.extend(w.compound, "@wang:hs", user, timedelta(days=days))
        assert info.value.key == "verification.extend.too_long"
    result = await w.service.extend(w.compound, "@wang:hs", user, timedelta(days=365))
    assert result.report_key == "verification.officers.extended"
