"""The household registry: households, the people in them, imports, moves and the key rotation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from linli.common.errors import Conflict
from linli.common.ids import CompoundId, HouseholdId, PersonId
from linli.storage.repos.verification.rows import (
    CHUNK,
    NAME_PURPOSE,
    PHONE_PURPOSE,
    RepositoryBase,
    RotationCounts,
    to_household,
    to_member,
)
from linli.storage.tables.verification import (
    CodeRow,
    HouseholdRow,
    LinkRow,
    MemberRow,
    PersonRow,
    RegistryHistoryRow,
)
from linli.verification.model import (
    Household,
    ImportCounts,
    Member,
    MemberState,
    Person,
    PersonRole,
    PersonStatus,
    RegistryEntry,
    RegistryRecord,
)
from linli.verification.names import NAME_DOT, FlatRef, dotless_name, normalise_name


class RegistryRepository(RepositoryBase):
    """Households and people, decrypted on the way out."""

    async def households(self, compound_id: CompoundId) -> list[Household]:
        async with self.db.session() as s:
            rows = (await s.scalars(
                select(HouseholdRow).where(HouseholdRow.compound_id == compound_id)
                .order_by(HouseholdRow.building, HouseholdRow.unit, HouseholdRow.flat)
            )).all()
        return [to_household(r) for r in rows]

    async def household(self, household_id: HouseholdId) -> Household | None:
        async with self.db.session() as s:
            row = await s.get(HouseholdRow, household_id)
        return to_household(row) if row else None

    async def household_by_ref(self, compound_id: CompoundId, ref: FlatRef) -> Household | None:
        async with self.db.session() as s:
            row = await s.scalar(select(HouseholdRow).where(
                HouseholdRow.compound_id == compound_id, HouseholdRow.building == ref.building,
                HouseholdRow.unit == ref.unit, HouseholdRow.flat == ref.flat,
            ))
        return to_household(row) if row else None

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
        return [RegistryEntry(to_household(h), self._person(p)) for p, h in rows]

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
                out.append(to_member(m))
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
                    .limit(CHUNK)
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
