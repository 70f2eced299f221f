"""``linli demo``: a local Synapse, the bot, an officer, two residents, a station and a
compound with sample households, running on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

import yaml

from bot.config import Config, load_config
from bot.devserver import Account, HomeserverError, LocalSynapse, port_is_free

log = logging.getLogger(__name__)

PEOPLE = {
    "officer": "officer-demo-pass",
    "resident1": "resident1-demo-pass",
    "resident2": "resident2-demo-pass",
}


def _accounts(hs: LocalSynapse, store: Path) -> dict[str, Account]:
    """Register the demo's accounts once; later runs log in with the stored passwords."""
    known: dict[str, Any] = json.loads(store.read_text()) if store.exists() else {}
    accounts: dict[str, Account] = {}
    wanted = {"admin": None, "linli": None, **PEOPLE}
    for name, password in wanted.items():
        if name in known:
            accounts[name] = hs.login(name, known[name]["password"])
            continue
        acc = hs.register(name, password=password, admin=name == "admin")
        accounts[name] = acc
        known[name] = {"user_id": acc.user_id, "password": acc.password}
    store.write_text(json.dumps(known, indent=2))
    os.chmod(store, 0o600)
    return accounts


def _write_config(data: Path, hs: LocalSynapse, bot: Account, web_port: int) -> Path:
    key_file = data / "data.key"
    if not key_file.exists():
        key_file.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
        os.chmod(key_file, 0o600)
    token_file = data / "bot.token"
    token_file.write_text(bot.access_token)
    os.chmod(token_file, 0o600)
    config = {
        "matrix": {
            "homeserver": hs.base_url,
            "user_id": bot.user_id,
            "access_token_file": str(token_file),
            "sync_timeout": "10s",
        },
        "database": {"url": f"sqlite:///{data / 'linli.db'}"},
        "security": {"data_key_file": str(key_file)},
        "bot": {"admins": [f"@admin:{hs.server_name}"], "tick_interval": "10s"},
        "web": {"enabled": True, "host": "127.0.0.1", "port": web_port},
        "logging": {"level": "INFO"},
    }
    path = data / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


async def _provision(config: Config, accounts: dict[str, Account]) -> list[str]:
    """Station, officer, compound (and what later features add); skipped if already there."""
    from bot.cli import CliContext, build_parser

    notes: list[str] = []
    parser = build_parser()

    async def linli(*argv: str) -> None:
        args = parser.parse_args(list(argv))
        ctx = CliContext(config_path=None, _config=config)
        ctx.out = notes.append  # type: ignore[method-assign]
        try:
            await args.func(ctx, args)
        finally:
            await ctx.close()

    from common.clock import SystemClock
    from storage.db import Database
    from storage.repos.community import CommunityRepository

    db = Database(config.database.url)
    await db.upgrade()
    directory = await CommunityRepository(db, SystemClock()).load_directory()
    await db.close()
    if directory.station_by_slug("xinhua") is None:
        await linli("station", "create", "xinhua", "--name", "新华路派出所")
        await linli("staff", "add", accounts["officer"].user_id, "--role", "officer",
                    "--station", "xinhua", "--name", "王警官", "--phone", "021-5555-0110")
    if directory.compound_by_slug("meiyuan") is None:
        await linli("compound", "create", "meiyuan", "--name", "梅园小区", "--station", "xinhua")
        await linli("compound", "set", "meiyuan", "--setting", "emergency_numbers=[{label: 报警, number: '110'}, "
                    "{label: 火警, number: '119'}, {label: 急救, number: '120'}, "
                    "{label: 物业, number: '021-5555-0199'}]")
    return notes


async def run_demo(args: argparse.Namespace) -> int:
    from bot.app import build_app
    from bot.logs import configure_logging

    configure_logging("INFO")
    data = Path(args.data).resolve()
    data.mkdir(parents=True, exist_ok=True)
    port = args.port
    if not port_is_free(port):
        from bot.devserver import free_port

        port = free_port()
        print(f"port {args.port} is busy; the demo homeserver uses {port} instead")
    hs = LocalSynapse(data / "synapse", port=port)
    print(f"starting Synapse on {hs.base_url} (data in {hs.data_dir}) ...")
    try:
        hs.start()
    except HomeserverError as exc:
        print(f"linli demo: {exc}")
        return 1
    try:
        accounts = _accounts(hs, data / "accounts.json")
        hs.exempt_from_rate_limits(accounts["admin"].access_token, accounts["linli"].user_id)
        config = load_config(_write_config(data, hs, accounts["linli"], args.web_port), environ={})
        notes = await _provision(config, accounts)
        for line in notes:
            print("  " + line)
        app = await build_app(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, app.bot.stop_event.set)
        try:
            await app.start()
            print(_instructions(hs, accounts, data, app))
            await app.bot.wait()
        finally:
            await app.close()
    finally:
        hs.stop()
        print("demo stopped; run it again to continue where it left off")
    return 0


def _instructions(hs: LocalSynapse, accounts: dict[str, Account], data: Path, app: Any) -> str:
    directory = app.bot.directory.current
    compound = directory.compound_by_slug("meiyuan")
    room = (compound.room_alias or compound.room_id) if compound else "?"
    lines = [
        "",
        "=" * 72,
        "Linli demo is running. Log in with any Matrix client (Element desktop, nheko,",
        f"gomuks...) to the homeserver {hs.base_url}:",
        "",
    ]
    for name, password in PEOPLE.items():
        lines.append(f"  {accounts[name].user_id:<28} password: {password}")
    lines += [
        "",
        f"Compound room 梅园小区: {room}",
        "",
        "Things to try:",
        f"  * as {accounts['resident1'].user_id}: join {room}; you can read but not post",
        "    until verified.",
        "  * as the officer: accept the invitations, send !help and !status in the rooms.",
        "",
        f"The bot's config is {data / 'config.yaml'}; its database {data / 'linli.db'}.",
        "Stop with Ctrl-C; run `make demo` again to continue where you left off.",
        "=" * 72,
    ]
    return "\n".join(lines)
