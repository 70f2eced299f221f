"""Moderation tables: restrictions the bot imposed (with absolute end times and the power level
to restore) and warnings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from linli.storage.tables.base import Base
from linli.storage.types import UTCDateTime


class RestrictionRow(Base):
    __tablename__ = "moderation_restrictions"
    __table_args__ = (
        # "is this user restricted here?" and the due-timer scan
        Index("ix_moderation_restrictions_room_user", "room_id", "user_id"),
        Index("ix_moderation_restrictions_ends_at", "ends_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    room_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    imposed_by: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    imposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    previous_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    muted_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lifted_by: Mapped[str | None] = mapped_column(String(255), nullable=True)


class WarningRow(Base):
    __tablename__ = "moderation_warnings"
    __table_args__ = (
        Index("ix_moderation_warnings_compound_user_at", "compound_id", "user_id", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    user_id: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
