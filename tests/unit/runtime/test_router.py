"""The command router with a fake reply: typed arguments, roles, usage, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linli.bot.commands.router import Arg, ArgKind, Command, CommandContext, Router, Where
from linli.bot.messages import all_catalogs
from linli.common.errors import DomainError
from linli.common.events import MessagePosted
from linli.common.i18n import Translator
from linli.common.ids import EventID, RoomID, UserID
from linli.community.model import ALL_ROLES, AdmissionMode, Compound, Role

T = Translator(all_catalogs())
COMPOUND = Compound(id=1, slug="meiyuan", name="梅园", station_id=1, room_id=RoomID("!r:hs"),  # type: ignore[arg-type]
                    admission_mode=AdmissionMode.MUTE)
OFFICER_ONLY = frozenset({Role.OFFICER, Role.ADMIN})


def make_router(calls: list[dict[str, Any]]) -> Router:
    router = Router(T)

    async def extend(ctx: CommandContext, args: dict[str, Any]) -> None:
        calls.append(args)
        await ctx.reply_text("ok")

    async def boom(ctx: CommandContext, args: dict[str, Any]) -> None:
        raise RuntimeError("secret detail 13800138000")

    async def domain(ctx: CommandContext, args: dict[str, Any]) -> None:
        raise DomainError("error.invalid_duration", value="x")

    router.add([
        Command("extend", extend, "help.help", roles=OFFICER_ONLY,
                args=(Arg("user", ArgKind.USER), Arg("duration", ArgKind.DURATION),
                      Arg("reason", ArgKind.TEXT, optional=True)), where=Where.COMPOUND),
        Command("boom", boom, "help.help", roles=ALL_ROLES),
        Command("domain", domain, "help.help", roles=ALL_ROLES),
    ])
    return router


def ctx_for(
    body: str, roles: frozenset[Role], replies: list[str], locale: str = "en"
) -> CommandContext:
    event = MessagePosted(RoomID("!r:hs"), EventID("$e"), UserID("@u:hs"),
                          datetime(2026, 1, 1, tzinfo=UTC), body=body)

    async def reply(text: str, html: str | None) -> EventID:
        replies.append(text)
        return EventID("$reply")

    return CommandContext(event=event, sender=event.sender, room_id=event.room_id, roles=roles,
                          locale=locale, compound=COMPOUND, station=None, translator=T,
                          reply_fn=reply)


async def test_typed_arguments() -> None:
    calls: list[dict[str, Any]] = []
    replies: list[str] = []
    router = make_router(calls)
    assert await router.dispatch(
        ctx_for("!extend @a:hs 48h  door visit  done", OFFICER_ONLY, replies)
    )
    assert calls == [
        {"user": "@a:hs", "duration": timedelta(hours=48), "reason": "door visit  done"}
    ]
    assert await router.dispatch(
        ctx_for("!extend https://matrix.to/#/@b:hs 2d", OFFICER_ONLY, replies)
    )
    assert calls[-1]["user"] == "@b:hs" and calls[-1]["reason"] is None


@pytest.mark.parametrize("body", [
    "！extend @a:hs 48h",            # the prefix Chinese input methods type
    "!extend\u3000@a:hs\u300048h",  # ideographic spaces between the words
    "  !EXTEND  @a:hs\t48h ",
])
async def test_full_width_prefix_and_any_space(body: str) -> None:
    calls: list[dict[str, Any]] = []
    assert await make_router(calls).dispatch(ctx_for(body, OFFICER_ONLY, []))
    assert calls == [{"user": "@a:hs", "duration": timedelta(hours=48), "reason": None}]


def test_what_is_no_command() -> None:
    router = make_router([])
    for body in ("! extend", "！", "extend", "!", "？help"):
        assert not router.is_command(body), body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!extend", "Missing USER"),
        ("!extend @a:hs", "Missing DURATION"),
        ("!extend notauser 2h", "is not a valid Matrix user id"),
        ("!extend @a:hs soon", "is not a valid duration"),
    ],
)
async def test_usage_errors_show_usage(body: str, expected: str) -> None:
    replies: list[str] = []
    await make_router([]).dispatch(ctx_for(body, OFFICER_ONLY, replies))
    assert len(replies) == 1
    assert expected in replies[0]
    if "valid" not in expected:
        assert "Usage: !extend USER DURATION [REASON]" in replies[0]


async def test_resident_is_refused_politely_in_both_languages() -> None:
    calls: list[dict[str, Any]] = []
    replies: list[str] = []
    router = make_router(calls)
    await router.dispatch(ctx_for("!extend @a:hs 2h", frozenset({Role.RESIDENT}), replies))
    await router.dispatch(
        ctx_for("!extend @a:hs 2h", frozenset({Role.RESIDENT}), replies, "zh-CN")
    )
    assert calls == []
    assert replies[0].startswith("Sorry, !extend is for community officers")
    assert replies[1].startswith("抱歉")


async def test_unexpected_error_gives_a_ref_and_logs_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    replies: list[str] = []
    await make_router([]).dispatch(ctx_for("!boom", frozenset({Role.RESIDENT}), replies))
    assert "Something went wrong" in replies[0] and "(ref: " in replies[0]
    assert "13800138000" not in replies[0]
    ref = replies[0].split("ref: ")[1].rstrip(").")
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)


async def test_domain_errors_are_rendered_and_unknown_commands_answered() -> None:
    replies: list[str] = []
    router = make_router([])
    await router.dispatch(ctx_for("!domain", frozenset({Role.RESIDENT}), replies))
    await router.dispatch(ctx_for("!nothing", frozenset({Role.RESIDENT}), replies))
    assert "not a valid duration" in replies[0]
    assert "There is no command !nothing" in replies[1]
    assert not await router.dispatch(ctx_for("hello !extend", frozenset({Role.RESIDENT}), replies))
    assert not await router.dispatch(
        ctx_for("! not a command", frozenset({Role.RESIDENT}), replies)
    )


async def test_help_visibility_follows_roles() -> None:
    router = make_router([])
    resident = ctx_for("!help", frozenset({Role.RESIDENT}), [])
    officer = ctx_for("!help", frozenset({Role.RESIDENT, Role.OFFICER}), [])
    assert [c.name for c in router.visible(resident)] == ["boom", "domain"]
    assert [c.name for c in router.visible(officer)] == ["boom", "domain", "extend"]


def test_every_message_exists_in_both_languages() -> None:
    assert T.problems() == []
