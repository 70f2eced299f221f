"""Logging set-up for the running bot."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    # nio logs request bodies at DEBUG and 429 back-off at WARNING; keep its chatter down.
    logging.getLogger("nio").setLevel(max(logging.WARNING, root.level))
