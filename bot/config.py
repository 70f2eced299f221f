"""Configuration: YAML, then ``LINLI_``-prefixed environment overrides for every key (nested
keys joined by ``__``), then validation into a frozen model before anything connects."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from linli.common.durations import parse_duration
from linli.common.errors import DomainError
from linli.common.i18n import parse_locale

if TYPE_CHECKING:
    from linli.common.crypto import DataProtector

ENV_PREFIX = "LINLI_"
PLACEHOLDER_MARKERS = ("CHANGE_ME", "CHANGEME", "example.org", "example.com")


class ConfigError(Exception):
    """A configuration problem; the message names the key and what to do."""


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no type hints here
    """YAML as people write settings: ``18:00`` is the time it looks like, not the number 1080
    (YAML 1.1's base 60), and ``0571`` a string of digits, not an octal number. Decimal
    integers and floats read as before."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
               r"|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML the way the config file and ``linli compound set`` read it (``_Loader``)."""
    return yaml.load(text, Loader=_Loader)  # safe: _Loader is a SafeLoader


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    try:
        return parse_duration(str(value))
    except DomainError:
        raise ValueError(
            f"{value!r} is not a duration; write it like 90s, 30m, 72h or 7d"
        ) from None


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _read_secret_file(path: str | None, key: str) -> str | None:
    if not path:
        return None
    p = Path(path).expanduser()
    try:
        return p.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read {key} file {p}: {exc.strerror}") from None


class MatrixConfig(_Section):
    homeserver: str
    user_id: str
    access_token: SecretStr | None = None
    access_token_file: str | None = None
    password: SecretStr | None = None
    password_file: str | None = None
    device_id: str | None = None
    device_name: str = "linli"
    request_timeout: Duration = timedelta(seconds=40)
    sync_timeout: Duration = timedelta(seconds=30)
    max_rate_limit_retries: int = Field(default=5, ge=0, le=50)
    max_connection_retries: int = Field(default=2, ge=0, le=50)
    reconnect_max_delay: Duration = timedelta(seconds=60)
    timeline_limit: int = Field(default=100, ge=10, le=1000)

    @field_validator("homeserver")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _user(cls, v: str) -> str:
        if not (v.startswith("@") and ":" in v):
            raise ValueError("must be a full Matrix user id like @linli:your.server")
        return v

    @model_validator(mode="after")
    def _credentials(self) -> MatrixConfig:
        token = _read_secret_file(self.access_token_file, "matrix.access_token_file")
        password = _read_secret_file(self.password_file, "matrix.password_file")
        if token:
            object.__setattr__(self, "access_token", SecretStr(token))
        if password:
            object.__setattr__(self, "password", SecretStr(password))
        if not self.access_token and not self.password:
            raise ValueError(
                "set matrix.access_token or matrix.password (best through the environment: "
                "LINLI_MATRIX__ACCESS_TOKEN, or a *_file key)"
            )
        return self


class DatabaseConfig(_Section):
    url: str = "sqlite:///linli.db"
    echo: bool = False


class ClusterConfig(_Section):
    """Several processes on one PostgreSQL database (bot/cluster.py): a process's compounds
    are taken over ``lease`` after its last heartbeat; it renews every third of that."""

    lease: Duration = timedelta(seconds=30)

    @field_validator("lease")
    @classmethod
    def _lease(cls, v: timedelta) -> timedelta:
        if v < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return v


class SecurityConfig(_Section):
    """Keys for residents' personal data. Each is a url-safe base64 string of 32 bytes;
    give them by environment (LINLI_SECURITY__DATA_KEY) or a key file, never in the repo."""

    data_key: SecretStr | None = None
    data_key_file: str | None = None
    previous_data_keys: list[SecretStr] = Field(default_factory=list)

    @model_validator(mode="after")
    def _files(self) -> SecurityConfig:
        key = _read_secret_file(self.data_key_file, "security.data_key_file")
        if key:
            object.__setattr__(self, "data_key", SecretStr(key))
        return self


def protector_from_security(section: SecurityConfig) -> DataProtector:
    """The data protector from the config; a missing or bad key is a config error."""
    from linli.common.crypto import DataKeyError, DataProtector  # loads cryptography

    try:
        return DataProtector.from_strings(
            section.data_key.get_secret_value() if section.data_key else None,
            [k.get_secret_value() for k in section.previous_data_keys],
        )
    except DataKeyError as exc:
        raise ConfigError(f"security.data_key: {exc}") from None


class BotConfig(_Section):
    command_prefix: str = "!"
    admins: list[str] = Field(default_factory=list)
    default_locale: str = "zh-CN"
    default_timezone: str = "Asia/Shanghai"
    directory_refresh: Duration = timedelta(seconds=5)
    tick_interval: Duration = timedelta(seconds=15)
    # Rooms whose events are handled at the same time; each room's (and each direct chat's)
    # events stay in order. On SQLite units of work still take turns on the write lock.
    concurrent_rooms: int = Field(default=16, ge=1, le=256)

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        return parse_locale(v).value

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("admins")
    @classmethod
    def _admins(cls, v: list[str]) -> list[str]:
        for uid in v:
            if not (uid.startswith("@") and ":" in uid):
                raise ValueError(f"{uid!r} is not a Matrix user id like @name:server")
        return v


class WebConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The admin dashboard and its JSON API (bot/features/enrolment/dashboard/); needs
    # enabled: true.
    dashboard: bool = False
    session_ttl: Duration = timedelta(hours=8)
    secure_cookies: bool = False  # set true when the dashboard is served through HTTPS

    @model_validator(mode="after")
    def _dashboard_needs_server(self) -> WebConfig:
        if self.dashboard and not self.enabled:
            raise ValueError("dashboard: true needs enabled: true (the dashboard is served "
                             "by the bot's web app)")
        return self


class EnrolmentConfig(_Section):
    """Enrolment figures behind the metrics, the dashboard overview and the daily snapshots."""

    refresh: Duration = timedelta(minutes=15)
    compounds_per_tick: int = Field(default=50, ge=1, le=10_000)


class LoggingConfig(_Section):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return v


class ModerationConfig(_Section):
    """Warnings and flood control; field names match moderation.model.ModerationSettings."""

    warn_limit: int = Field(default=3, ge=1, le=100)
    warn_window: Duration = timedelta(days=30)
    warn_mute: Duration = timedelta(hours=24)
    flood_messages: int = Field(default=10, ge=2, le=1000)
    flood_window: Duration = timedelta(seconds=30)
    flood_mute: Duration = timedelta(minutes=10)
    flood_max_tracked: int = Field(default=100_000, ge=100)


class BroadcastsConfig(_Section):
    """Bulletins; field names match broadcasts.delivery.BroadcastSettings."""

    catch_up_window: Duration = timedelta(hours=1)
    lease_ttl: Duration = timedelta(seconds=60)
    max_concurrent_sends: int = Field(default=8, ge=1, le=100)
    late_after: Duration = timedelta(minutes=5)
    max_attempts: int = Field(default=5, ge=1, le=50)


class VerificationConfig(_Section):
    """Defaults of the verification policy; field names match
    verification.policy.VerificationPolicy. A compound overrides them in
    settings["verification"]."""

    grace: Duration = timedelta(hours=72)
    reminders: list[Duration] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=2)]
    )
    household_cap: int | None = Field(default=None, ge=1)
    adopted_grace: Duration = timedelta(days=14)
    adopted_dm_per_minute: int = Field(default=20, ge=1, le=1000)
    max_failures: int = Field(default=5, ge=1, le=100)
    failure_window: Duration = timedelta(hours=24)
    lock_duration: Duration = timedelta(hours=24)
    notice_period: Duration = timedelta(hours=24)
    code_validity: Duration = timedelta(days=365)


class QuestionTopicConfig(_Section):
    keywords: list[str] = Field(default_factory=list)
    roles: list[str]


class QuestionsConfig(_Section):
    """Residents' questions; field names match questions.settings.QuestionSettings. A list
    left out keeps the built-in default; ``extra_*`` lists add to the defaults. A compound
    overrides deadline, escalate_after, office_start, office_end, workdays and enabled in
    settings["questions"]."""

    enabled: bool = True
    deadline: Duration = timedelta(minutes=30)
    escalate_after: Duration = timedelta(hours=2)
    urgent_escalate_after: Duration = timedelta(minutes=15)
    office_start: str = "08:00"
    office_end: str = "20:00"
    workdays: list[str] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    )
    mention_window: Duration = timedelta(hours=24)
    expire_after: Duration = timedelta(days=7)
    pending_retry: Duration = timedelta(minutes=5)
    answer_reactions: list[str] = Field(default_factory=lambda: ["✅"])
    good_ratings: list[str] = Field(default_factory=lambda: ["👍"])
    bad_ratings: list[str] = Field(default_factory=lambda: ["👎"])
    digest_weekday: str = "mon"
    digest_time: str = "09:00"
    list_limit: int = Field(default=20, ge=1, le=200)
    topics: dict[str, QuestionTopicConfig] | None = None
    interrogatives: list[str] | None = None
    question_openers: list[str] | None = None
    non_questions: list[str] | None = None
    chatter_prefixes: list[str] | None = None
    problem_keywords: list[str] | None = None
    urgent_keywords: list[str] | None = None
    extra_interrogatives: list[str] = Field(default_factory=list)
    extra_non_questions: list[str] = Field(default_factory=list)
    extra_problem_keywords: list[str] = Field(default_factory=list)
    extra_urgent_keywords: list[str] = Field(default_factory=list)

    @field_validator("workdays", mode="before")
    @classmethod
    def _workdays(cls, v: Any) -> Any:
        # "mon-fri" or "mon,sat" as well as a list; parse_workdays reads the items.
        return [p for p in v.replace(" ", "").split(",") if p] if isinstance(v, str) else v

    def to_settings(self) -> Any:
        """The domain settings (questions.settings.QuestionSettings); ValueError if invalid."""
        from linli.community.model import Role
        from linli.questions import settings as qs

        lists: dict[str, Any] = {}
        for name in ("interrogatives", "question_openers", "non_questions", "chatter_prefixes",
                     "problem_keywords", "urgent_keywords"):
            base = getattr(self, name)
            value = tuple(base) if base is not None else getattr(qs.QuestionSettings, name)
            value += tuple(getattr(self, f"extra_{name}", ()))
            lists[name] = value
        topics = qs.DEFAULT_TOPICS
        if self.topics is not None:
            try:
                topics = tuple(
                    qs.Topic(name, tuple(t.keywords), tuple(Role(r) for r in t.roles))
                    for name, t in self.topics.items()
                )
            except ValueError:
                roles = ", ".join(r.value for r in Role)
                raise ValueError(f"topics: roles must be among {roles}") from None
            if not any(t.name == "other" for t in topics):
                topics += (qs.DEFAULT_TOPICS[-1],)
        weekday = self.digest_weekday.strip().lower()[:3]
        if weekday not in qs.WEEKDAYS:
            raise ValueError(f"digest_weekday {self.digest_weekday!r} is not a weekday like mon")
        return qs.QuestionSettings(
            enabled=self.enabled,
            deadline=self.deadline,
            escalate_after=self.escalate_after,
            urgent_escalate_after=self.urgent_escalate_after,
            office_hours=qs.OfficeHours(
                qs.parse_clock(self.office_start), qs.parse_clock(self.office_end),
                qs.parse_workdays(self.workdays),
            ),
            mention_window=self.mention_window,
            expire_after=self.expire_after,
            pending_retry=self.pending_retry,
            answer_reactions=tuple(self.answer_reactions),
            good_ratings=tuple(self.good_ratings),
            bad_ratings=tuple(self.bad_ratings),
            digest_weekday=qs.WEEKDAYS.index(weekday),
            digest_time=qs.parse_clock(self.digest_time),
            list_limit=self.list_limit,
            topics=topics,
            **lists,
        )

    @model_validator(mode="after")
    def _valid(self) -> QuestionsConfig:
        self.to_settings()  # its ValueError names the problem; pydantic adds "questions"
        return self


class Config(_Section):
    matrix: MatrixConfig
    database: DatabaseConfig = DatabaseConfig()
    cluster: ClusterConfig = ClusterConfig()
    security: SecurityConfig = SecurityConfig()
    bot: BotConfig = BotConfig()
    web: WebConfig = WebConfig()
    logging: LoggingConfig = LoggingConfig()
    verification: VerificationConfig = VerificationConfig()
    broadcasts: BroadcastsConfig = BroadcastsConfig()
    moderation: ModerationConfig = ModerationConfig()
    questions: QuestionsConfig = QuestionsConfig()
    enrolment: EnrolmentConfig = EnrolmentConfig()


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use a name like Asia/Shanghai") from None
    return name


def _env_value(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in ("[", "{"):
        try:
            return load_yaml(text)
        except yaml.YAMLError:
            return raw
    return raw


def apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``LINLI_SECTION__KEY=value`` variables on the YAML data."""
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = _env_value(raw)
    return data


def _placeholders(data: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            found += _placeholders(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _placeholders(v, f"{path}[{i}]")
    elif isinstance(data, str) and any(m in data for m in PLACEHOLDER_MARKERS):
        found.append(path)
    return found


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against config.example.yaml)"
        elif err["type"] == "missing":
            msg = "is required"
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)


def load_config(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read, overlay and validate. Raises ConfigError with a one-line, key-naming message."""
    environ = os.environ if environ is None else environ
    path = path or environ.get("LINLI_CONFIG")
    data: dict[str, Any] = {}
    if path:
        p = Path(path).expanduser()
        try:
            loaded = load_yaml(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"config file {p} not found (give --config PATH or LINLI_CONFIG)"
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise ConfigError(f"config file {p} is not valid YAML{where}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a mapping of sections")
        data = loaded
    data = apply_env(data, environ)
    bad = _placeholders(data)
    if bad:
        raise ConfigError(
            f"{bad[0]}: still holds a placeholder from config.example.yaml; set a real value"
        )
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
