"""``linli status``: the bot processes running on this database and the compounds each owns
(bot/cluster.py)."""

from __future__ import annotations

import argparse
from typing import Any

from linli.bot.cli import CliContext, add_command


def register(sub: Any) -> None:
    add_command(sub, "status", cmd_status,
                "cli.help.status")


async def cmd_status(ctx: CliContext, args: argparse.Namespace) -> int:
    from linli.bot.cluster import sqlite_path, sqlite_running

    path = sqlite_path(ctx.config.database.url)
    if path is not None:  # SQLite: one process, known by its lock
        ctx.say("cli.status.sqlite_running" if sqlite_running(path)
                else "cli.status.sqlite_stopped", database=str(path))
        return 0
    from sqlalchemy import text

    from linli.storage.repos.cluster import ClusterRepository
    from linli.storage.repos.community import CommunityRepository

    db = await ctx.database()
    lease = ctx.config.cluster.lease
    processes = await ClusterRepository(db).processes(lease)
    directory = await CommunityRepository(db, ctx.clock).load_directory([])
    async with db.session() as s:
        now = (await s.execute(text("SELECT now()"))).scalar_one()
    if not processes:
        ctx.say("cli.status.none")
    owned = 0
    for p in processes:
        slugs = [directory.compounds[c].slug for c in p.compounds if c in directory.compounds]
        owned += len(slugs) if p.alive else 0
        ctx.say("cli.status.process" if p.alive else "cli.status.silent",
                name=p.name, id=p.id, port=p.web_port if p.web_port is not None else "-",
                age=round((now - p.heartbeat_at).total_seconds()), count=len(slugs),
                compounds=", ".join(slugs) or "-")
    total = sum(1 for c in directory.compounds.values() if c.room_id)
    ctx.say("cli.status.total", owned=owned, total=total)
    return 0
