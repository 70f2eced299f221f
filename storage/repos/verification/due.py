"""The periodic work: adopted members, due reminders, notices and removals, adopted prompts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm.attributes import flag_modified

from linli.common.ids import CompoundId, UserID
from linli.storage.repos.verification.rows import (
    FILLED,
    WAITING,
    RepositoryBase,
    chunks,
    to_member,
)
from linli.storage.tables.verification import MemberRow
from linli.verification.model import Member, MemberState


class DueWorkRepository(RepositoryBase):
    """Due work in a fixed number of queries, not one per member."""

    async def adopt(
        self, compound_id: CompoundId, user_ids: Sequence[str], deadline: datetime,
        next_action_at: datetime,
    ) -> list[UserID]:
        """Create pending, adopted rows for members without one; returns the users added."""
        now = self.clock.now()
        wanted = list(dict.fromkeys(user_ids))
        added: list[UserID] = []
        async with self.db.transaction() as s:
            for chunk in chunks(wanted):
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
            MemberRow.state.in_(WAITING), MemberRow.next_action_at <= now,
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
        return [to_member(r) for r in rows]

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
                    MemberRow.state.in_(WAITING), MemberRow.next_action_at <= expected,
                ))).all()
            }  # one query per 500 members, not one per member
            for member, next_at in updates:
                row = rows.get((member.compound_id, member.user_id))
                if row is None:
                    continue
                self._fill(row, member, next_at, now)
                # Every row sends every column: the ORM then writes them in one batch
                # (executemany) instead of one UPDATE per set of changed columns.
                for column in FILLED:
                    flag_modified(row, column)
                claimed.append(member)
        return claimed

    async def unprompted_adopted(self, budgets: Mapping[CompoundId, int]) -> list[Member]:
        """Adopted members not yet asked, the first ``budgets[compound]`` of each compound
        in the order they were adopted, in one query whatever the number of compounds."""
        wanted = {cid: n for cid, n in budgets.items() if n > 0}
        if not wanted:
            return []
        rank = func.row_number().over(
            partition_by=MemberRow.compound_id, order_by=MemberRow.id).label("rank")
        ranked = select(MemberRow.id, rank).where(
            MemberRow.compound_id.in_(list(wanted)), MemberRow.state.in_(WAITING),
            MemberRow.adopted.is_(True), MemberRow.prompted_at.is_(None),
        ).subquery()
        query = (select(MemberRow).join(ranked, ranked.c.id == MemberRow.id)
                 .where(ranked.c.rank <= max(wanted.values()))
                 .order_by(MemberRow.compound_id, MemberRow.id))
        async with self.db.session() as s:
            rows = (await s.scalars(query)).all()
        taken: dict[int, int] = defaultdict(int)
        out: list[Member] = []
        for r in rows:
            if taken[r.compound_id] < wanted[CompoundId(r.compound_id)]:
                taken[r.compound_id] += 1
                out.append(to_member(r))
        return out

    async def prompted_since(
        self, compound_ids: Sequence[CompoundId], since: datetime
    ) -> dict[CompoundId, int]:
        """Adopted members asked after ``since``, per compound (absent: none), in one query."""
        if not compound_ids:
            return {}
        async with self.db.session() as s:
            rows = (await s.execute(
                select(MemberRow.compound_id, func.count()).where(
                    MemberRow.compound_id.in_(list(compound_ids)), MemberRow.adopted.is_(True),
                    MemberRow.prompted_at > since,
                ).group_by(MemberRow.compound_id)
            )).all()
        return {CompoundId(cid): int(n) for cid, n in rows}

    async def mark_prompted(
        self, members: Sequence[tuple[CompoundId, str]], at: datetime
    ) -> list[tuple[CompoundId, UserID]]:
        """Mark adopted members as asked; returns those this call marked (not already), in
        one statement per 500 members."""
        marked: list[tuple[CompoundId, UserID]] = []
        if not members:
            return marked
        async with self.db.transaction() as s:
            for chunk in chunks(list(members)):
                result = await s.execute(
                    update(MemberRow).where(
                        tuple_(MemberRow.compound_id, MemberRow.user_id).in_(chunk),
                        MemberRow.prompted_at.is_(None),
                    ).values(prompted_at=at, updated_at=at)
                    .returning(MemberRow.compound_id, MemberRow.user_id)
                    .execution_options(synchronize_session="fetch")
                )
                marked += [(CompoundId(cid), UserID(uid)) for cid, uid in result.all()]
        return marked
