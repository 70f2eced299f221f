"""Tables of the household registry and of verification.

Names, phones and notes are stored only encrypted (``*_enc``) plus keyed hashes for look-up
(``*_hash``); enrolment codes only as keyed hashes. One Matrix account is linked to at most
one person and a person to at most one account: ``verification_links`` has the account as
primary key and a unique person, so the database itself refuses a second link.
"""

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
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from linli.storage.tables.base import Base
from linli.storage.types import UTCDateTime


class HouseholdRow(Base):
    __tablename__ = "verification_households"
    __table_args__ = (
        UniqueConstraint(
            "compound_id", "building", "unit", "flat", name="uq_verification_households_flat"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    building: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(16))
    flat: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PersonRow(Base):
    __tablename__ = "verification_people"
    __table_args__ = (
        UniqueConstraint("household_id", "name_hash", name="uq_verification_people_name"),
        Index("ix_verification_people_compound_id", "compound_id"),
        Index("ix_verification_people_name_hash", "name_hash"),
        Index("ix_verification_people_phone_hash", "phone_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("verification_households.id"))
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_hash: Mapped[str] = mapped_column(String(64))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RegistryHistoryRow(Base):
    """Who changed the registry, when, and what (field names, never values)."""

    __tablename__ = "verification_history"
    __table_args__ = (
        Index("ix_verification_history_compound_id", "compound_id"),
        Index("ix_verification_history_person_id", "person_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    compound_id: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class CodeRow(Base):
    __tablename__ = "verification_codes"
    __table_args__ = (
        UniqueConstraint("code_hash", name="uq_verification_codes_code_hash"),
        Index("ix_verification_codes_household_id", "household_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("verification_households.id"))
    compound_id: Mapped[int] = mapped_column(Integer)
    code_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LinkRow(Base):
    __tablename__ = "verification_links"
    __table_args__ = (UniqueConstraint("person_id", name="uq_verification_links_person_id"),)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("verification_people.id"))
    compound_id: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(16))
    linked_by: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MemberRow(Base):
    __tablename__ = "verification_members"
    __table_args__ = (
        UniqueConstraint("compound_id", "user_id", name="uq_verification_members_user"),
        Index("ix_verification_members_due", "state", "next_action_at"),
        Index("ix_verification_members_compound_state", "compound_id", "state"),
        Index("ix_verification_members_household_id", "household_id"),
        Index("ix_verification_members_person_id", "person_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    user_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminders_sent: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failures_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    household_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    adopted: Mapped[bool] = mapped_column(Boolean)
    prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    notice_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    removal_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AttemptRow(Base):
    __tablename__ = "verification_attempts"
    __table_args__ = (Index("ix_verification_attempts_user_at", "user_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    compound_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    success: Mapped[bool] = mapped_column(Boolean)
