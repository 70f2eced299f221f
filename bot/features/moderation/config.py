"""The moderation settings from config.yaml's ``moderation:`` section."""

from __future__ import annotations

from linli.bot.config import ModerationConfig
from linli.moderation.model import ModerationSettings


def moderation_settings(section: ModerationConfig) -> ModerationSettings:
    return ModerationSettings(**section.model_dump())
