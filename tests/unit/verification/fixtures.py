"""Shared set-up for the verification tests: a station, a compound, a registry."""

from __future__ import annotations

from dataclasses import dataclass

from linli.common.clock import FakeClock
from linli.common.crypto import DataProtector
from linli.community.model import Compound
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.verification import VerificationRepository
from linli.verification.policy import VerificationPolicy
from linli.verification.registry import RegistryService
from linli.verification.service import VerificationService

KEY = b"k" * 32
OLD_KEY = b"o" * 32

REGISTRY_CSV = (
    "building,unit,flat,name,phone,role,note\n"
    "3,2,301,张伟,13812345678,owner,\n"
    "3,2,301,李娜,13987654321,family,女儿在外地\n"
    "3,2,302,叶西·卓玛,0891-6812345,tenant,\n"
    "5,1,101,Anna Berg,+86 135 0000 1111,owner,\n"
    "5,1,102,王芳,,owner,\n"
)
# Every plaintext personal value above (as stored and as typed).
PLAINTEXTS = ["张伟", "李娜", "叶西", "卓玛", "Anna Berg", "王芳", "13812345678",
              "13987654321", "08916812345", "13500001111", "女儿在外地"]


@dataclass
class World:
    db: Database
    clock: FakeClock
    compound: Compound
    repo: VerificationRepository
    registry: RegistryService
    service: VerificationService
    audit: AuditRepository


async def make_world(
    db: Database, clock: FakeClock, policy: VerificationPolicy | None = None,
    settings: dict[str, object] | None = None, protector: DataProtector | None = None,
) -> World:
    community = CommunityRepository(db, clock)
    station = await community.create_station("xinhua", "新华派出所", officers_room_id="!off:hs")
    compound = await community.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id="!room:hs",
        room_alias="#meiyuan:hs", settings=dict(settings or {}),
    )
    repo = VerificationRepository(db, clock, protector or DataProtector(KEY))
    audit = AuditRepository(db, clock)
    policy = policy or VerificationPolicy()
    registry = RegistryService(repo, clock, policy)
    service = VerificationService(repo, audit, clock, policy, transactions=db)
    return World(db, clock, compound, repo, registry, service, audit)


async def with_registry(world: World) -> dict[str, str]:
    """Import the registry and issue codes; returns flat ref -> code."""
    outcome = await world.registry.import_file(world.compound, REGISTRY_CSV.encode(), "test")
    assert outcome.stored, outcome.parsed.problems
    issues = await world.registry.issue_codes(world.compound, "test")
    return {i.household.ref: i.code for i in issues}
