"""The verification policy from config.yaml's ``verification:`` section."""

from __future__ import annotations

from typing import Any

from linli.bot.config import VerificationConfig
from linli.verification.policy import VerificationPolicy


def policy_from_config(section: VerificationConfig) -> VerificationPolicy:
    """The policy defaults from the config section (the bot, the CLI and the demo)."""
    values: dict[str, Any] = section.model_dump()
    values["reminders"] = tuple(values["reminders"])
    return VerificationPolicy(**values)
