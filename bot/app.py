"""The composition root: builds the database, the Matrix client, the router, the features and
the web app from the config, passes them in explicitly, and owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from bot.commands.router import Router
from bot.config import Config
from bot.features.core import CoreFeature
from bot.matrix.gateway import MatrixGateway
from bot.messages import all_catalogs
from bot.runtime import Bot, DirectMessenger, DirectoryHolder
from common.clock import Clock, SystemClock
from common.i18n import Translator
from storage.db import Database
from storage.repos.audit import AuditRepository
from storage.repos.botstate import DirectRoomRepository
from storage.repos.community import CommunityRepository

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    db: Database
    gateway: MatrixGateway
    bot: Bot
    clock: Clock

    async def close(self) -> None:
        await self.bot.stop()
        await self.gateway.close()
        await self.db.close()


async def build_app(config: Config, clock: Clock | None = None) -> App:
    """Wire everything; nothing connects to Matrix until ``App.bot.start()``."""
    clock = clock or SystemClock()
    db = Database(config.database.url, echo=config.database.echo)
    await db.upgrade()
    translator = Translator(all_catalogs())
    gateway = MatrixGateway(config.matrix)
    community = CommunityRepository(db, clock)
    directory = DirectoryHolder(community, config.bot.admins)
    dms = DirectMessenger(gateway, DirectRoomRepository(db, clock))
    audit = AuditRepository(db, clock)
    router = Router(translator, prefix=config.bot.command_prefix)
    bot = Bot(
        config=config, db=db, gateway=gateway, clock=clock, translator=translator,
        directory=directory, dms=dms, router=router, features=[], audit=audit,
    )
    bot.add_feature(
        CoreFeature(
            router,
            managed_rooms=lambda: directory.current.managed_room_ids(),
            joined_rooms=lambda: bot.joined_rooms,
            sync_lag=bot.stats.lag,
            uptime=bot.uptime,
        )
    )
    return App(config=config, db=db, gateway=gateway, bot=bot, clock=clock)


async def run(config: Config) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    app = await build_app(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, app.bot.stop_event.set)
    try:
        await app.bot.start()
        log.info("running; %d rooms managed", len(app.bot.directory.current.managed_room_ids()))
        await app.bot.wait()
        log.info("shutting down")
    finally:
        await app.close()
    return 1 if app.bot.fatal else 0
