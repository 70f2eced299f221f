"""Every catalogue of messages people read, gathered for the Translator.

Each part that speaks to people keeps its gettext catalogue next to its code
(``<part>/locale/<lang>/LC_MESSAGES/linli.po`` and the compiled ``.mo``); see
``linli.common.i18n`` and ``linli.common.catalogues``.
"""

from __future__ import annotations

from linli.common.catalogues import PARTS
from linli.common.i18n import Catalog, catalogue


def all_catalogs() -> list[Catalog]:
    return [catalogue(part) for part in PARTS]
