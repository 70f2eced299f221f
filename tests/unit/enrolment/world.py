"""A district for the enrolment report, the dashboard and its browser tests, with figures
known in advance.

Station xinhua (新华派出所) has compound meiyuan (梅园小区) with the registry of
verification_fixtures: four households in buildings 3 and 5. Verified: 张伟 and 李娜 (both
3-2-301, so that household is over a cap of 1) and Anna Berg (5-1-101); one account pending,
one locked. Station dongfeng (东风派出所) has compound taoyuan (桃园小区) with two households
and nobody enrolled.

Expected, meiyuan: 4 households, 2 enrolled (50.0 %), 3 verified, 1 pending, 1 locked,
1 over the cap; building 3: 2/1/50.0/2 verified/1 over cap; building 5: 2/1/50.0/1/0;
nobody enrolled in 3-2-302 and 5-1-102. taoyuan: 2 households, 0 enrolled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from linli.bot.features.enrolment.dashboard.routes import Dashboard
from linli.bot.features.enrolment.feature import EnrolmentFeature, EnrolmentTracker
from linli.bot.messages import all_catalogs
from linli.common.clock import FakeClock
from linli.common.i18n import Translator
from linli.common.ids import CompoundId, UserID
from linli.community.model import Compound, Directory, Role, StaffGrant, Station
from linli.enrolment.model import local_day
from linli.enrolment.service import SnapshotService, TokenService
from linli.questions.model import AnswerKind, FlagLevel, NewQuestion, QuestionState
from linli.storage.db import Database
from linli.storage.repos.audit import AuditEntry
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.enrolment import SnapshotRepository, WebTokenRepository
from linli.storage.repos.questions import QuestionRepository
from linli.verification.model import AttemptOutcome, EnrolmentFigures
from linli.verification.policy import VerificationPolicy
from linli.verification.service import VerificationService
from tests.unit.verification.fixtures import World, make_world, with_registry

ALICE = UserID("@alice:hs")
BOB = UserID("@bob:hs")
CAROL = UserID("@carol:hs")
DAVE = UserID("@dave:hs")
ERIN = UserID("@erin:hs")
OFFICER_WANG = UserID("@wang:hs")

TAOYUAN_CSV = (
    "building,unit,flat,name,phone,role,note\n"
    "1,,101,赵六,13700000001,owner,\n"
    "1,,102,钱七,13700000002,owner,\n"
)

MEIYUAN_TOTAL = {
    "households": 4, "households_enrolled": 2, "coverage_percent": 50.0,
    "verified_members": 3, "pending_members": 1, "locked_members": 1, "over_cap_households": 1,
}
MEIYUAN_BUILDINGS = [
    {"building": "3", "households": 2, "households_enrolled": 1, "coverage_percent": 50.0,
     "verified_members": 2, "over_cap_households": 1},
    {"building": "5", "households": 2, "households_enrolled": 1, "coverage_percent": 50.0,
     "verified_members": 1, "over_cap_households": 0},
]
MEIYUAN_UNENROLLED = [
    {"building": "3", "unit": "2", "count": 1, "flats": ["302"]},
    {"building": "5", "unit": "1", "count": 1, "flats": ["102"]},
]
TAOYUAN_TOTAL = {
    "households": 2, "households_enrolled": 0, "coverage_percent": 0.0,
    "verified_members": 0, "pending_members": 0, "locked_members": 0, "over_cap_households": 0,
}
# Daily snapshots written before "today" (days ago -> coverage %), for the history.
HISTORY = {3: 0, 2: 1, 1: 2}  # days ago -> households covered (of 4)


@dataclass
class Tokens:
    admin: str
    officer: str  # xinhua
    other_officer: str  # dongfeng
    station_admin: str  # admin of xinhua only
    revoked: str
    ids: dict[str, int]


@dataclass
class DashWorld:
    db: Database
    clock: FakeClock
    verification: World
    service: VerificationService  # with a household cap of 1
    community: CommunityRepository
    xinhua: Station
    dongfeng: Station
    meiyuan: Compound
    taoyuan: Compound
    directory: Directory
    tracker: EnrolmentTracker
    snapshot_repo: SnapshotRepository
    questions: QuestionRepository
    tokens: Tokens
    translator: Translator
    question_ids: dict[str, int]

    def current(self) -> Directory:
        return self.directory

    async def reload(self) -> None:
        self.directory = await self.community.load_directory()

    def dashboard(self, **overrides: object) -> Dashboard:
        token_repo = WebTokenRepository(self.db, self.clock)
        kwargs: dict[str, object] = {
            "tokens": TokenService(token_repo, self.clock), "token_repo": token_repo,
            "tracker": self.tracker, "registry": self.verification.repo,
            "snapshots": self.snapshot_repo, "questions": self.questions,
            "audit": self.verification.audit, "directory": self.current,
            "translator": self.translator, "clock": self.clock,
            **overrides,
        }
        return Dashboard(**kwargs)  # type: ignore[arg-type]

    def feature(self, **overrides: object) -> EnrolmentFeature:
        kwargs: dict[str, object] = {
            "tracker": self.tracker,
            "snapshots": SnapshotService(self.snapshot_repo, self.clock),
            "directory": self.current, **overrides,
        }
        return EnrolmentFeature(**kwargs)  # type: ignore[arg-type]


async def _verify(w: World, user: UserID, code: str, name: str) -> None:
    await w.service.on_join(w.compound, user)
    result = await w.service.attempt(w.compound, user, f"{code} {name}")
    assert result.outcome is AttemptOutcome.VERIFIED, result.outcome


async def make_dash_world(db: Database, clock: FakeClock) -> DashWorld:
    w = await make_world(db, clock)
    codes = await with_registry(w)
    await _verify(w, ALICE, codes["3-2-301"], "张伟")
    await _verify(w, BOB, codes["3-2-301"], "李娜")
    await _verify(w, CAROL, codes["5-1-101"], "Anna Berg")
    await w.service.on_join(w.compound, DAVE)
    await w.service.on_join(w.compound, ERIN)
    for _ in range(5):
        result = await w.service.attempt(w.compound, ERIN, f"{codes['5-1-102']} 张伟")
    assert result.outcome is AttemptOutcome.LOCKED

    community = CommunityRepository(db, clock)
    xinhua = await community.station("xinhua")
    dongfeng = await community.create_station("dongfeng", "东风派出所", officers_room_id="!df:hs")
    taoyuan = await community.create_compound(
        slug="taoyuan", name="桃园小区", station_id=dongfeng.id, room_id="!tao:hs",
    )
    outcome = await w.registry.import_file(taoyuan, TAOYUAN_CSV.encode(), "test")
    assert outcome.stored, outcome.parsed.problems
    await community.add_grant(StaffGrant(
        user_id=OFFICER_WANG, role=Role.OFFICER, station_id=xinhua.id, display_name="王警官",
    ))

    capped = VerificationService(w.repo, w.audit, clock, VerificationPolicy(household_cap=1),
                                 transactions=w.db)
    tracker = EnrolmentTracker(capped, clock)

    snapshot_repo = SnapshotRepository(db, clock)
    today = local_day(clock.now(), w.compound.timezone)
    for days_ago, covered in HISTORY.items():
        await snapshot_repo.write(
            today - timedelta(days=days_ago),
            {w.compound.id: EnrolmentFigures(4, covered, covered, 2)},
            clock.now() - timedelta(days=days_ago),
        )

    questions = QuestionRepository(db, clock)
    question_ids = await _questions(questions, clock, w.compound, taoyuan)

    token_service = TokenService(WebTokenRepository(db, clock), clock)
    admin = await token_service.create("admin", None, "区局管理员")
    officer = await token_service.create("officer", xinhua.id, "王警官")
    other = await token_service.create("officer", dongfeng.id, "李警官")
    station_admin = await token_service.create("admin", xinhua.id, "新华所长")
    revoked = await token_service.create("officer", xinhua.id, "已调离")
    await token_service.revoke(revoked.token.id)
    tokens = Tokens(
        admin.secret, officer.secret, other.secret, station_admin.secret, revoked.secret,
        {"admin": admin.token.id, "officer": officer.token.id, "other": other.token.id,
         "station_admin": station_admin.token.id},
    )
    # Something in the other station's audit trail, which xinhua must not see.
    await w.audit.record(AuditEntry(
        actor="@li:hs", action="moderation.kick", target="@someone:hs",
        station_id=dongfeng.id, compound_id=taoyuan.id, details={"reason": "spam"},
    ))
    directory = await community.load_directory()
    return DashWorld(
        db=db, clock=clock, verification=w, service=capped, community=community,
        xinhua=xinhua, dongfeng=dongfeng, meiyuan=w.compound, taoyuan=taoyuan,
        directory=directory, tracker=tracker, snapshot_repo=snapshot_repo,
        questions=questions, tokens=tokens, translator=Translator(all_catalogs()),
        question_ids=question_ids,
    )


async def _questions(
    repo: QuestionRepository, clock: FakeClock, meiyuan: Compound, taoyuan: Compound
) -> dict[str, int]:
    """meiyuan: one open and flagged (asked 50 min ago), one answered in 10 minutes by
    王警官; taoyuan: one open, not yet due."""
    now = clock.now()

    def new(compound: Compound, event: str, asked_ago: int, topic: str) -> NewQuestion:
        asked = now - timedelta(minutes=asked_ago)
        return NewQuestion(
            compound_id=compound.id, room_id=compound.room_id or "!x:hs",  # type: ignore[arg-type]
            event_id=event, asker=ALICE, asker_flat="3栋2单元301",  # type: ignore[arg-type]
            text="身份证怎么补办？", topic=topic, urgent=False, asked_at=asked,
            due_at=asked + timedelta(minutes=30), escalate_at=asked + timedelta(hours=2),
            expires_at=asked + timedelta(days=7),
        )

    flagged = await repo.add(new(meiyuan, "$q1", 50, "household"), now)
    assert await repo.claim_flag(flagged.id, FlagLevel.FLAG, "!off:hs", now, now)
    await repo.flag_posted(flagged.id, FlagLevel.FLAG, "$flag1", now)
    answered = await repo.add(new(meiyuan, "$q2", 40, "fraud"), now)
    await repo.close(answered.id, QuestionState.ANSWERED, now - timedelta(minutes=30),
                     answered_by=OFFICER_WANG, kind=AnswerKind.REPLY, answer_event_id="$a2")
    other = await repo.add(new(taoyuan, "$q3", 10, "noise"), now)
    return {"flagged": flagged.id, "answered": answered.id, "other": other.id}


def compound_ids(world: DashWorld) -> set[CompoundId]:
    return {world.meiyuan.id, world.taoyuan.id}


def history_days(world: DashWorld) -> list[date]:
    today = local_day(world.clock.now(), world.meiyuan.timezone)
    return [today - timedelta(days=d) for d in sorted(HISTORY, reverse=True)]
