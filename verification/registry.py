"""The household registry as the admin tools use it: import, export, listing, move-outs and
enrolment codes. (The Matrix edge uses verification.service instead.)"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from linli.common.clock import Clock
from linli.common.errors import NotFound
from linli.community.model import Compound
from linli.verification.codes import new_code
from linli.verification.importer import ParsedFile, parse_registry
from linli.verification.model import (
    CodeIssue,
    Household,
    ImportCounts,
    Member,
    Person,
    PersonStatus,
    RegistryEntry,
)
from linli.verification.names import mask_name, mask_phone, names_match, parse_flat_ref
from linli.verification.policy import VerificationPolicy, policy_for
from linli.verification.ports import RegistryStore

log = logging.getLogger(__name__)

EXPORT_COLUMNS = ("building", "unit", "flat", "name", "phone", "role", "note")


@dataclass(frozen=True)
class ImportOutcome:
    parsed: ParsedFile
    counts: ImportCounts | None  # None: nothing stored

    @property
    def stored(self) -> bool:
        return self.counts is not None


@dataclass(frozen=True)
class ListedPerson:
    """A registry line safe to show on a screen: masked name and phone."""

    household: Household
    masked_name: str
    masked_phone: str
    role: str
    status: str


class RegistryService:
    def __init__(
        self, repo: RegistryStore, clock: Clock,
        defaults: VerificationPolicy | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.defaults = defaults or VerificationPolicy()

    async def import_file(
        self, compound: Compound, data: bytes, actor: str, *, encoding: str | None = None,
        partial: bool = False, progress: Callable[[int], None] | None = None,
    ) -> ImportOutcome:
        """Check every row; store all rows if all are good, the good ones with ``partial``,
        nothing otherwise. Storing is one transaction and idempotent."""
        parsed = parse_registry(data, encoding)
        if parsed.file_problems or (parsed.problems and not partial) or not parsed.records:
            return ImportOutcome(parsed, None)
        counts = await self.repo.apply_import(
            compound.id, [rec for _, rec in parsed.records], actor, progress
        )
        log.info(
            "registry import for %s: %d households added, %d people added, %d changed, "
            "%d unchanged, %d restored, %d bad rows",
            compound.slug, counts.households_added, counts.people_added, counts.people_changed,
            counts.people_unchanged, counts.people_restored, len(parsed.bad_rows),
        )
        return ImportOutcome(parsed, counts)

    async def export_csv(self, compound: Compound) -> str:
        """The active registry as CSV in the import format (so it imports again unchanged):
        decrypted, for the admin only. Moved-out and removed people are not exported."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for e in await self.repo.registry(compound.id):
            p = e.person
            writer.writerow([
                e.household.building, e.household.unit, e.household.flat, p.name,
                p.phone or "", p.role.value, p.note or "",
            ])
        return out.getvalue()

    async def listing(self, compound: Compound) -> list[ListedPerson]:
        return [
            ListedPerson(e.household, mask_name(e.person.name),
                         mask_phone(e.person.phone) if e.person.phone else "",
                         e.person.role.value, e.person.status.value)
            for e in await self.repo.registry(compound.id, include_inactive=True)
        ]

    async def entries(self, compound: Compound) -> list[RegistryEntry]:
        return await self.repo.registry(compound.id)

    async def _person(
        self, compound: Compound, flat: str, name: str
    ) -> tuple[Household, Person]:
        ref = parse_flat_ref(flat)
        household = await self.repo.household_by_ref(compound.id, ref)
        if household is None:
            raise NotFound("error.no_household", flat=flat)
        person = await self.repo.find_person(household.id, name)
        if person is None:
            raise NotFound("error.no_person", flat=household.label(compound.locale))
        return household, person

    async def move_out(
        self, compound: Compound, flat: str, name: str, actor: str,
        status: PersonStatus = PersonStatus.MOVED_OUT,
    ) -> list[Member]:
        """Mark a person moved out (or removed). Their account loses verification now; the
        bot's next due work tells them, restricts them, and removes them after the notice
        period. Returns the affected members."""
        _, person = await self._person(compound, flat, name)
        policy = policy_for(self.defaults, compound.settings)
        reason = "moved_out" if status is PersonStatus.MOVED_OUT else "removed_from_registry"
        return await self.repo.set_person_status(
            person.id, status, actor,
            notice_deadline=self.clock.now() + policy.notice_period,
            notice_key=f"verification.dm.{reason}",
            removal_reason=reason,
            reminders_sent=len(policy.reminders),
        )

    async def restore(self, compound: Compound, flat: str, name: str, actor: str) -> None:
        ref = parse_flat_ref(flat)
        household = await self.repo.household_by_ref(compound.id, ref)
        if household is None:
            raise NotFound("error.no_household", flat=flat)
        for e in await self.repo.registry(compound.id, include_inactive=True):
            if (e.household.id == household.id and e.person.status is not PersonStatus.ACTIVE
                    and names_match(e.person.name, name)):
                await self.repo.set_person_status(
                    e.person.id, PersonStatus.ACTIVE, actor, notice_deadline=self.clock.now(),
                    notice_key="", removal_reason="", reminders_sent=0,
                )
                return
        raise NotFound("error.no_person", flat=household.label(compound.locale))

    async def _households(
        self, compound: Compound, flats: Sequence[str] | None
    ) -> list[Household]:
        everyone = await self.repo.households(compound.id)
        if not flats:
            return everyone
        by_ref = {parse_flat_ref(h.ref): h for h in everyone}
        found = []
        for text in flats:
            household = by_ref.get(parse_flat_ref(text))
            if household is None:
                raise NotFound("error.no_household", flat=text)
            found.append(household)
        return list({h.id: h for h in found}.values())

    async def issue_codes(
        self, compound: Compound, actor: str, flats: Sequence[str] | None = None,
        only_missing: bool = False,
    ) -> list[CodeIssue]:
        """Issue (or re-issue, revoking the old) codes. The plaintext codes exist only in the
        returned objects: print them now or issue again."""
        households = await self._households(compound, flats)
        if only_missing:
            live = await self.repo.households_with_live_code(compound.id)
            households = [h for h in households if h.id not in live]
        policy = policy_for(self.defaults, compound.settings)
        return await self.repo.issue_codes(households, actor, policy.code_validity, new_code)

    async def revoke_codes(
        self, compound: Compound, actor: str, flats: Sequence[str] | None = None
    ) -> int:
        return await self.repo.revoke_codes(await self._households(compound, flats), actor)
