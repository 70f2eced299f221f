"""Bulletins, their decided occurrences, the delivery ledger and the scheduler lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from linli.storage.tables.base import Base
from linli.storage.types import UTCDateTime


class BulletinRow(Base):
    __tablename__ = "bulletins"
    __table_args__ = (
        Index("ix_bulletins_next_at", "next_at"),
        Index("ix_bulletins_station_id", "station_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    bodies: Mapped[list[str]] = mapped_column(JSON)
    translations: Mapped[dict[str, Any]] = mapped_column(JSON)
    target_kind: Mapped[str] = mapped_column(String(16))
    target_station_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target_compound_ids: Mapped[list[int]] = mapped_column(JSON)
    schedule_kind: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cron: Mapped[str | None] = mapped_column(String(120), nullable=True)
    interval_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), nullable=True)
    paused: Mapped[bool] = mapped_column(Boolean)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fired_count: Mapped[int] = mapped_column(Integer)
    mention_room: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BulletinOccurrenceRow(Base):
    """One row per decided occurrence (fired or skipped); unique per bulletin and instant."""

    __tablename__ = "bulletin_occurrences"
    __table_args__ = (
        UniqueConstraint("bulletin_id", "at", name="uq_bulletin_occurrences_bulletin_id"),
        Index("ix_bulletin_occurrences_state", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    series_index: Mapped[int] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean)
    coalesced: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BulletinDeliveryRow(Base):
    """The ledger: one row per (bulletin, occurrence, room), written before sending."""

    __tablename__ = "bulletin_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "bulletin_id", "occurrence", "room_id", name="uq_bulletin_deliveries_bulletin_id"
        ),
        UniqueConstraint("txn_id", name="uq_bulletin_deliveries_txn_id"),
    )
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"))
    occurrence: Mapped[datetime] = mapped_column(UTCDateTime())
    room_id: Mapped[str] = mapped_column(String(255))
    compound_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    station_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    txn_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BroadcastLeaseRow(Base):
    """Who runs the bulletin scheduler on this database, until when."""

    __tablename__ = "broadcast_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
