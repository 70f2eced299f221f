"""All tables; importing this package registers every table on ``Base.metadata``."""

from storage.tables.base import Base
from storage.tables import core  # noqa: F401  (registers tables)
from storage.tables import broadcasts  # noqa: F401
from storage.tables import verification  # noqa: F401
from storage.tables import moderation  # noqa: F401
from storage.tables import questions  # noqa: F401

__all__ = ["Base"]
