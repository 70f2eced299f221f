"""Enrolment figures: coverage per compound and building, unenrolled flats."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from linli.common.ids import CompoundId
from linli.storage.repos.verification.rows import WAITING, RepositoryBase, natural_key
from linli.storage.tables.verification import HouseholdRow, MemberRow, PersonRow
from linli.verification.model import EnrolmentFigures, MemberState, PersonStatus, UnenrolledUnit


class FiguresRepository(RepositoryBase):
    """Enrolment figures in three queries per compound."""

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
                .where(MemberRow.compound_id == compound_id, MemberRow.state.in_(WAITING))
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
            for name, v in sorted(per_building.items(), key=lambda kv: natural_key(kv[0]))
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
            UnenrolledUnit(b, u, tuple(sorted(flats, key=natural_key)))
            for (b, u), flats in sorted(
                unenrolled.items(), key=lambda kv: (natural_key(kv[0][0]), natural_key(kv[0][1])))
        ]
        return total, by_building, units
