"""All tables; importing this package registers every table on ``Base.metadata``."""

from linli.storage.tables import (
    broadcasts,  # noqa: F401
    cluster,  # noqa: F401
    core,  # noqa: F401  (registers tables)
    enrolment,  # noqa: F401
    moderation,  # noqa: F401
    outbox,  # noqa: F401
    questions,  # noqa: F401
    verification,  # noqa: F401
)
from linli.storage.tables.base import Base

__all__ = ["Base"]
