"""Members' states, links to people and verification attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from linli.common.errors import Conflict
from linli.common.ids import CompoundId, HouseholdId, PersonId, UserID
from linli.storage.repos.verification.rows import (
    WAITING,
    RepositoryBase,
    to_household,
    to_link,
    to_member,
)
from linli.storage.tables.verification import AttemptRow, HouseholdRow, LinkRow, MemberRow
from linli.verification.model import Household, Link, Member, MemberState, PendingMember, Person


class MemberRepository(RepositoryBase):
    """Member rows per (compound, account), links and attempts."""

    async def member(self, compound_id: CompoundId, user_id: str) -> Member | None:
        async with self.db.session() as s:
            row = await s.scalar(select(MemberRow).where(
                MemberRow.compound_id == compound_id, MemberRow.user_id == user_id
            ))
        return to_member(row) if row else None

    async def put_member(self, member: Member, next_action_at: datetime | None) -> Member:
        """Insert or overwrite the member row of (compound, user)."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = await s.scalar(select(MemberRow).where(
                MemberRow.compound_id == member.compound_id, MemberRow.user_id == member.user_id
            ))
            if row is None:
                row = MemberRow(compound_id=member.compound_id, user_id=member.user_id,
                                joined_at=member.joined_at or now)
                s.add(row)
            self._fill(row, member, next_action_at, now)
            await s.flush()
            return to_member(row)

    async def link(
        self, member: Member, person: Person, method: str, actor: str
    ) -> Member:
        """Link the account to the person and store the member as verified, atomically.

        The database's unique constraints decide a race between two accounts: the loser gets
        Conflict("error.person_taken") or Conflict("error.account_linked").
        """
        now = self.clock.now()
        try:
            async with self.db.transaction() as s:
                if await s.get(LinkRow, member.user_id) is not None:
                    raise Conflict("error.account_linked")
                if await s.scalar(select(LinkRow.user_id).where(
                    LinkRow.person_id == person.id
                )) is not None:
                    raise Conflict("error.person_taken")
                s.add(LinkRow(
                    user_id=member.user_id, person_id=person.id, compound_id=person.compound_id,
                    household_id=person.household_id, method=method, linked_by=actor,
                    linked_at=now,
                ))
                row = await s.scalar(select(MemberRow).where(
                    MemberRow.compound_id == member.compound_id,
                    MemberRow.user_id == member.user_id,
                ))
                if row is None:
                    row = MemberRow(compound_id=member.compound_id, user_id=member.user_id,
                                    joined_at=member.joined_at or now)
                    s.add(row)
                self._fill(row, member, None, now)
                s.add(AttemptRow(compound_id=member.compound_id, user_id=member.user_id,
                                 at=now, success=True))
                await s.flush()
                return to_member(row)
        except IntegrityError as exc:
            raise Conflict("error.person_taken") from exc

    async def unlink(self, user_id: str) -> Link | None:
        async with self.db.transaction() as s:
            row = await s.get(LinkRow, user_id)
            if row is None:
                return None
            link = to_link(row)
            await s.delete(row)
        return link

    async def link_of_user(self, user_id: str) -> Link | None:
        async with self.db.session() as s:
            row = await s.get(LinkRow, user_id)
        return to_link(row) if row else None

    async def link_of_person(self, person_id: PersonId) -> Link | None:
        async with self.db.session() as s:
            row = await s.scalar(select(LinkRow).where(LinkRow.person_id == person_id))
        return to_link(row) if row else None

    async def verified_in_household(self, household_id: HouseholdId) -> int:
        """Accounts linked to people of this household (whether or not in the room now)."""
        async with self.db.session() as s:
            n = await s.scalar(select(func.count()).select_from(LinkRow).where(
                LinkRow.household_id == household_id
            ))
        return int(n or 0)

    async def record_failure(self, compound_id: CompoundId, user_id: str) -> None:
        async with self.db.transaction() as s:
            s.add(AttemptRow(compound_id=compound_id, user_id=user_id, at=self.clock.now(),
                             success=False))

    async def failures_since(self, compound_id: CompoundId, user_id: str, since: datetime) -> int:
        async with self.db.session() as s:
            n = await s.scalar(select(func.count()).select_from(AttemptRow).where(
                AttemptRow.user_id == user_id, AttemptRow.compound_id == compound_id,
                AttemptRow.at > since, AttemptRow.success.is_(False),
            ))
        return int(n or 0)

    async def prune_attempts(self, older_than: timedelta) -> int:
        async with self.db.transaction() as s:
            result = await s.execute(
                delete(AttemptRow).where(AttemptRow.at < self.clock.now() - older_than)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def waiting_memberships(self, user_id: str) -> list[Member]:
        """The account's waiting (pending or locked) member rows in any compound, the most
        recently joined first: where a direct message from it may be meant."""
        async with self.db.session() as s:
            rows = (await s.scalars(select(MemberRow).where(
                MemberRow.user_id == user_id, MemberRow.state.in_(WAITING),
            ).order_by(MemberRow.joined_at.desc(), MemberRow.id.desc()))).all()
        return [to_member(r) for r in rows]

    async def household_of_member(
        self, compound_id: CompoundId, user_id: str
    ) -> Household | None:
        """The household of a verified member of the compound, in one query."""
        async with self.db.session() as s:
            row = await s.scalar(
                select(HouseholdRow).join(MemberRow, MemberRow.household_id == HouseholdRow.id)
                .where(MemberRow.compound_id == compound_id, MemberRow.user_id == user_id,
                       MemberRow.state == MemberState.VERIFIED.value)
            )
        return to_household(row) if row else None

    async def member_counts(self, compound_ids: Sequence[CompoundId]) -> dict[MemberState, int]:
        """Members by state over the given compounds, in one query (every state present)."""
        counts = {state: 0 for state in MemberState}
        if not compound_ids:
            return counts
        async with self.db.session() as s:
            rows = (await s.execute(
                select(MemberRow.state, func.count()).where(
                    MemberRow.compound_id.in_(compound_ids)
                ).group_by(MemberRow.state)
            )).all()
        for state, n in rows:
            counts[MemberState(state)] = int(n)
        return counts

    async def waiting_members(self, compound_id: CompoundId) -> list[PendingMember]:
        async with self.db.session() as s:
            rows = (await s.scalars(select(MemberRow).where(
                MemberRow.compound_id == compound_id, MemberRow.state.in_(WAITING),
            ).order_by(MemberRow.deadline, MemberRow.user_id))).all()
        return [
            PendingMember(UserID(r.user_id), MemberState(r.state), r.deadline, r.locked_until,
                          r.adopted)
            for r in rows
        ]
