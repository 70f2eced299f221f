"""The broadcasts core's settings from the deployment's config, and this process's name as
the holder of the scheduler's lease."""

from __future__ import annotations

import os
import secrets
import socket

from linli.bot.config import Config
from linli.broadcasts.delivery import BroadcastSettings


def process_owner() -> str:
    """A scheduler-lease owner id unique to this process (host, pid and a random part, so a
    restarted process with a recycled pid is still somebody else)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def settings_from_config(config: Config) -> BroadcastSettings:
    return BroadcastSettings(
        **config.broadcasts.model_dump(), default_timezone=config.bot.default_timezone
    )
