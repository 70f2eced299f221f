"""Enrolment reporting's tables: admin web tokens (hashes only) and daily enrolment
snapshots."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.storage.tables.base import Base
from linli.storage.types import UTCDateTime


class WebTokenRow(Base):
    __tablename__ = "web_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), nullable=True)
    label: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EnrolmentSnapshotRow(Base):
    __tablename__ = "enrolment_snapshots"
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    households: Mapped[int] = mapped_column(Integer)
    covered: Mapped[int] = mapped_column(Integer)
    verified_members: Mapped[int] = mapped_column(Integer)
    pending: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
