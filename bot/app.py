"""The composition root: builds the database, the Matrix client, the router, the features and
the web app from the config, passes them in explicitly, and owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from typing import Any

from linli.bot.cli_verification import policy_from_config
from linli.bot.commands.router import Router
from linli.bot.config import Config, protector_from_security
from linli.bot.features.broadcasts import (
    BroadcastsFeature,
    MatrixTransport,
    process_owner,
    settings_from_config,
)
from linli.bot.features.core import CoreFeature
from linli.bot.features.enrolment.dashboard.routes import Dashboard
from linli.bot.features.enrolment.feature import EnrolmentFeature, EnrolmentTracker
from linli.bot.features.moderation import ModerationFeature
from linli.bot.features.questions import QuestionsFeature
from linli.bot.features.verification import VerificationFeature
from linli.bot.matrix.gateway import MatrixGateway
from linli.bot.messages import all_catalogs
from linli.bot.runtime import Bot, DirectMessenger, DirectoryHolder, FatalSyncError
from linli.bot.scheduling import ApschedulerFireTimes
from linli.bot.web.app import WebServer, build_web_app
from linli.bot.web.metrics import MetricSource, Sample
from linli.broadcasts.delivery import DeliveryService
from linli.broadcasts.service import BulletinCommands
from linli.common.clock import Clock, SystemClock
from linli.common.i18n import Translator
from linli.common.ids import UserID
from linli.enrolment.service import SnapshotService, TokenService
from linli.moderation.flood import FloodControl
from linli.moderation.model import ModerationSettings
from linli.moderation.service import ModerationService
from linli.questions.classifier import builtin as question_model
from linli.questions.service import QuestionService
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.botstate import DirectRoomRepository
from linli.storage.repos.broadcasts import BroadcastRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.enrolment import SnapshotRepository, WebTokenRepository
from linli.storage.repos.moderation import ModerationRepository
from linli.storage.repos.questions import QuestionRepository
from linli.storage.repos.verification import VerificationRepository
from linli.verification.service import VerificationService

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    db: Database
    gateway: MatrixGateway
    bot: Bot
    clock: Clock
    web: WebServer | None = None

    async def start(self) -> None:
        await self.bot.start()
        if self.web is not None:
            await self.web.start()

    async def close(self) -> None:
        if self.web is not None:
            await self.web.stop()
        await self.bot.stop()
        await self.gateway.close()
        await self.db.close()


def core_metrics(bot: Bot) -> MetricSource:
    async def source() -> list[Sample]:
        directory = bot.directory.current
        managed = directory.managed_room_ids()
        lag = bot.stats.lag()
        samples = [
            Sample("linli_rooms_managed", len(managed), "Rooms the bot manages"),
            Sample("linli_rooms_joined", len(managed & bot.joined_rooms),
                   "Managed rooms the bot is in"),
            Sample("linli_compounds", len(directory.compounds), "Compounds"),
            Sample("linli_syncs_total", bot.stats.syncs, "Successful syncs", "counter"),
            Sample("linli_sync_failures_total", bot.stats.failures, "Failed syncs", "counter"),
            Sample("linli_handling_retries_total", bot.stats.handling_failures,
                   "Sync batches rolled back by a passing failure and handled again", "counter"),
            Sample("linli_events_given_up_total", bot.stats.events_given_up,
                   "Events left after failing every attempt (see the log's ref)", "counter"),
            Sample("linli_events_handled_total", bot.stats.events_handled,
                   "Matrix events handled", "counter"),
            Sample("linli_sync_lag_seconds", -1 if lag is None else lag,
                   "Seconds since the last successful sync (-1 before the first)"),
        ]
        for name, seconds in sorted(bot.stats.handler_seconds.items()):
            samples.append(Sample("linli_handler_seconds_total", seconds,
                                  "Time spent in handlers", "counter", {"handler": name}))
        return samples

    return source


def health_check(bot: Bot, db: Database, max_lag: float) -> Any:
    async def check() -> dict[str, Any]:
        db_ok = await db.ping()
        lag = bot.stats.lag()
        sync_ok = lag is not None and lag <= max_lag and not bot.stop_event.is_set()
        loop_alive = any(t.get_name() == "linli-sync" and not t.done() for t in bot.tasks)
        return {
            "ok": db_ok and sync_ok and loop_alive,
            "database": "ok" if db_ok else "unreachable",
            "sync_loop": "alive" if loop_alive else "stopped",
            "last_sync_age_seconds": None if lag is None else round(lag, 3),
        }

    return check


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
    router = Router(translator, prefix=config.bot.command_prefix,
                    roles_anywhere=lambda user: directory.current.roles_anywhere(user))
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
    broadcast_repo = BroadcastRepository(db)
    delivery = DeliveryService(
        broadcast_repo, MatrixTransport(gateway), ApschedulerFireTimes(),
        lambda: directory.current, translator, clock, owner=process_owner(),
        settings=settings_from_config(config),
    )
    bulletins = BulletinCommands(
        broadcast_repo, ApschedulerFireTimes(), lambda: directory.current, translator, clock,
        default_timezone=config.bot.default_timezone, delivery=delivery,
    )
    bot.add_feature(BroadcastsFeature(
        delivery, bulletins, broadcast_repo, gateway, translator,
        prefix=config.bot.command_prefix,
    ))
    # Real-name membership; the data key is required (a config error names it if missing).
    verification_repo = VerificationRepository(
        db, clock, protector_from_security(config.security)
    )
    verification = VerificationService(
        verification_repo, audit, clock, policy_from_config(config.verification)
    )
    questions_repo = QuestionRepository(db, clock)
    questions = QuestionService(
        questions_repo, clock, lambda: directory.current, translator,
        config.questions.to_settings(), default_timezone=config.bot.default_timezone,
        model=question_model(),  # the shipped model; a retrained one replaces it at start
    )
    # The asker's flat on a flag comes from verification: "3栋2单元501室", never a name.
    bot.add_feature(QuestionsFeature(
        questions, questions_repo, gateway, lambda: directory.current,
        flat_label=verification.flat_label,
    ))
    moderation = ModerationService(
        ModerationRepository(db, clock), audit, clock, lambda: directory.current,
        ModerationSettings(**config.moderation.model_dump()), config.matrix.user_id,
    )
    verification_feature = VerificationFeature(
        verification, gateway, dms, translator, lambda: directory.current,
        muted_by_moderation=moderation.is_muted_by_bot,
        default_locale=config.bot.default_locale, prefix=config.bot.command_prefix,
    )

    async def granted_level(room_id: str, user_id: str) -> int | None:
        compound = directory.current.compound_by_room(room_id)
        if compound is None:
            return None
        return await verification_feature.granted_level(compound, UserID(user_id))

    bot.add_feature(ModerationFeature(
        moderation, FloodControl(moderation, lambda: directory.current, moderation.settings),
        gateway, dms, translator, prefix=config.bot.command_prefix,
        granted_level=granted_level,
    ))
    bot.add_feature(verification_feature)
    bot.resident_home = verification.member_compound
    # Enrolment figures for /metrics, the dashboard and the daily coverage snapshots.
    enrolment = EnrolmentTracker(verification, clock)
    snapshot_repo = SnapshotRepository(db, clock)
    bot.add_feature(EnrolmentFeature(
        enrolment, SnapshotService(snapshot_repo, clock), lambda: directory.current,
        refresh=config.enrolment.refresh, compounds_per_tick=config.enrolment.compounds_per_tick,
    ))
    web_server = None
    if config.web.enabled:
        max_lag = (
            config.matrix.sync_timeout.total_seconds()
            + config.matrix.request_timeout.total_seconds()
        )
        web_app = build_web_app(
            health=health_check(bot, db, max_lag),
            metric_sources=[core_metrics(bot), *bot.metric_sources],
        )
        if config.web.dashboard:
            token_repo = WebTokenRepository(db, clock)
            Dashboard(
                tokens=TokenService(token_repo, clock), token_repo=token_repo, tracker=enrolment,
                registry=verification_repo, snapshots=snapshot_repo,
                questions=QuestionRepository(db, clock), audit=audit,
                directory=lambda: directory.current, translator=translator, clock=clock,
                default_locale=config.bot.default_locale,
                default_timezone=config.bot.default_timezone,
                session_ttl=config.web.session_ttl, secure_cookies=config.web.secure_cookies,
                overview_max_age=config.enrolment.refresh,
            ).register(web_app)
        web_server = WebServer(web_app, config.web.host, config.web.port)
    return App(config=config, db=db, gateway=gateway, bot=bot, clock=clock, web=web_server)


async def run(config: Config) -> int:
    """Run until SIGTERM or SIGINT; returns the process exit code."""
    app = await build_app(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, app.bot.stop_event.set)
    try:
        try:
            await app.start()
        except FatalSyncError as exc:
            log.error("cannot start: %s", exc)
            return 1
        if not app.bot.stop_event.is_set():
            log.info(
                "running; %d rooms managed", len(app.bot.directory.current.managed_room_ids())
            )
            await app.bot.wait()
        log.info("shutting down")
    finally:
        await app.close()
    return 1 if app.bot.fatal else 0
