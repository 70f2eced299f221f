"""Foundation repositories on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli.common.clock import FakeClock
from linli.common.errors import Conflict, NotFound
from linli.common.ids import UserID
from linli.community.model import AdmissionMode, Role, StaffGrant
from linli.storage.db import Database, current_revisions
from linli.storage.repos.audit import AuditEntry, AuditRepository
from linli.storage.repos.botstate import BotStateRepository
from linli.storage.repos.community import CommunityRepository


async def test_migrations_reach_every_head(db: Database) -> None:
    from alembic.script import ScriptDirectory

    from linli.storage.db import alembic_config

    heads = set(ScriptDirectory.from_config(alembic_config(db.url)).get_heads())
    assert await current_revisions(db.engine) == heads


async def test_station_compound_and_grants_round_trip(db: Database, clock: FakeClock) -> None:
    repo = CommunityRepository(db, clock)
    station = await repo.create_station("xinhua", "新华派出所", officers_room_id="!off:hs")
    compound = await repo.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id="!r:hs",
        admission_mode=AdmissionMode.KNOCK, settings={"emergency": ["110"]},
    )
    await repo.add_grant(StaffGrant(UserID("@wang:hs"), Role.OFFICER, station_id=station.id))
    await repo.add_grant(StaffGrant(UserID("@wuye:hs"), Role.PROPERTY, compound_id=compound.id))
    directory = await repo.load_directory(config_admins=["@root:hs"])

    found = directory.compound_by_room("!r:hs")
    assert found is not None and found.slug == "meiyuan"
    assert found.admission_mode is AdmissionMode.KNOCK
    assert found.settings == {"emergency": ["110"]}
    assert Role.OFFICER in directory.roles_in_compound("@wang:hs", found)
    assert Role.PROPERTY in directory.roles_in_compound("@wuye:hs", found)
    assert directory.roles_in_compound("@resident:hs", found) == {Role.RESIDENT}
    assert Role.ADMIN in directory.roles_in_compound("@root:hs", found)
    assert directory.station_by_officers_room("!off:hs") == station
    assert directory.managed_room_ids() == {"!r:hs", "!off:hs"}


async def test_duplicates_are_refused_with_domain_errors(db: Database, clock: FakeClock) -> None:
    repo = CommunityRepository(db, clock)
    station = await repo.create_station("xinhua", "新华派出所")
    with pytest.raises(Conflict):
        await repo.create_station("xinhua", "again")
    await repo.add_grant(StaffGrant(UserID("@wang:hs"), Role.OFFICER, station_id=station.id))
    with pytest.raises(Conflict):
        await repo.add_grant(StaffGrant(UserID("@wang:hs"), Role.OFFICER, station_id=station.id))
    with pytest.raises(NotFound):
        await repo.compound("nope")


async def test_events_are_done_only_once_marked(db: Database, clock: FakeClock) -> None:
    repo = BotStateRepository(db, clock)
    assert await repo.done_events(["$a", "$b", "$a"]) == set()
    await repo.mark_done("$a")
    await repo.mark_done("$a")  # marking twice is harmless
    await repo.mark_done("$b")
    assert await repo.done_events(["$a", "$b", "$c"]) == {"$a", "$b"}
    clock.advance(timedelta(days=8))
    await repo.mark_done("$c")
    assert await repo.prune_events(timedelta(days=7)) == 2
    assert await repo.done_events(["$a", "$c"]) == {"$c"}


async def test_bot_state_and_audit(db: Database, clock: FakeClock) -> None:
    state = BotStateRepository(db, clock)
    assert await state.get("sync_token") is None
    await state.set("sync_token", "s1")
    await state.set("sync_token", "s2")
    assert await state.get("sync_token") == "s2"

    audit = AuditRepository(db, clock)
    await audit.record(AuditEntry(actor="@wang:hs", action="mute", target="@x:hs", station_id=1))
    clock.advance(timedelta(seconds=1))
    await audit.record(AuditEntry(actor="@li:hs", action="kick", target="@y:hs", station_id=2))
    recent = await audit.recent()
    assert [e.action for e in recent] == ["kick", "mute"]
    assert recent[0].at == clock.now()
    assert [e.action for e in await audit.recent(station_ids={1})] == ["mute"]


async def test_migrations_match_the_models(db: Database) -> None:
    """The tables the migrations build are the tables the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from linli.storage.tables import Base

    def _diff(connection):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(ctx, Base.metadata)

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []
