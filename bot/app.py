"""The composition root: builds the Matrix client, the router, the features and the web app
over the services of bot/services.py (the database, repositories and domain services), passes
them in explicitly, and owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from functools import partial
from typing import Any

from linli.bot.cluster import ClusterOwnership
from linli.bot.commands.router import Router
from linli.bot.config import Config
from linli.bot.features.broadcasts.feature import BroadcastsFeature
from linli.bot.features.broadcasts.transport import MatrixTransport
from linli.bot.features.core.feature import CoreFeature
from linli.bot.features.enrolment.dashboard.routes import Dashboard
from linli.bot.features.enrolment.feature import EnrolmentFeature, EnrolmentTracker
from linli.bot.features.moderation.feature import ModerationFeature
from linli.bot.features.questions.feature import QuestionsFeature
from linli.bot.features.verification.feature import VerificationFeature
from linli.bot.matrix.gateway import MatrixGateway
from linli.bot.runtime import Bot, DirectMessenger, DirectoryHolder, FatalSyncError
from linli.bot.runtime.direct_index import M_DIRECT_LOCK, DirectIndex
from linli.bot.runtime.outbox import Outbox
from linli.bot.services import Services
from linli.bot.web.app import WebServer, build_web_app
from linli.bot.web.metrics import MetricSource, Sample
from linli.common.clock import Clock
from linli.common.ids import UserID
from linli.moderation.flood import FloodControl
from linli.questions.classifier import builtin as question_model
from linli.storage.db import Database
from linli.storage.repos.cluster import ClusterRepository
from linli.storage.repos.outbox import OutboxRepository

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    db: Database
    gateway: MatrixGateway
    bot: Bot
    clock: Clock
    web: WebServer | None = None
    cluster: ClusterOwnership | None = None  # several processes on one PostgreSQL database
    _leases: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.cluster is not None:
            # The first share of compounds is known before the first sync.
            await self.bot.directory.reload()
            await self.cluster.round()
            self._leases = asyncio.create_task(self.cluster.run(self.bot.stop_event),
                                               name="linli-leases")
        await self.bot.start()
        if self.web is not None:
            await self.web.start()

    async def close(self) -> None:
        if self.web is not None:
            await self.web.stop()
        await self.bot.stop()
        if self.cluster is not None:
            if self._leases is not None:
                await self._leases
            try:
                await self.cluster.leave()  # the others take the compounds at once
            except Exception:
                log.exception("could not give the compounds back; they are taken over when "
                              "their leases run out")
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
        samples += bot.ownership.metrics()
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
            **({"cluster": cluster} if (cluster := bot.ownership.health()) else {}),
        }

    return check


async def build_app(config: Config, clock: Clock | None = None) -> App:
    """Wire everything; nothing connects to Matrix until ``App.bot.start()``."""
    # On PostgreSQL one connection per unit of work running at once, plus periodic work,
    # bulletin sends and the web app.
    services = await Services.open(config, clock, pool_size=config.bot.concurrent_rooms + 10)
    db, clock, translator = services.db, services.clock, services.translator
    gateway = MatrixGateway(config.matrix)
    directory = DirectoryHolder(services.community, config.bot.admins)
    # Effects decided in a unit of work are carried out once it commits (bot/runtime/outbox.py).
    outbox = Outbox(db, OutboxRepository(db, clock, services.protector), gateway, clock)
    # m.direct is rewritten whole: its writers take turns across processes (README
    # "Several processes").
    index = DirectIndex(gateway, partial(db.advisory_lock, M_DIRECT_LOCK))
    dms = DirectMessenger(gateway, services.direct_rooms, index, outbox=outbox)
    router = Router(translator, prefix=config.bot.command_prefix,
                    roles_anywhere=lambda user: directory.current.roles_anywhere(user))
    bot = Bot(
        config=config, db=db, gateway=gateway, clock=clock, translator=translator,
        directory=directory, dms=dms, router=router, features=[], audit=services.audit,
        outbox=outbox,
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
    delivery = services.delivery(MatrixTransport(gateway), lambda: directory.current)
    bot.add_feature(BroadcastsFeature(
        delivery, services.bulletins(lambda: directory.current, delivery=delivery),
        services.broadcasts_repo, gateway, translator, prefix=config.bot.command_prefix,
    ))
    # Real-name membership; the data key is required (a config error names it if missing).
    verification = services.verification
    # The shipped model; a retrained one replaces it at start.
    questions = services.questions(lambda: directory.current, model=question_model())
    # The asker's flat on a flag comes from verification: "3栋2单元501室", never a name.
    bot.add_feature(QuestionsFeature(
        questions, services.questions_repo, gateway, lambda: directory.current,
        flat_label=verification.flat_label, outbox=outbox,
    ))
    moderation = services.moderation(lambda: directory.current)
    verification_feature = VerificationFeature(
        verification, gateway, dms, translator, lambda: directory.current,
        muted_by_moderation=moderation.is_muted_by_bot,
        default_locale=config.bot.default_locale, prefix=config.bot.command_prefix,
        outbox=outbox,
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
    cluster = None
    if db.dialect == "postgresql":  # several processes may share the database
        cluster = ClusterOwnership(
            ClusterRepository(db), gateway, bot.state, lambda: directory.current,
            dms.user_of_room, verification.member_compound, lease=config.cluster.lease,
            web_port=config.web.port if config.web.enabled else None,
        )
        bot.ownership = cluster
        outbox.owns = cluster.owns_target
    # Enrolment figures for /metrics, the dashboard and the daily coverage snapshots.
    enrolment = EnrolmentTracker(verification, clock)
    bot.add_feature(EnrolmentFeature(
        enrolment, services.snapshots, lambda: directory.current,
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
            Dashboard(
                tokens=services.tokens, token_repo=services.web_token_repo, tracker=enrolment,
                registry=services.verification_repo, snapshots=services.snapshot_repo,
                questions=services.questions_repo, audit=services.audit,
                directory=lambda: directory.current, translator=translator, clock=clock,
                default_locale=config.bot.default_locale,
                default_timezone=config.bot.default_timezone,
                session_ttl=config.web.session_ttl, secure_cookies=config.web.secure_cookies,
                overview_max_age=config.enrolment.refresh,
            ).register(web_app)
        web_server = WebServer(web_app, config.web.host, config.web.port)
    return App(config=config, db=db, gateway=gateway, bot=bot, clock=clock, web=web_server,
               cluster=cluster)


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
