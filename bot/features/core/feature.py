"""``!help`` and ``!status``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from linli import __version__
from linli.bot.commands.router import Command, CommandContext, Router, Where
from linli.common.events import ChatEvent
from linli.common.i18n import humanize_duration
from linli.community.model import ALL_ROLES, Role


class CoreFeature:
    name = "core"

    def __init__(
        self,
        router: Router,
        managed_rooms: Callable[[], set[str]],
        joined_rooms: Callable[[], set[str]],
        sync_lag: Callable[[], float | None],
        uptime: Callable[[], timedelta],
    ) -> None:
        self.router = router
        self.managed_rooms = managed_rooms
        self.joined_rooms = joined_rooms
        self.sync_lag = sync_lag
        self.uptime = uptime

    def commands(self) -> Iterable[Command]:
        return [
            Command("help", self.help, "help.help", roles=ALL_ROLES),
            Command("status", self.status, "help.status",
                    roles=frozenset({Role.OFFICER, Role.ADMIN}), where=Where.ANYWHERE),
        ]

    async def start(self) -> None:
        return None

    async def on_event(self, event: ChatEvent, env: Any) -> None:
        return None

    async def tick(self, now: datetime) -> None:
        return None

    async def help(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        lines = [ctx.t("help.header")]
        for cmd in self.router.visible(ctx):
            lines.append(
                ctx.t("help.line", usage=cmd.usage(self.router.prefix), text=ctx.t(cmd.help_key))
            )
        await ctx.reply_text("\n".join(lines))

    async def status(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        managed = self.managed_rooms()
        joined = managed & self.joined_rooms()
        lag = self.sync_lag()
        await ctx.reply(
            "status.text",
            version=__version__,
            rooms=len(managed),
            joined=len(joined),
            lag="—" if lag is None else humanize_duration(timedelta(seconds=lag), ctx.locale)
            if lag >= 1 else f"{lag * 1000:.0f} ms",
            uptime=humanize_duration(self.uptime(), ctx.locale),
        )
