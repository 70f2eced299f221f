"""Effects on the homeserver recorded in a unit of work, carried out once it commits
(bot/runtime/outbox.py; storage/repos/outbox.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.storage.tables.base import Base
from linli.storage.types import UTCDateTime


class PendingEffectRow(Base):
    """One effect waiting to be carried out: what (``kind`` and the encrypted ``payload``),
    on whom (``target``: the room or person whose effects keep their order) and the cause
    its transaction ids are derived from. The row goes once the effect is done."""

    __tablename__ = "pending_effects"
    __table_args__ = (
        Index("ix_pending_effects_target", "target", "id"),
        Index("ix_pending_effects_next_try_at", "next_try_at"),
        # Ids are never reused (a cause derived from a reused id would repeat a
        # transaction id the homeserver still remembers).
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(String(400))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime())
