"""The one wiring place: the database, the clock, the translator, the data protector, the
repositories and the domain services, built from the config one way only. ``linli run``
(bot/app.py, the composition root), every CLI verb and the demo take what they need from it.

A part is built when first asked for, and the modules behind a feature's parts are imported
then, on purpose: a CLI verb pays only for what it uses (``linli compound list`` loads neither
the Matrix client nor the crypto and Markdown libraries; tests/unit/test_cli_operators.py and
bench/bench_cli.py). Nothing here imports nio or aiohttp: the Matrix side is the gateway's.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from linli.bot.config import Config, SecurityConfig, protector_from_security
from linli.common.clock import Clock, SystemClock
from linli.common.i18n import Translator
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.community import CommunityRepository

if TYPE_CHECKING:
    from linli.broadcasts.delivery import DeliveryService
    from linli.broadcasts.ports import Transport
    from linli.broadcasts.service import BulletinCommands
    from linli.common.crypto import DataProtector
    from linli.community.model import Directory
    from linli.enrolment.service import SnapshotService, TokenService
    from linli.moderation.service import ModerationService
    from linli.questions.classifier import Classifier
    from linli.questions.service import QuestionService
    from linli.storage.repos.botstate import BotStateRepository, DirectRoomRepository
    from linli.storage.repos.broadcasts import BroadcastRepository
    from linli.storage.repos.enrolment import SnapshotRepository, WebTokenRepository
    from linli.storage.repos.moderation import ModerationRepository
    from linli.storage.repos.questions import QuestionRepository
    from linli.storage.repos.verification import VerificationRepository
    from linli.verification.registry import RegistryService
    from linli.verification.service import VerificationService

DirectoryView = Callable[[], "Directory"]


# The data protector from the config; a missing or bad key is a config error.
data_protector = protector_from_security


def all_messages() -> Translator:
    """The translator over every feature's catalogue."""
    from linli.bot.messages import all_catalogs

    return Translator(all_catalogs())


class Services:
    """What the bot, a CLI verb or the demo is made of, for one config and one database.

    Parts that need the current directory of stations and compounds take it as a function
    (``directory``): the running bot hands in its live view, a CLI verb the one it loaded.
    """

    def __init__(
        self, config: Config, db: Database, clock: Clock | None = None,
        translator: Translator | None = None,
        protector: Callable[[SecurityConfig], DataProtector] = data_protector,
    ) -> None:
        self.config = config
        self.db = db
        self.clock = clock or SystemClock()
        self._translator = translator
        self._protector = protector

    @classmethod
    async def open(
        cls, config: Config, clock: Clock | None = None, *, migrate: bool = True,
        pool_size: int | None = None,
    ) -> Services:
        """Over a new connection to the config's database, migrated to the newest schema
        unless ``migrate`` is false (the caller knows it is). ``pool_size``: PostgreSQL
        connections (the running bot: one per unit of work running at once, plus more)."""
        db = Database(config.database.url, echo=config.database.echo, pool_size=pool_size)
        if migrate:
            await db.upgrade()
        return cls(config, db, clock)

    async def close(self) -> None:
        await self.db.close()

    @cached_property
    def translator(self) -> Translator:
        return self._translator or all_messages()

    @cached_property
    def protector(self) -> DataProtector:
        """Names and phones are encrypted with it: a missing data key stops here, before
        anything is touched."""
        return self._protector(self.config.security)

    # the community and the bot's own state ----------------------------------------------------
    @cached_property
    def community(self) -> CommunityRepository:
        return CommunityRepository(self.db, self.clock)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.db, self.clock)

    async def load_directory(self) -> Directory:
        """Stations, compounds and staff as stored, with the config's admins."""
        return await self.community.load_directory(self.config.bot.admins)

    @cached_property
    def bot_state(self) -> BotStateRepository:
        from linli.storage.repos.botstate import BotStateRepository

        return BotStateRepository(self.db, self.clock)

    @cached_property
    def direct_rooms(self) -> DirectRoomRepository:
        from linli.storage.repos.botstate import DirectRoomRepository

        return DirectRoomRepository(self.db, self.clock)

    # real-name membership -------------------------------------------------------------------
    @cached_property
    def verification_repo(self) -> VerificationRepository:
        from linli.storage.repos.verification import VerificationRepository

        return VerificationRepository(self.db, self.clock, self.protector)

    @cached_property
    def verification(self) -> VerificationService:
        from linli.bot.features.verification.config import policy_from_config
        from linli.verification.service import VerificationService

        return VerificationService(self.verification_repo, self.audit, self.clock,
                                   policy_from_config(self.config.verification),
                                   transactions=self.db)

    @cached_property
    def registry(self) -> RegistryService:
        from linli.bot.features.verification.config import policy_from_config
        from linli.verification.registry import RegistryService

        return RegistryService(self.verification_repo, self.clock,
                               policy_from_config(self.config.verification))

    # bulletins --------------------------------------------------------------------------------
    @cached_property
    def broadcasts_repo(self) -> BroadcastRepository:
        from linli.storage.repos.broadcasts import BroadcastRepository

        return BroadcastRepository(self.db)

    def delivery(self, transport: Transport, directory: DirectoryView) -> DeliveryService:
        """The bulletins' fan-out and ledger, sending through ``transport``."""
        from linli.bot.features.broadcasts.config import process_owner, settings_from_config
        from linli.bot.features.broadcasts.fire_times import ApschedulerFireTimes
        from linli.broadcasts.delivery import DeliveryService

        return DeliveryService(
            self.broadcasts_repo, transport, ApschedulerFireTimes(), directory,
            self.translator, self.clock, owner=process_owner(),
            settings=settings_from_config(self.config),
        )

    def bulletins(
        self, directory: DirectoryView, delivery: DeliveryService | None = None
    ) -> BulletinCommands:
        """The officers' bulletin commands; notices need ``delivery``."""
        from linli.bot.features.broadcasts.fire_times import ApschedulerFireTimes
        from linli.broadcasts.service import BulletinCommands

        return BulletinCommands(
            self.broadcasts_repo, ApschedulerFireTimes(), directory, self.translator,
            self.clock, default_timezone=self.config.bot.default_timezone, delivery=delivery,
        )

    # residents' questions ---------------------------------------------------------------------
    @cached_property
    def questions_repo(self) -> QuestionRepository:
        from linli.storage.repos.questions import QuestionRepository

        return QuestionRepository(self.db, self.clock)

    def questions(
        self, directory: DirectoryView, model: Classifier | None = None
    ) -> QuestionService:
        """The questions service; without ``model``, detection by the rules alone."""
        from linli.questions.service import QuestionService

        return QuestionService(
            self.questions_repo, self.clock, directory, self.translator,
            self.config.questions.to_settings(),
            default_timezone=self.config.bot.default_timezone, model=model,
        )

    # moderation, enrolment snapshots and dashboard tokens -----------------------------------
    @cached_property
    def moderation_repo(self) -> ModerationRepository:
        from linli.storage.repos.moderation import ModerationRepository

        return ModerationRepository(self.db, self.clock)

    def moderation(self, directory: DirectoryView) -> ModerationService:
        from linli.bot.features.moderation.config import moderation_settings
        from linli.moderation.service import ModerationService

        return ModerationService(
            self.moderation_repo, self.audit, self.clock, directory,
            moderation_settings(self.config.moderation), self.config.matrix.user_id,
            transactions=self.db,
        )

    @cached_property
    def snapshot_repo(self) -> SnapshotRepository:
        from linli.storage.repos.enrolment import SnapshotRepository

        return SnapshotRepository(self.db, self.clock)

    @cached_property
    def snapshots(self) -> SnapshotService:
        from linli.enrolment.service import SnapshotService

        return SnapshotService(self.snapshot_repo, self.clock)

    @cached_property
    def web_token_repo(self) -> WebTokenRepository:
        from linli.storage.repos.enrolment import WebTokenRepository

        return WebTokenRepository(self.db, self.clock)

    @cached_property
    def tokens(self) -> TokenService:
        from linli.enrolment.service import TokenService

        return TokenService(self.web_token_repo, self.clock)
