"""A compound's settings (``compound.settings``), as ``linli compound set`` changes them.

Every value is checked with the validators of the config file's sections before anything is
written (``questions`` with ``QuestionsConfig``, ``verification`` with
``VerificationConfig``), and the questions block once more together with the deployment's
values as the bot will combine them, so a compound cannot hold what the bot would ignore or
refuse at run time. A ``--setting`` is merged into the block already
stored (``questions={deadline: 1h}`` keeps the block's other keys); ``--unset`` removes a key.
Values are stored in the one form the bot reads back: durations as ``1h30m``, times of day as
``09:00``, weekdays as names.

Values are read as YAML by ``bot.config.load_yaml``: ``18:00`` is a time, not YAML 1.1's
number 1080, and ``0571`` a string of digits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from linli.bot.config import Config, QuestionsConfig, VerificationConfig, load_yaml
from linli.common.durations import format_duration, parse_duration
from linli.common.errors import DomainError
from linli.questions import settings as qs
from linli.verification.policy import VerificationPolicy

# What a compound may override of the questions section (questions.settings.with_overrides
# reads exactly these); the keyword lists and topics are the deployment's.
QUESTION_KEYS = ("enabled", "deadline", "escalate_after", "urgent_escalate_after",
                 "mention_window", "expire_after", "office_start", "office_end", "workdays")
CLOCK_KEYS = ("office_start", "office_end")
VERIFICATION_KEYS = tuple(VerificationConfig.model_fields)
TOP_KEYS = ("questions", "verification", "emergency_numbers", "officer_on_duty")
# Set by ``linli compound adopt``, kept as it is.
INTERNAL_KEYS = ("adopted",)
# Columns of the compound, changed with their own option.
COLUMNS = {"name": "name", "timezone": "timezone", "tz": "timezone", "locale": "locale",
           "mode": "mode", "admission_mode": "mode", "station": "station"}
MAX_LABEL = 20
MAX_OFFICER = 40
_NUMBER = re.compile(r"\+?[0-9][0-9 ()\-]{1,19}")


class SettingError(Exception):
    """A setting the bot cannot read: the key it names and a message key of
    bot/locale (``cli.setting.*``) with its parameters."""

    def __init__(self, key: str, message: str, /, **params: Any) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
        self.params = params


def parse_assignment(item: str) -> tuple[list[str], Any]:
    """``KEY=VALUE`` or ``BLOCK.KEY=VALUE`` -> (path, value read as YAML)."""
    key, sep, raw = item.partition("=")
    path = [p.strip() for p in key.split(".")]
    if not sep or not all(path) or len(path) > 2:
        raise SettingError(item[:60], "cli.setting.form")
    try:
        value = load_yaml(raw) if raw.strip() else None
    except Exception:  # noqa: BLE001 - yaml's errors have many types; the text is enough
        raise SettingError(".".join(path), "cli.setting.yaml") from None
    if value is None:
        raise SettingError(".".join(path), "cli.setting.empty")
    return path, value


def merged(current: Mapping[str, Any], assignments: list[str], unsets: list[str]
           ) -> dict[str, Any]:
    """The settings after ``--setting`` items (merged into their block) and ``--unset`` keys,
    not yet checked."""
    settings: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v)
                                for k, v in current.items()}
    for item in assignments:
        path, value = parse_assignment(item)
        top = path[0]
        if top in COLUMNS:
            raise SettingError(top, "cli.setting.column", option=COLUMNS[top])
        if len(path) == 2:
            block = settings.get(top)
            settings[top] = {**(block if isinstance(block, Mapping) else {}), path[1]: value}
        elif isinstance(value, Mapping) and isinstance(settings.get(top), Mapping):
            settings[top] = {**settings[top], **value}
        else:
            settings[top] = value
    for key in unsets:
        path = [p.strip() for p in key.split(".")]
        block = settings.get(path[0])
        if len(path) == 1 and path[0] in settings:
            del settings[path[0]]
        elif len(path) == 2 and isinstance(block, Mapping) and path[1] in block:
            rest = {k: v for k, v in block.items() if k != path[1]}
            if rest:
                settings[path[0]] = rest
            else:
                del settings[path[0]]
        else:
            raise SettingError(key[:60], "cli.setting.not_set")
    return settings


def checked(config: Config, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings in the form the bot reads, or SettingError naming the first bad key."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "questions":
            out[key] = _questions(config, value)
        elif key == "verification":
            out[key] = _verification(value)
        elif key == "emergency_numbers":
            out[key] = _numbers(value)
        elif key == "officer_on_duty":
            out[key] = _text(key, value, MAX_OFFICER)
        elif key in INTERNAL_KEYS:
            out[key] = value
        else:
            raise SettingError(key, "cli.setting.unknown", known=", ".join(TOP_KEYS))
    return out


# --- the blocks ---------------------------------------------------------------------------------


def _questions(config: Config, block: Any) -> dict[str, Any]:
    if not isinstance(block, Mapping):
        raise SettingError("questions", "cli.setting.not_mapping",
                           example='{deadline: 1h, office_start: "09:00"}')
    base = config.questions.model_dump()
    out: dict[str, Any] = {}
    for key, value in block.items():
        name = f"questions.{key}"
        if key not in QUESTION_KEYS:
            raise SettingError(name, "cli.setting.unknown",
                               known=", ".join(f"questions.{k}" for k in QUESTION_KEYS))
        if key in CLOCK_KEYS:
            out[key] = _clock(name, value)
        elif key == "workdays":
            out[key] = _workdays(name, value)
        else:
            out[key] = _stored(_field(QuestionsConfig, key, value, name))
    # Together with the deployment's values, as the bot will combine them.
    together = {**base, **out}
    try:
        QuestionsConfig.model_validate(together).to_settings()
    except (ValidationError, ValueError):
        deadline, escalate = (_as_delta(together[k]) for k in ("deadline", "escalate_after"))
        if escalate <= deadline:
            raise SettingError("questions.escalate_after", "cli.setting.escalate_order",
                               escalate=format_duration(escalate),
                               deadline=format_duration(deadline)) from None
        start = qs.parse_clock(together["office_start"])
        end = qs.parse_clock(together["office_end"])
        if start >= end:
            raise SettingError("questions", "cli.setting.office_order",
                               start=start.strftime("%H:%M"), end=end.strftime("%H:%M")) from None
        raise SettingError("questions", "cli.setting.contradiction") from None
    return out


def _verification(block: Any) -> dict[str, Any]:
    if not isinstance(block, Mapping):
        raise SettingError("verification", "cli.setting.not_mapping",
                           example="{grace: 96h, household_cap: 3}")
    out: dict[str, Any] = {}
    for key, value in block.items():
        name = f"verification.{key}"
        if key not in VERIFICATION_KEYS:
            raise SettingError(name, "cli.setting.unknown",
                               known=", ".join(f"verification.{k}" for k in VERIFICATION_KEYS))
        out[key] = _stored(_field(VerificationConfig, key, value, name))
    try:  # the domain's own reading, as the bot will do it
        VerificationPolicy().with_overrides(out)
    except DomainError:
        raise SettingError("verification", "cli.setting.contradiction") from None
    return out


def _numbers(value: Any) -> list[dict[str, str]]:
    key = "emergency_numbers"
    example = "[{label: 报警, number: 110}, {label: 物业, number: 0571-88001234}]"
    if not isinstance(value, list) or not value:
        raise SettingError(key, "cli.setting.numbers", example=example)
    out = []
    for item in value:
        if not isinstance(item, Mapping) or set(item) != {"label", "number"}:
            raise SettingError(key, "cli.setting.numbers", example=example)
        label = _text(key, item["label"], MAX_LABEL)
        number = unicodedata.normalize("NFKC", str(item["number"])).strip()
        if isinstance(item["number"], bool) or not _NUMBER.fullmatch(number):
            raise SettingError(key, "cli.setting.number", value=number[:30])
        out.append({"label": label, "number": number})
    return out


# --- single values --------------------------------------------------------------------------


def _field(model: type[BaseModel], key: str, value: Any, name: str) -> Any:
    """One value checked with the validators of its field in the config section (its type,
    the duration reader, its bounds); how it fits the other keys is checked afterwards."""
    info = model.model_fields[key]
    kind: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError:
        raise _bad_value(model, key, value, name) from None


def _bad_value(model: type[BaseModel], key: str, value: Any, name: str) -> SettingError:
    info = model.model_fields[key]
    shown = _shown(value)
    if info.annotation is timedelta:
        return SettingError(name, "error.invalid_duration", value=shown)
    if info.annotation == list[timedelta]:
        return SettingError(name, "cli.setting.durations", value=shown)
    if info.annotation is bool:
        return SettingError(name, "cli.setting.bool", value=shown)
    low = next((m.ge for m in info.metadata if hasattr(m, "ge")), 1)
    high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    if high is not None:
        return SettingError(name, "cli.setting.count_range", value=shown, min=low, max=high)
    return SettingError(name, "cli.setting.count", value=shown, min=low)


def _clock(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SettingError(name, "cli.setting.time", value=_shown(value))
    try:
        return qs.parse_clock(value).strftime("%H:%M")
    except ValueError:
        raise SettingError(name, "cli.setting.time", value=_shown(value)) from None


def _workdays(name: str, value: Any) -> list[str]:
    try:
        items = QuestionsConfig.model_validate({"workdays": value}).workdays
        days = qs.parse_workdays(items)
    except (ValidationError, ValueError):
        raise SettingError(name, "cli.setting.workdays", value=_shown(value)) from None
    return [qs.WEEKDAYS[d] for d in sorted(days)]


def _text(key: str, value: Any, limit: int) -> str:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not text or len(text) > limit:
        raise SettingError(key, "cli.setting.text", max=limit)
    return text


def _stored(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, list):
        return [_stored(v) for v in value]
    return value


def _as_delta(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(str(value))


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 30 else text[:29] + "…"
