"""All tables; importing this package registers every table on ``Base.metadata``."""

from storage.tables.base import Base
from storage.tables import core  # noqa: F401  (registers tables)
from storage.tables import moderation  # noqa: F401

__all__ = ["Base"]
