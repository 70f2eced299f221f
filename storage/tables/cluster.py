"""Several bot processes on one PostgreSQL database (storage/repos/cluster.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.storage.tables.base import Base
from linli.storage.types import UTCDateTime


class ClusterProcessRow(Base):
    """A running ``linli run`` process and its last heartbeat."""

    __tablename__ = "cluster_processes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    web_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CompoundLeaseRow(Base):
    """Which process owns a compound (its rooms, its residents' direct rooms), until when."""

    __tablename__ = "compound_leases"
    __table_args__ = (Index("ix_compound_leases_owner", "owner"),)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
