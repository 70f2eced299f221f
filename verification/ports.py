"""What the verification core needs from storage: the registry (households, people, codes)
and the members (their states, links, attempts and due work).

storage/repos/verification/ implements both with ``VerificationRepository``; names and phones
cross these ports in plaintext (the repository encrypts on the way in). A call writes in the
caller's unit of work (``common.ports.Transactions``), in a transaction of its own if none is
open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from linli.common.ids import CompoundId, HouseholdId, PersonId, UserID
from linli.verification.model import (
    CodeIssue,
    EnrolmentFigures,
    Household,
    ImportCounts,
    Link,
    Member,
    MemberState,
    PendingMember,
    Person,
    PersonStatus,
    RegistryEntry,
    RegistryRecord,
    UnenrolledUnit,
)
from linli.verification.names import FlatRef


class RegistryStore(Protocol):
    """Households, the people registered in them, and their enrolment codes."""

    async def households(self, compound_id: CompoundId) -> list[Household]: ...

    async def household_by_ref(
        self, compound_id: CompoundId, ref: FlatRef
    ) -> Household | None: ...

    async def registry(
        self, compound_id: CompoundId, include_inactive: bool = False
    ) -> list[RegistryEntry]:
        """Every person of the compound with their household, in address order."""
        ...

    async def find_person(self, household_id: HouseholdId, name: str) -> Person | None:
        """The active person of the household whose name matches (normalised)."""
        ...

    async def apply_import(
        self, compound_id: CompoundId, records: Sequence[RegistryRecord], actor: str,
        progress: Callable[[int], None] | None = None,
    ) -> ImportCounts:
        """Add or update every record at once; equal records change nothing."""
        ...

    async def set_person_status(
        self,
        person_id: PersonId,
        status: PersonStatus,
        actor: str,
        *,
        notice_deadline: datetime,
        notice_key: str,
        removal_reason: str,
        reminders_sent: int,
    ) -> list[Member]:
        """Mark a person moved out, removed or active again; an inactive person's account is
        unlinked and its members put on notice. Returns the affected members."""
        ...

    async def issue_codes(
        self, households: Sequence[Household], actor: str, validity: timedelta,
        new_code: Callable[[], str],
    ) -> list[CodeIssue]:
        """Revoke the households' live codes and issue one new code each."""
        ...

    async def revoke_codes(self, households: Sequence[Household], actor: str) -> int: ...

    async def household_for_code(
        self, compound_id: CompoundId, code: str
    ) -> Household | None:
        """The household whose live code this is, or None."""
        ...

    async def households_with_live_code(self, compound_id: CompoundId) -> set[HouseholdId]: ...


class MemberStore(Protocol):
    """Members' states per (compound, account), links to people, attempts and due work."""

    async def member(self, compound_id: CompoundId, user_id: str) -> Member | None: ...

    async def put_member(self, member: Member, next_action_at: datetime | None) -> Member:
        """Insert or overwrite the member row of (compound, user)."""
        ...

    async def link(self, member: Member, person: Person, method: str, actor: str) -> Member:
        """Link the account to the person and store the member as verified. A race between
        two accounts is lost with Conflict("error.person_taken" / "error.account_linked")."""
        ...

    async def unlink(self, user_id: str) -> Link | None: ...

    async def link_of_user(self, user_id: str) -> Link | None: ...

    async def link_of_person(self, person_id: PersonId) -> Link | None: ...

    async def verified_in_household(self, household_id: HouseholdId) -> int: ...

    async def record_failure(self, compound_id: CompoundId, user_id: str) -> None: ...

    async def failures_since(
        self, compound_id: CompoundId, user_id: str, since: datetime
    ) -> int: ...

    async def adopt(
        self, compound_id: CompoundId, user_ids: Sequence[str], deadline: datetime,
        next_action_at: datetime,
    ) -> list[UserID]:
        """Create pending, adopted members for accounts without one; returns those added."""
        ...

    async def due_members(
        self, compound_ids: Sequence[CompoundId], now: datetime, limit: int
    ) -> list[Member]:
        """Waiting members whose next action (notice, reminder, deadline) is due."""
        ...

    async def claim_due(
        self, updates: Sequence[tuple[Member, datetime | None]], expected: datetime
    ) -> list[Member]:
        """Store the new state of due members still as ``due_members`` saw them; returns the
        ones this caller owns the effects of."""
        ...

    async def unprompted_adopted(self, budgets: Mapping[CompoundId, int]) -> list[Member]:
        """Adopted members not yet asked: the first ``budgets[compound]`` of each compound in
        the order they were adopted, compound by compound, in one query."""
        ...

    async def prompted_since(
        self, compound_ids: Sequence[CompoundId], since: datetime
    ) -> dict[CompoundId, int]:
        """Adopted members asked after ``since``, per compound (absent: none)."""
        ...

    async def mark_prompted(
        self, members: Sequence[tuple[CompoundId, str]], at: datetime
    ) -> list[tuple[CompoundId, UserID]]:
        """Mark adopted members as asked; returns those this call marked (not already)."""
        ...

    async def waiting_memberships(self, user_id: str) -> list[Member]:
        """The account's waiting members in any compound, most recently joined first."""
        ...

    async def household_of_member(
        self, compound_id: CompoundId, user_id: str
    ) -> Household | None: ...

    async def member_counts(
        self, compound_ids: Sequence[CompoundId]
    ) -> dict[MemberState, int]: ...

    async def waiting_members(self, compound_id: CompoundId) -> list[PendingMember]: ...

    async def enrolment(
        self, compound_id: CompoundId, cap: int | None
    ) -> tuple[EnrolmentFigures, dict[str, EnrolmentFigures], list[UnenrolledUnit]]:
        """Figures for the compound and per building, and the unenrolled flats by unit."""
        ...


class VerificationStore(RegistryStore, MemberStore, Protocol):
    """Everything the verification service reads and writes."""
