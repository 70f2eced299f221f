"""Enrolment codes: issued per household, stored as keyed hashes only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import select, update

from linli.common.ids import CompoundId, HouseholdId
from linli.storage.repos.verification.rows import RepositoryBase, chunks, to_household
from linli.storage.tables.verification import CodeRow, HouseholdRow
from linli.verification.codes import CODE_PURPOSE
from linli.verification.model import CodeIssue, Household


class CodeRepository(RepositoryBase):
    """Codes are issued, revoked and looked up by keyed hash."""

    async def issue_codes(
        self, households: Sequence[Household], actor: str, validity: timedelta,
        new_code: Callable[[], str],
    ) -> list[CodeIssue]:
        """Revoke the households' live codes and issue one new code each."""
        if not households:
            return []
        p = self.protector
        now = self.clock.now()
        expires = now + validity
        issued: list[CodeIssue] = []
        async with self.db.transaction() as s:
            ids = [h.id for h in households]
            for chunk in chunks(ids):
                await s.execute(
                    update(CodeRow)
                    .where(CodeRow.household_id.in_(chunk), CodeRow.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
            pending: dict[str, tuple[Household, str]] = {}
            for h in households:
                code = new_code()
                pending[p.keyed_hash(CODE_PURPOSE, code)] = (h, code)
            # A collision in 2^40 is rare but possible at district scale: draw again.
            hashes = list(pending)
            for chunk in chunks(hashes):
                taken = set((await s.scalars(
                    select(CodeRow.code_hash).where(CodeRow.code_hash.in_(chunk))
                )).all())
                for hsh in taken:
                    h, _ = pending.pop(hsh)
                    while True:
                        code = new_code()
                        fresh = p.keyed_hash(CODE_PURPOSE, code)
                        if fresh not in pending and not await s.scalar(
                            select(CodeRow.id).where(CodeRow.code_hash == fresh)
                        ):
                            pending[fresh] = (h, code)
                            break
            for hsh, (h, code) in pending.items():
                s.add(CodeRow(
                    household_id=h.id, compound_id=h.compound_id, code_hash=hsh,
                    key_id=p.key_id, issued_at=now, issued_by=actor, expires_at=expires,
                ))
                issued.append(CodeIssue(household=h, code=code, expires_at=expires))
            if households:
                self._history(s, actor, "codes.issue", households[0].compound_id,
                              details={"households": len(households)})
        issued.sort(key=lambda c: (c.household.building, c.household.unit, c.household.flat))
        return issued

    async def revoke_codes(self, households: Sequence[Household], actor: str) -> int:
        now = self.clock.now()
        count = 0
        async with self.db.transaction() as s:
            for chunk in chunks([h.id for h in households]):
                result = await s.execute(
                    update(CodeRow)
                    .where(CodeRow.household_id.in_(chunk), CodeRow.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
                count += int(result.rowcount or 0)  # type: ignore[attr-defined]
            if households:
                self._history(s, actor, "codes.revoke", households[0].compound_id,
                              details={"households": len(households)})
        return count

    async def household_for_code(self, compound_id: CompoundId, code: str) -> Household | None:
        """The household whose live code this is (under any configured key), or None."""
        hashes = self.protector.keyed_hashes(CODE_PURPOSE, code)
        now = self.clock.now()
        async with self.db.session() as s:
            row = await s.scalar(
                select(HouseholdRow).join(CodeRow, CodeRow.household_id == HouseholdRow.id)
                .where(
                    CodeRow.code_hash.in_(hashes), CodeRow.compound_id == compound_id,
                    CodeRow.revoked_at.is_(None), CodeRow.expires_at > now,
                )
            )
        return to_household(row) if row else None

    async def households_with_live_code(self, compound_id: CompoundId) -> set[HouseholdId]:
        now = self.clock.now()
        async with self.db.session() as s:
            ids = (await s.scalars(select(CodeRow.household_id).where(
                CodeRow.compound_id == compound_id, CodeRow.revoked_at.is_(None),
                CodeRow.expires_at > now,
            ))).all()
        return {HouseholdId(i) for i in ids}
