"""Rows <-> domain objects and what the parts of the verification repository share."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linli.common.clock import Clock
from linli.common.crypto import DataProtector
from linli.common.ids import CompoundId, HouseholdId, PersonId, UserID
from linli.storage.db import Database
from linli.storage.tables.verification import (
    HouseholdRow,
    LinkRow,
    MemberRow,
    PersonRow,
    RegistryHistoryRow,
)
from linli.verification.model import (
    Household,
    Link,
    Member,
    MemberState,
    Person,
    PersonRole,
    PersonStatus,
)

NAME_PURPOSE = "person-name"
PHONE_PURPOSE = "person-phone"
CHUNK = 500
WAITING = (MemberState.PENDING.value, MemberState.LOCKED.value)


@dataclass(frozen=True)
class RotationCounts:
    people: int
    codes_on_old_keys: int


def to_household(row: HouseholdRow) -> Household:
    return Household(
        id=HouseholdId(row.id), compound_id=CompoundId(row.compound_id),
        building=row.building, unit=row.unit, flat=row.flat,
    )


def to_member(row: MemberRow) -> Member:
    return Member(
        compound_id=CompoundId(row.compound_id),
        user_id=UserID(row.user_id),
        state=MemberState(row.state),
        deadline=row.deadline,
        reminders_sent=row.reminders_sent,
        locked_until=row.locked_until,
        person_id=PersonId(row.person_id) if row.person_id is not None else None,
        household_id=HouseholdId(row.household_id) if row.household_id is not None else None,
        adopted=row.adopted,
        prompted_at=row.prompted_at,
        failures_since=row.failures_since,
        notice_key=row.notice_key,
        removal_reason=row.removal_reason,
        joined_at=row.joined_at,
        verified_at=row.verified_at,
    )


def to_link(row: LinkRow) -> Link:
    return Link(
        user_id=UserID(row.user_id), person_id=PersonId(row.person_id),
        compound_id=CompoundId(row.compound_id), household_id=HouseholdId(row.household_id),
        method=row.method, linked_at=row.linked_at,
    )


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


FILLED = ("state", "deadline", "next_action_at", "reminders_sent", "locked_until",
          "failures_since", "person_id", "household_id", "adopted", "prompted_at", "notice_key",
          "removal_reason", "verified_at", "updated_at")
"""The member row's columns ``RepositoryBase._fill`` writes whatever the member."""


class RepositoryBase:
    """What every part of the verification repository shares: the database, the clock, the
    DataProtector, and the conversions between rows and domain objects."""

    def __init__(self, db: Database, clock: Clock, protector: DataProtector) -> None:
        self.db = db
        self.clock = clock
        self.protector = protector

    # people <-> rows -----------------------------------------------------------------------
    def _person(self, row: PersonRow) -> Person:
        p = self.protector
        return Person(
            id=PersonId(row.id),
            household_id=HouseholdId(row.household_id),
            compound_id=CompoundId(row.compound_id),
            name=p.decrypt(row.name_enc),
            role=PersonRole(row.role),
            phone=p.decrypt_optional(row.phone_enc),
            note=p.decrypt_optional(row.note_enc),
            status=PersonStatus(row.status),
        )

    def _history(
        self, s: AsyncSession, actor: str, action: str, compound_id: int,
        household_id: int | None = None, person_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        s.add(RegistryHistoryRow(
            at=self.clock.now(), actor=actor, action=action, compound_id=compound_id,
            household_id=household_id, person_id=person_id, details=details or {},
        ))


    @staticmethod
    def _fill(row: MemberRow, m: Member, next_action_at: datetime | None, now: datetime) -> None:
        row.state = m.state.value
        row.deadline = m.deadline
        row.next_action_at = next_action_at
        row.reminders_sent = m.reminders_sent
        row.locked_until = m.locked_until
        row.failures_since = m.failures_since
        row.person_id = m.person_id
        row.household_id = m.household_id
        row.adopted = m.adopted
        row.prompted_at = m.prompted_at
        row.notice_key = m.notice_key
        row.removal_reason = m.removal_reason
        row.verified_at = m.verified_at
        if m.joined_at is not None:
            row.joined_at = m.joined_at
        row.updated_at = now


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort "2" before "10"; letters after numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                 for p in re.split(r"(\d+)", text) if p)
