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

from linli.bot.app import build_app
from linli.bot.cli import CliContext, build_parser
from linli.bot.config import Config, load_config
from linli.bot.demo_conversation import DEMO_NOTICE, stage
from linli.bot.devserver import Account, HomeserverError, LocalSynapse, free_port, port_is_free
from linli.bot.logs import configure_logging
from linli.bot.services import Services
from linli.enrolment.model import PrincipalKind
from linli.verification.cards import CardOfficer, render_cards
from linli.verification.codes import format_code

log = logging.getLogger(__name__)

PEOPLE = {
    "officer": "officer-demo-pass",
    "resident1": "resident1-demo-pass",
    "resident2": "resident2-demo-pass",
}

# A small, fictional household registry of 梅园小区: 8 households in 2 buildings.
SAMPLE_REGISTRY = """楼栋,单元,房号,姓名,电话,身份,备注
1,1,101,李明,13800000101,业主,
1,1,101,李小红,,家属,
1,1,102,张伟,13800000102,业主,
1,2,201,王芳,13800000201,租户,
1,2,202,赵磊,13800000202,业主,
2,1,101,陈静,13800000301,业主,
2,1,102,刘洋,13800000302,业主,
2,2,201,杨帆,13800000401,租户,
2,2,202,黄丽,13800000402,业主,
"""
DEMO_HOUSEHOLD = ("1-1-101", "李明")  # the household resident1 verifies as
DEMO_CODE_FILE = "demo-household.json"


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
        "web": {"enabled": True, "dashboard": True, "host": "127.0.0.1", "port": web_port},
        "logging": {"level": "INFO"},
    }
    path = data / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


async def _provision(
    config: Config, accounts: dict[str, Account], data: Path | None = None
) -> list[str]:
    """Station, officer, compound (and what later features add); skipped if already there."""
    notes: list[str] = []
    parser = build_parser()

    async def linli(*argv: str) -> None:
        args = parser.parse_args(list(argv))
        ctx = CliContext(config_path=None, lang="en", _config=config)  # as the page below
        ctx.out = notes.append  # type: ignore[method-assign]
        try:
            await args.func(ctx, args)
        finally:
            await ctx.close()

    services = await Services.open(config)
    try:
        directory = await services.community.load_directory()
    finally:
        await services.close()
    if directory.station_by_slug("xinhua") is None:
        await linli("station", "create", "xinhua", "--name", "新华路派出所")
        await linli("staff", "add", accounts["officer"].user_id, "--role", "officer",
                    "--station", "xinhua", "--name", "王警官", "--phone", "021-5555-0110")
    if directory.compound_by_slug("meiyuan") is None:
        await linli("compound", "create", "meiyuan", "--name", "梅园小区", "--station", "xinhua")
        await linli("compound", "set", "meiyuan", "--setting",
                    "emergency_numbers=[{label: 报警, number: '110'}, "
                    "{label: 火警, number: '119'}, {label: 急救, number: '120'}, "
                    "{label: 物业, number: '021-5555-0199'}]")
    if data is not None:
        await _provision_registry(config, data, linli)
    await _provision_bulletins(config, linli)
    return notes


ANTI_FRAUD_TITLE = "防诈骗提示"
ANTI_FRAUD_TIPS = (
    "**公检法机关**不会通过电话办案，也不会要求您把钱转到所谓的“安全账户”。",
    "要求先垫付资金的“刷单返利”“高额回报投资”都是诈骗，请勿相信。",
    "不要点击陌生短信里的链接，**验证码**不告诉任何人。",
    "自称“客服”要求退款、注销“校园贷”的电话，请先挂断，再拨官方电话核实。"
    "遇到诈骗请拨打 110 或反诈专线 96110，也可联系{officer}。",
)


async def _provision_bulletins(config: Config, linli: Any) -> None:
    """The weekly anti-fraud series for the station's compounds (Monday 09:00, one tip a
    week in turn); created once, found by its title on later runs."""
    services = await Services.open(config, migrate=False)
    try:
        titles = {b.text.title for b in await services.broadcasts_repo.list_bulletins(None)}
    finally:
        await services.close()
    if ANTI_FRAUD_TITLE in titles:
        return
    tips = " || ".join(ANTI_FRAUD_TIPS)
    await linli("bulletins", "add",
                f'station:xinhua cron "0 9 * * 1" series | {ANTI_FRAUD_TITLE} | {tips}')


async def _provision_registry(config: Config, data: Path, linli: Any) -> None:
    """Import the sample registry and print its contact cards once. The demo household's code
    is kept in a private file so every run can show it (codes exist only as hashes in the
    database); a real deployment hands the printed card over at the door instead."""

    services = await Services.open(config, migrate=False)
    try:
        compound = await services.community.compound("meiyuan")
        if not await services.verification_repo.households(compound.id):
            csv_file = data / "registry.csv"
            _write_private(csv_file, SAMPLE_REGISTRY)
            await linli("households", "import", str(csv_file), "--compound", "meiyuan")
        code_file = data / DEMO_CODE_FILE
        if await asyncio.to_thread(code_file.exists):
            return
        issues = await services.registry.issue_codes(compound, "demo")
        cards = render_cards(compound, issues, services.translator,
                             CardOfficer("王警官", "021-5555-0110"))
        _write_private(data / "cards.html", cards)
        ref, name = DEMO_HOUSEHOLD
        issue = next(i for i in issues if i.household.ref == ref)
        _write_private(code_file, json.dumps({
            "flat": issue.household.label(compound.locale), "ref": ref,
            "code": format_code(issue.code), "name": name,
        }, ensure_ascii=False, indent=2))
    finally:
        await services.close()


def _write_private(path: Path, text: str) -> None:
    """Demo files with (fictional) personal data or codes: readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


async def run_demo(args: argparse.Namespace) -> int:
    configure_logging("INFO")
    data = Path(args.data).resolve()  # noqa: ASYNC240 - one-off CLI start-up, nothing else runs yet
    data.mkdir(parents=True, exist_ok=True)
    port = args.port
    if not port_is_free(port):
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
        notes = await _provision(config, accounts, data)
        for line in notes:
            print("  " + line)
        tokens = await _dashboard_tokens(config, data)
        app = await build_app(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, app.bot.stop_event.set)
        try:
            await app.start()
            staged = await stage(hs, accounts, data, app)
            print(_instructions(hs, accounts, data, app, tokens, args.web_port, staged))
            await app.bot.wait()
        finally:
            await app.close()
    finally:
        hs.stop()
        print("demo stopped; run it again to continue where it left off")
    return 0


async def _dashboard_tokens(config: Config, data: Path) -> dict[str, str]:
    """An admin and an officer token for the dashboard, created once and kept in the demo
    folder (readable by the owner only); the database keeps only their hashes."""
    store = data / "dashboard-tokens.json"
    if store.exists():
        return dict(json.loads(store.read_text(encoding="utf-8")))

    services = await Services.open(config, migrate=False)
    try:
        station = await services.community.station("xinhua")
        admin = await services.tokens.create(PrincipalKind.ADMIN, None, "demo admin")
        officer = await services.tokens.create(PrincipalKind.OFFICER, station.id,
                                               "demo officer")
    finally:
        await services.close()
    tokens = {"admin": admin.secret, "officer": officer.secret}
    _write_private(store, json.dumps(tokens, indent=2))
    return tokens


def _instructions(
    hs: LocalSynapse, accounts: dict[str, Account], data: Path, app: Any,
    tokens: dict[str, str], web_port: int, staged: list[str] | None = None,
) -> str:
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
        "    until verified. The bot writes to you in a direct message: accept it and reply",
        *_demo_household_lines(data),
        "    You can then post, and the room welcomes you with a masked name.",
        "  * as the officer: accept the invitations, send !help and !status in the rooms;",
        "    in the officers' room try !pending, and !verify @user 1-1-102 张伟 (the command",
        "    message is removed at once: it holds a full name).",
        "  * as the officer, in the officers' room: !bulletin list, !bulletin preview 1",
        "    (the weekly anti-fraud series), and an urgent notice to 梅园小区:",
        f"        {DEMO_NOTICE}",
        "    the room gets it at once; the officers' room a delivery report.",
        *(staged or []),
        f"  * contact cards of all 8 sample households: {data / 'cards.html'}",
        "",
        f"Dashboard: http://127.0.0.1:{app.web.port if app.web else web_port}/dashboard/",
        f"  admin token:   {tokens['admin']}",
        f"  officer token: {tokens['officer']} (station 新华路派出所; shows the visit sheet)",
        "",
        f"The bot's config is {data / 'config.yaml'}; its database {data / 'linli.db'}.",
        "Stop with Ctrl-C; run `make demo` again to continue where you left off.",
        "=" * 72,
    ]
    return "\n".join(lines)


def _demo_household_lines(data: Path) -> list[str]:
    """The card of the demo household, as resident1 would read it at the door."""
    try:
        card = json.loads((data / DEMO_CODE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["    with the code and name from a card in cards.html."]
    return [
        f"    with the card of flat {card['flat']} ({card['ref']}), registered name "
        f"{card['name']}:",
        f"        {card['code']} {card['name']}",
    ]
