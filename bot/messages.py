"""Every catalog of messages people read, gathered for the Translator.

Each package that speaks to people keeps ``MESSAGES`` in its own ``messages`` module.
"""

from __future__ import annotations

import importlib

from linli.common.i18n import COMMON_MESSAGES, Catalog

CATALOG_MODULES = [
    "linli.bot.messages_edge",
    "linli.bot.messages_admin",
    "linli.bot.messages_cli",
    "linli.community.messages",
    "linli.verification.messages",
    "linli.broadcasts.messages",
    "linli.questions.messages",
    "linli.moderation.messages",
]


def all_catalogs() -> list[Catalog]:
    catalogs: list[Catalog] = [COMMON_MESSAGES]
    for name in CATALOG_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a feature package without messages yet
                continue
            raise
        catalogs.append(module.MESSAGES)
    return catalogs
