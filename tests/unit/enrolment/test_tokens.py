"""Dashboard tokens: the service on both back-ends, and the ``linli tokens`` commands."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest
from sqlalchemy import select

from linli.bot.cli import CliContext
from linli.bot.config import Config
from linli.bot.features.enrolment import cli_tokens
from linli.common.clock import FakeClock
from linli.common.errors import DomainError, NotFound, PermissionDenied
from linli.common.ids import StationId
from linli.enrolment.model import PrincipalKind, hash_token
from linli.enrolment.service import TokenService
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.enrolment import WebTokenRepository
from linli.storage.tables.enrolment import WebTokenRow


def tokens(db: Database, clock: FakeClock) -> TokenService:
    return TokenService(WebTokenRepository(db, clock), clock)


async def test_create_authenticate_revoke(db: Database, clock: FakeClock) -> None:
    station = await CommunityRepository(db, clock).create_station("xinhua", "新华派出所")
    service = tokens(db, clock)
    admin = await service.create("admin", None, "区局管理员")
    officer = await service.create(PrincipalKind.OFFICER, station.id, "王警官")
    assert admin.secret.startswith("linli_") and admin.secret != officer.secret
    assert admin.secret not in repr(admin)

    async with db.session() as s:
        rows = (await s.scalars(select(WebTokenRow).order_by(WebTokenRow.id))).all()
    assert [r.token_hash for r in rows] == [hash_token(admin.secret), hash_token(officer.secret)]
    assert all(admin.secret not in str(vars(r)) for r in rows)

    who = await service.authenticate(admin.secret)
    assert (who.kind, who.station_id, who.label) == (PrincipalKind.ADMIN, None, "区局管理员")
    assert who.may_see_station(station.id) and who.may_see_station(999)
    who = await service.authenticate(officer.secret)
    assert (who.kind, who.station_id) == (PrincipalKind.OFFICER, station.id)
    assert who.may_see_station(station.id) and not who.may_see_station(station.id + 1)
    assert who.actor == f"token:{officer.token.id}"

    revoked = await service.revoke(officer.token.id)
    assert revoked.revoked_at == clock.now() and not revoked.active
    with pytest.raises(PermissionDenied):
        await service.authenticate(officer.secret)
    assert (await service.authenticate(admin.secret)).kind is PrincipalKind.ADMIN
    with pytest.raises(NotFound):
        await service.revoke(12345)


async def test_last_use_is_recorded_at_most_once_a_minute(
    db: Database, clock: FakeClock
) -> None:
    service = tokens(db, clock)
    issued = await service.create("admin", None, "dashboard")
    assert (await service.list_tokens())[0].last_used_at is None
    first = clock.now()
    await service.authenticate(issued.secret)
    assert (await service.list_tokens())[0].last_used_at == first
    clock.advance(timedelta(seconds=30))
    await service.authenticate(issued.secret)
    assert (await service.list_tokens())[0].last_used_at == first
    clock.advance(timedelta(seconds=31))
    await service.authenticate(issued.secret)
    assert (await service.list_tokens())[0].last_used_at == clock.now()


@pytest.mark.parametrize(
    "presented", [None, "", "linli_", "linli_not-a-real-token", "garbage", "linli_" + "x" * 500]
)
async def test_bad_tokens_are_refused(
    db: Database, clock: FakeClock, presented: str | None
) -> None:
    service = tokens(db, clock)
    issued = await service.create("admin", None, "dashboard")
    with pytest.raises(PermissionDenied):
        await service.authenticate(presented)
    with pytest.raises(PermissionDenied):
        await service.authenticate(issued.secret[:-1])


@pytest.mark.parametrize(
    ("kind", "station", "label", "key"),
    [
        ("officer", None, "王警官", "error.token_needs_station"),
        ("root", None, "x", "error.token_role"),
        ("admin", None, "   ", "error.token_label"),
        ("admin", None, "x" * 201, "error.token_label"),
    ],
)
async def test_bad_token_requests(
    sqlite_db: Database, clock: FakeClock, kind: str, station: StationId | None, label: str,
    key: str,
) -> None:
    with pytest.raises(DomainError) as caught:
        await tokens(sqlite_db, clock).create(kind, station, label)
    assert caught.value.key == key
    assert await tokens(sqlite_db, clock).list_tokens() == []


# the CLI ------------------------------------------------------------------------------


class RecordingContext(CliContext):
    def __init__(self, db: Database, clock: FakeClock) -> None:
        config = Config.model_validate(
            {
                "matrix": {
                    "homeserver": "http://127.0.0.1:8008",
                    "user_id": "@linli:localhost",
                    "access_token": "secret",
                },
                "bot": {"default_locale": "en"},
            }
        )
        super().__init__(config_path=None, clock=clock, _config=config, _db=db)
        self.lines: list[str] = []

    def out(self, text: str = "") -> None:
        self.lines.append(text)


async def run(ctx: RecordingContext, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli_tokens.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    ctx.lines.clear()
    result: int = await args.func(ctx, args)
    return result


async def test_tokens_commands(sqlite_db: Database, clock: FakeClock) -> None:
    await CommunityRepository(sqlite_db, clock).create_station("xinhua", "新华派出所")
    ctx = RecordingContext(sqlite_db, clock)

    assert await run(ctx, "tokens", "list") == 0
    assert ctx.lines == ["No tokens yet. Create one with linli tokens create."]

    assert await run(
        ctx, "tokens", "create", "--role", "officer", "--station", "xinhua", "--label", "王警官"
    ) == 0
    assert ctx.lines[0] == "Created token #1 (officer, station xinhua, 王警官):"
    secret = ctx.lines[1]
    assert secret.startswith("linli_")
    principal = await tokens(sqlite_db, clock).authenticate(secret)
    assert principal.kind is PrincipalKind.OFFICER and principal.station_id is not None

    assert await run(ctx, "tokens", "create", "--role", "admin", "--label", "district") == 0
    admin_secret = ctx.lines[1]

    assert await run(ctx, "tokens", "revoke", "1") == 0
    assert ctx.lines == ["Token #1 (王警官) revoked."]

    assert await run(ctx, "tokens", "list") == 0
    listing = "\n".join(ctx.lines)
    assert secret not in listing and admin_secret not in listing
    assert "hash" not in listing.lower()
    header, rule, first, second = ctx.lines
    assert header.split()[:2] == ["ID", "ROLE"]
    assert first.split()[:4] == ["1", "officer", "station", "xinhua"] and "revoked" in first
    assert "whole district" in second and second.rstrip().endswith("active")
    assert "2026-03-02 09:00" in first  # the creation time, in the configured time zone

    entries = await AuditRepository(sqlite_db, clock).recent()
    assert [(e.action, e.target) for e in reversed(entries)] == [
        ("token.create", "token:1"), ("token.create", "token:2"), ("token.revoke", "token:1")
    ]
    assert all(secret not in str(e.details) for e in entries)


async def test_tokens_commands_fail_readably(sqlite_db: Database, clock: FakeClock) -> None:
    ctx = RecordingContext(sqlite_db, clock)
    with pytest.raises(NotFound):
        await run(
            ctx, "tokens", "create", "--role", "officer", "--station", "nope", "--label", "x"
        )
    with pytest.raises(NotFound):
        await run(ctx, "tokens", "revoke", "7")
    with pytest.raises(SystemExit):
        await run(ctx, "tokens", "create", "--role", "root", "--label", "x")


def test_tokens_without_action_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    from linli.bot.cli import main

    assert main(["tokens"]) == 2
    assert "create" in capsys.readouterr().out


def test_token_errors_render_through_the_shared_catalogs() -> None:
    from linli.bot.cli import render_error

    assert render_error(NotFound("error.no_token", id=7)) == "No token with id 7."
    assert "station" in render_error(DomainError("error.token_needs_station"))
