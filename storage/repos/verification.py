"""Registry, codes and verification state.

The repository holds the DataProtector: values are encrypted on the way in and decrypted on
the way out, so the domain sees plain names and the database only ciphertext and keyed
hashes. Each public method is one transaction. Bulk paths (import, adoption, due work,
reports) cost a fixed number of queries, not one per person or member.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linli.common.clock import Clock
from linli.common.crypto import DataProtector
from linli.common.errors import Conflict
from linli.common.ids import CompoundId, HouseholdId, PersonId, UserID
from linli.storage.db import Database
from linli.storage.tables.verification import (
    AttemptRow,
    CodeRow,
    HouseholdRow,
    LinkRow,
    MemberRow,
    PersonRow,
    RegistryHistoryRow,
)
from linli.verification.codes import CODE_PURPOSE
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
    PersonRole,
    PersonStatus,
    RegistryEntry,
    RegistryRecord,
    UnenrolledUnit,
)
from linli.verification.names import NAME_DOT, FlatRef, dotless_name, normalise_name

log = logging.getLogger(__name__)

NAME_PURPOSE = "person-name"
PHONE_PURPOSE = "person-phone"
_CHUNK = 500
_WAITING = (MemberState.PENDING.value, MemberState.LOCKED.value)


@dataclass(frozen=True)
class RotationCounts:
    people: int
    codes_on_old_keys: int


def _household(row: HouseholdRow) -> Household:
    return Household(
        id=HouseholdId(row.id), compound_id=CompoundId(row.compound_id),
        building=row.building, unit=row.unit, flat=row.flat,
    )


def _member(row: MemberRow) -> Member:
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


def _link(row: LinkRow) -> Link:
    return Link(
        user_id=UserID(row.user_id), person_id=PersonId(row.person_id),
        compound_id=CompoundId(row.compound_id), household_id=HouseholdId(row.household_id),
        method=row.method, linked_at=row.linked_at,
    )


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class VerificationRepository:
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

    # households ------------------------------------------------------------------------------
    async def households(self, compound_id: CompoundId) -> list[Household]:
        async with self.db.session() as s:
            rows = (await s.scalars(
                select(HouseholdRow).where(HouseholdRow.compound_id == compound_id)
                .order_by(HouseholdRow.building, HouseholdRow.unit, HouseholdRow.flat)
            )).all()
        return [_household(r) for r in rows]

    async def household(self, household_id: HouseholdId) -> Household | None:
        async with self.db.session() as s:
            row = await s.get(HouseholdRow, household_id)
        return _household(row) if row else None

    async def household_by_ref(self, compound_id: CompoundId, ref: FlatRef) -> Household | None:
        async with self.db.session() as s:
            row = await s.scalar(select(HouseholdRow).where(
                HouseholdRow.compound_id == compound_id, HouseholdRow.building == ref.building,
                HouseholdRow.unit == ref.unit, HouseholdRow.flat == ref.flat,
            ))
        return _household(row) if row else None

    async def registry(
        self, compound_id: CompoundId, include_inactive: bool = False
    ) -> list[RegistryEntry]:
        """Every person of the compound with their household, decrypted, in address order."""
        query = (
            select(PersonRow, HouseholdRow)
            .join(HouseholdRow, PersonRow.household_id == HouseholdRow.id)
            .where(PersonRow.compound_id == compound_id)
            .order_by(HouseholdRow.building, HouseholdRow.unit, HouseholdRow.flat, PersonRow.id)
        )
        if not include_inactive:
            query = query.where(PersonRow.status == PersonStatus.ACTIVE.value)
        async with self.db.session() as s:
            rows = (await s.execute(query)).all()
        return [RegistryEntry(_household(h), self._person(p)) for p, h in rows]

    async def find_person(self, household_id: HouseholdId, name: str) -> Person | None:
        """The active person of a household whose normalised name matches, by keyed hash."""
        norm = normalise_name(name)
        if not norm:
            return None
        hashes = self.protector.keyed_hashes(NAME_PURPOSE, norm)
        async with self.db.session() as s:
            row = await s.scalar(select(PersonRow).where(
                PersonRow.household_id == household_id, PersonRow.name_hash.in_(hashes),
                PersonRow.status == PersonStatus.ACTIVE.value,
            ))
            if row is not None:
                return self._person(row)
            # The keyed hash holds the name with its middle dot; typed without one (phone
            # keyboards have none), compare with the household's few people decrypted.
            loose = dotless_name(name)
            if loose == norm:
                candidates = (await s.scalars(select(PersonRow).where(
                    PersonRow.household_id == household_id,
                    PersonRow.status == PersonStatus.ACTIVE.value,
                ))).all()
                found = [r for r in candidates
                         if NAME_DOT in (n := normalise_name(self.protector.decrypt(r.name_enc)))
                         and n.replace(NAME_DOT, "") == loose]
                if len(found) == 1:
                    return self._person(found[0])
        return None

    async def person(self, person_id: PersonId) -> Person | None:
        async with self.db.session() as s:
            row = await s.get(PersonRow, person_id)
        return self._person(row) if row else None

    async def apply_import(
        self, compound_id: CompoundId, records: Sequence[RegistryRecord], actor: str,
        progress: Callable[[int], None] | None = None,
    ) -> ImportCounts:
        """Add or update every record in one transaction; equal records change nothing.

        A person is identified by household and normalised name. A person marked moved out
        or removed who appears in an import again is restored to active.
        """
        p = self.protector
        now = self.clock.now()
        households_added = added = changed = unchanged = restored = 0
        async with self.db.transaction() as s:
            by_flat = {
                (h.building, h.unit, h.flat): h
                for h in (await s.scalars(
                    select(HouseholdRow).where(HouseholdRow.compound_id == compound_id)
                )).all()
            }
            people: dict[tuple[int, str], PersonRow] = {
                (r.household_id, r.name_hash): r
                for r in (await s.scalars(
                    select(PersonRow).where(PersonRow.compound_id == compound_id)
                )).all()
            }
            for done, rec in enumerate(records, 1):
                key = (rec.building, rec.unit, rec.flat)
                hh = by_flat.get(key)
                if hh is None:
                    hh = HouseholdRow(compound_id=compound_id, building=rec.building,
                                      unit=rec.unit, flat=rec.flat, created_at=now)
                    s.add(hh)
                    await s.flush()
                    by_flat[key] = hh
                    households_added += 1
                    self._history(s, actor, "household.add", compound_id, hh.id)
                name_hash = p.keyed_hash(NAME_PURPOSE, normalise_name(rec.name))
                phone_hash = p.keyed_hash(PHONE_PURPOSE, rec.phone) if rec.phone else None
                row = people.get((hh.id, name_hash))
                if row is None:
                    row = PersonRow(
                        household_id=hh.id, compound_id=compound_id,
                        name_enc=p.encrypt(rec.name), name_hash=name_hash,
                        phone_enc=p.encrypt_optional(rec.phone), phone_hash=phone_hash,
                        note_enc=p.encrypt_optional(rec.note), role=rec.role.value,
                        status=PersonStatus.ACTIVE.value, created_at=now, updated_at=now,
                    )
                    s.add(row)
                    await s.flush()
                    people[(hh.id, name_hash)] = row
                    added += 1
                    self._history(s, actor, "person.add", compound_id, hh.id, row.id)
                else:
                    fields = []
                    if row.role != rec.role.value:
                        row.role = rec.role.value
                        fields.append("role")
                    if row.phone_hash != phone_hash:
                        row.phone_enc = p.encrypt_optional(rec.phone)
                        row.phone_hash = phone_hash
                        fields.append("phone")
                    if p.decrypt_optional(row.note_enc) != rec.note:
                        row.note_enc = p.encrypt_optional(rec.note)
                        fields.append("note")
                    if p.decrypt(row.name_enc) != rec.name:
                        row.name_enc = p.encrypt(rec.name)  # same person, tidier spelling
                        fields.append("name")
                    if row.status != PersonStatus.ACTIVE.value:
                        row.status = PersonStatus.ACTIVE.value
                        restored += 1
                        self._history(s, actor, "person.restore", compound_id, hh.id, row.id)
                    if fields:
                        row.updated_at = now
                        changed += 1
                        self._history(s, actor, "person.change", compound_id, hh.id, row.id,
                                      {"fields": fields})
                    elif row.status == PersonStatus.ACTIVE.value:
                        unchanged += 1
                if progress is not None and done % 200 == 0:
                    progress(done)
            if progress is not None:
                progress(len(records))
        return ImportCounts(households_added, added, changed, unchanged, restored)

    async def add_person(
        self, compound_id: CompoundId, rec: RegistryRecord, actor: str
    ) -> Person:
        counts = await self.apply_import(compound_id, [rec], actor)
        if not (counts.people_added or counts.people_restored):
            raise Conflict("error.person_exists")
        hh = await self.household_by_ref(compound_id, FlatRef(rec.building, rec.unit, rec.flat))
        assert hh is not None
        found = await self.find_person(hh.id, rec.name)
        assert found is not None
        return found

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
        """Mark a person moved out or removed, unlink their account, and put its member rows
        on notice (pending until ``notice_deadline``, with ``notice_key`` to be sent by the
        next due work). Returns the affected members."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = await s.get(PersonRow, person_id)
            if row is None:
                return []
            row.status = status.value
            row.updated_at = now
            action = "person.move_out" if status is PersonStatus.MOVED_OUT else "person.remove"
            if status is PersonStatus.ACTIVE:
                action = "person.restore"
            self._history(s, actor, action, row.compound_id, row.household_id, row.id)
            if status is PersonStatus.ACTIVE:
                return []
            link = await s.scalar(select(LinkRow).where(LinkRow.person_id == person_id))
            if link is not None:
                await s.delete(link)
            members = (await s.scalars(select(MemberRow).where(
                MemberRow.person_id == person_id
            ))).all()
            out = []
            for m in members:
                m.person_id = None
                m.household_id = None
                if m.state == MemberState.VERIFIED.value:
                    m.state = MemberState.PENDING.value
                    m.deadline = notice_deadline
                    m.reminders_sent = reminders_sent
                    m.next_action_at = now
                    m.notice_key = notice_key
                    m.removal_reason = removal_reason
                m.updated_at = now
                out.append(_member(m))
        return out

    async def change_person(
        self, person_id: PersonId, actor: str, *, phone: str | None = None,
        role: PersonRole | None = None, note: str | None = None,
    ) -> Person | None:
        p = self.protector
        async with self.db.transaction() as s:
            row = await s.get(PersonRow, person_id)
            if row is None:
                return None
            fields = []
            if phone is not None:
                row.phone_enc = p.encrypt(phone)
                row.phone_hash = p.keyed_hash(PHONE_PURPOSE, phone)
                fields.append("phone")
            if role is not None:
                row.role = role.value
                fields.append("role")
            if note is not None:
                row.note_enc = p.encrypt(note)
                fields.append("note")
            row.updated_at = self.clock.now()
            self._history(s, actor, "person.change", row.compound_id, row.household_id, row.id,
                          {"fields": fields})
            return self._person(row)

    async def history(self, compound_id: CompoundId, limit: int = 100) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.scalars(
                select(RegistryHistoryRow).where(RegistryHistoryRow.compound_id == compound_id)
                .order_by(RegistryHistoryRow.id.desc()).limit(limit)
            )).all()
        return [
            {"at": r.at, "actor": r.actor, "action": r.action, "household_id": r.household_id,
             "person_id": r.person_id, "details": dict(r.details)}
            for r in rows
        ]

    # codes -----------------------------------------------------------------------------------
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
            for chunk in _chunks(ids):
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
            for chunk in _chunks(hashes):
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
            for chunk in _chunks([h.id for h in households]):
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
        return _household(row) if row else None

    async def households_with_live_code(self, compound_id: CompoundId) -> set[HouseholdId]:
        now = self.clock.now()
        async with self.db.session() as s:
            ids = (await s.scalars(select(CodeRow.household_id).where(
                CodeRow.compound_id == compound_id, CodeRow.revoked_at.is_(None),
                CodeRow.expires_at > now,
            ))).all()
        return {HouseholdId(i) for i in ids}

    # key rotation ------------------------------------------------------------------------------
    async def rotate_keys(self) -> RotationCounts:
        """Re-encrypt every person under the current key and recompute their keyed hashes.

        One transaction: either every row moves to the new key or none does.
        """
        p = self.protector
        count = 0
        async with self.db.transaction() as s:
            last = 0
            while True:
                rows = (await s.scalars(
                    select(PersonRow).where(PersonRow.id > last).order_by(PersonRow.id)
                    .limit(_CHUNK)
                )).all()
                if not rows:
                    break
                for row in rows:
                    name = p.decrypt(row.name_enc)
                    phone = p.decrypt_optional(row.phone_enc)
                    note = p.decrypt_optional(row.note_enc)
                    row.name_enc = p.encrypt(name)
                    row.name_hash = p.keyed_hash(NAME_PURPOSE, normalise_name(name))
                    row.phone_enc = p.encrypt_optional(phone)
                    row.phone_hash = p.keyed_hash(PHONE_PURPOSE, phone) if phone else None
                    row.note_enc = p.encrypt_optional(note)
                    count += 1
                last = rows[-1].id
                await s.flush()
            old = await s.scalar(select(func.count(CodeRow.id)).where(
                CodeRow.key_id != p.key_id, CodeRow.revoked_at.is_(None),
                CodeRow.expires_at > self.clock.now(),
            ))
        return RotationCounts(people=count, codes_on_old_keys=int(old or 0))

    # members ---------------------------------------------------------------------------------
    async def member(self, compound_id: CompoundId, user_id: str) -> Member | None:
        async with self.db.session() as s:
            row = await s.scalar(select(MemberRow).where(
                MemberRow.compound_id == compound_id, MemberRow.user_id == user_id
            ))
        return _member(row) if row else None

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
            return _member(row)

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
                return _member(row)
        except IntegrityError as exc:
            raise Conflict("error.person_taken") from exc

    async def unlink(self, user_id: str) -> Link | None:
        async with self.db.transaction() as s:
            row = await s.get(LinkRow, user_id)
            if row is None:
                return None
            link = _link(row)
            await s.delete(row)
        return link

    async def link_of_user(self, user_id: str) -> Link | None:
        async with self.db.session() as s:
            row = await s.get(LinkRow, user_id)
        return _link(row) if row else None

    async def link_of_person(self, person_id: PersonId) -> Link | None:
        async with self.db.session() as s:
            row = await s.scalar(select(LinkRow).where(LinkRow.person_id == person_id))
        return _link(row) if row else None

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

    async def adopt(
        self, compound_id: CompoundId, user_ids: Sequence[str], deadline: datetime,
        next_action_at: datetime,
    ) -> list[UserID]:
        """Create pending, adopted rows for members without one; returns the users added."""
        now = self.clock.now()
        wanted = list(dict.fromkeys(user_ids))
        added: list[UserID] = []
        async with self.db.transaction() as s:
            for chunk in _chunks(wanted):
                known = set((await s.scalars(select(MemberRow.user_id).where(
                    MemberRow.compound_id == compound_id, MemberRow.user_id.in_(chunk)
                ))).all())
                for uid in chunk:
                    if uid in known:
                        continue
                    s.add(MemberRow(
                        compound_id=compound_id, user_id=uid, state=MemberState.PENDING.value,
                        deadline=deadline, next_action_at=next_action_at, reminders_sent=0,
                        adopted=True, joined_at=now, updated_at=now,
                    ))
                    added.append(UserID(uid))
        return added

    async def due_members(
        self, compound_ids: Sequence[CompoundId], now: datetime, limit: int
    ) -> list[Member]:
        """Waiting members whose next action (notice, reminder, deadline) is due."""
        if not compound_ids:
            return []
        query = select(MemberRow).where(
            MemberRow.state.in_(_WAITING), MemberRow.next_action_at <= now,
            MemberRow.compound_id.in_(compound_ids),
        ).order_by(MemberRow.next_action_at).limit(limit)
        if self.db.current_unit() is not None:
            # Called in the periodic work's unit of work: the rows stay locked until it
            # commits (PostgreSQL; SQLite's unit holds the whole database), so an event's
            # change cannot slip in between this read and ``claim_due``'s write; rows an
            # event holds right now are left to the next tick.
            query = query.with_for_update(skip_locked=True)
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        return [_member(r) for r in rows]

    async def claim_due(
        self, updates: Sequence[tuple[Member, datetime | None]], expected: datetime
    ) -> list[Member]:
        """Store the new state of due members, but only rows still as ``due_members`` saw
        them (next_action_at <= expected, still waiting): the returned members are the ones
        this caller owns the effects of."""
        now = self.clock.now()
        claimed: list[Member] = []
        if not updates:
            return claimed
        keys = [(m.compound_id, m.user_id) for m, _ in updates]
        async with self.db.transaction() as s:
            rows = {
                (r.compound_id, r.user_id): r
                for start in range(0, len(keys), 500)
                for r in (await s.scalars(select(MemberRow).where(
                    tuple_(MemberRow.compound_id, MemberRow.user_id).in_(
                        keys[start:start + 500]),
                    MemberRow.state.in_(_WAITING), MemberRow.next_action_at <= expected,
                ))).all()
            }  # one query per 500 members, not one per member
            for member, next_at in updates:
                row = rows.get((member.compound_id, member.user_id))
                if row is None:
                    continue
                self._fill(row, member, next_at, now)
                claimed.append(member)
        return claimed

    async def unprompted_adopted(self, compound_id: CompoundId, limit: int) -> list[Member]:
        if limit <= 0:
            return []
        async with self.db.session() as s:
            rows = (await s.scalars(select(MemberRow).where(
                MemberRow.compound_id == compound_id, MemberRow.state.in_(_WAITING),
                MemberRow.adopted.is_(True), MemberRow.prompted_at.is_(None),
            ).order_by(MemberRow.id).limit(limit))).all()
        return [_member(r) for r in rows]

    async def compounds_with_unprompted(self, compound_ids: Sequence[CompoundId]) -> list[int]:
        if not compound_ids:
            return []
        async with self.db.session() as s:
            ids = (await s.scalars(select(MemberRow.compound_id).distinct().where(
                MemberRow.compound_id.in_(compound_ids), MemberRow.state.in_(_WAITING),
                MemberRow.adopted.is_(True), MemberRow.prompted_at.is_(None),
            ))).all()
        return list(ids)

    async def prompted_since(self, compound_id: CompoundId, since: datetime) -> int:
        async with self.db.session() as s:
            n = await s.scalar(select(func.count()).select_from(MemberRow).where(
                MemberRow.compound_id == compound_id, MemberRow.adopted.is_(True),
                MemberRow.prompted_at > since,
            ))
        return int(n or 0)

    async def mark_prompted(
        self, compound_id: CompoundId, user_ids: Sequence[str], at: datetime
    ) -> list[UserID]:
        """Mark adopted members as asked; returns those this call marked (not already)."""
        marked: list[UserID] = []
        async with self.db.transaction() as s:
            for uid in user_ids:
                result = await s.execute(update(MemberRow).where(
                    MemberRow.compound_id == compound_id, MemberRow.user_id == uid,
                    MemberRow.prompted_at.is_(None),
                ).values(prompted_at=at, updated_at=at))
                if result.rowcount:  # type: ignore[attr-defined]
                    marked.append(UserID(uid))
        return marked

    async def waiting_memberships(self, user_id: str) -> list[Member]:
        """The account's waiting (pending or locked) member rows in any compound, the most
        recently joined first: where a direct message from it may be meant."""
        async with self.db.session() as s:
            rows = (await s.scalars(select(MemberRow).where(
                MemberRow.user_id == user_id, MemberRow.state.in_(_WAITING),
            ).order_by(MemberRow.joined_at.desc(), MemberRow.id.desc()))).all()
        return [_member(r) for r in rows]

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
        return _household(row) if row else None

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
                MemberRow.compound_id == compound_id, MemberRow.state.in_(_WAITING),
            ).order_by(MemberRow.deadline, MemberRow.user_id))).all()
        return [
            PendingMember(UserID(r.user_id), MemberState(r.state), r.deadline, r.locked_until,
                          r.adopted)
            for r in rows
        ]

    # enrolment figures -------------------------------------------------------------------------
    async def enrolment(
        self, compound_id: CompoundId, cap: int | None
    ) -> tuple[EnrolmentFigures, dict[str, EnrolmentFigures], list[UnenrolledUnit]]:
        """Figures for the compound and per building, and the unenrolled flats by unit.

        Three queries whatever the size of the compound.
        """
        now = self.clock.now()
        async with self.db.session() as s:
            households = (await s.execute(
                select(HouseholdRow.id, HouseholdRow.building, HouseholdRow.unit,
                       HouseholdRow.flat)
                .where(HouseholdRow.compound_id == compound_id,
                       HouseholdRow.id.in_(select(PersonRow.household_id).where(
                           PersonRow.compound_id == compound_id,
                           PersonRow.status == PersonStatus.ACTIVE.value)))
                .order_by(HouseholdRow.building, HouseholdRow.unit, HouseholdRow.flat)
            )).all()
            verified: dict[int | None, int] = {
                hid: int(n) for hid, n in (await s.execute(
                    select(MemberRow.household_id, func.count())
                    .where(MemberRow.compound_id == compound_id,
                           MemberRow.state == MemberState.VERIFIED.value)
                    .group_by(MemberRow.household_id)
                )).all()
            }
            waiting = (await s.execute(
                select(MemberRow.state, MemberRow.locked_until)
                .where(MemberRow.compound_id == compound_id, MemberRow.state.in_(_WAITING))
            )).all()
        per_building: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        unenrolled: dict[tuple[str, str], list[str]] = defaultdict(list)
        for hid, building, unit, flat in households:
            n = int(verified.get(hid, 0))
            b = per_building[building]
            b["households"] += 1
            b["verified_members"] += n
            if n:
                b["households_enrolled"] += 1
            else:
                unenrolled[(building, unit)].append(flat)
            if cap is not None and n > cap:
                b["over_cap_households"] += 1
        pending = sum(
            1 for state, until in waiting
            if state == MemberState.PENDING.value or (until is not None and until <= now)
        )
        locked = len(waiting) - pending
        by_building = {
            name: EnrolmentFigures(
                households=v["households"], households_enrolled=v["households_enrolled"],
                verified_members=v["verified_members"],
                over_cap_households=v["over_cap_households"],
            )
            for name, v in sorted(per_building.items(), key=lambda kv: _natural(kv[0]))
        }
        total = EnrolmentFigures(
            households=sum(f.households for f in by_building.values()),
            households_enrolled=sum(f.households_enrolled for f in by_building.values()),
            verified_members=sum(int(v) for v in verified.values()),
            pending_members=pending,
            locked_members=locked,
            over_cap_households=sum(f.over_cap_households for f in by_building.values()),
        )
        units = [
            UnenrolledUnit(b, u, tuple(sorted(flats, key=_natural)))
            for (b, u), flats in sorted(unenrolled.items(),
                                        key=lambda kv: (_natural(kv[0][0]), _natural(kv[0][1])))
        ]
        return total, by_building, units


def _natural(text: str) -> tuple[Any, ...]:
    """Sort "2" before "10"; letters after numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                 for p in re.split(r"(\d+)", text) if p)

