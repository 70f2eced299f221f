"""Registry CSV import: encodings, row-level report, --partial, idempotency, export."""

from __future__ import annotations

import pytest

from linli.common.clock import FakeClock
from linli.storage.db import Database
from linli.verification.importer import parse_registry
from linli.verification.model import PersonRole, PersonStatus
from tests.unit.verification.fixtures import REGISTRY_CSV, make_world

CHINESE_CSV = (
    "楼栋,单元,房号,姓名,电话,身份,备注\n"
    "3栋,2单元,301室,张伟,138 1234 5678,业主,\n"
    "3,2,301,李娜,,家属,\n"
    "5号楼,,102,叶西·卓玛,,租户,\n"
)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (CHINESE_CSV.encode("utf-8"), "utf-8-sig"),
        (b"\xef\xbb\xbf" + CHINESE_CSV.encode("utf-8"), "utf-8-sig"),
        (CHINESE_CSV.encode("gbk"), "gb18030"),
        (CHINESE_CSV.replace(",", "\t").encode("utf-8"), "utf-8-sig"),
    ],
)
def test_encodings_and_chinese_headers(data: bytes, encoding: str) -> None:
    parsed = parse_registry(data)
    assert parsed.problems == ()
    assert parsed.encoding == encoding
    recs = [r for _, r in parsed.records]
    assert [(r.building, r.unit, r.flat) for r in recs] == [
        ("3", "2", "301"), ("3", "2", "301"), ("5", "", "102")]
    assert [r.role for r in recs] == [PersonRole.OWNER, PersonRole.FAMILY, PersonRole.TENANT]
    assert recs[0].phone == "13812345678"
    assert recs[2].name == "叶西·卓玛"


def test_gbk_can_be_forced() -> None:
    parsed = parse_registry(CHINESE_CSV.encode("gbk"), encoding="gbk")
    assert parsed.problems == () and len(parsed.records) == 3


BAD_CSV = (
    "building,unit,flat,name,phone,role,note\n"
    "3,2,301,张伟,13812345678,owner,\n"      # row 2 good
    ",2,301,李娜,,family,\n"                  # row 3 empty building
    "3,2,302,王芳,12ab,owner,\n"              # row 4 bad phone
    "3,2,303,赵磊,,landlord,\n"               # row 5 unknown role
    "3,2,301,张 伟,,owner,\n"                 # row 6 same person as row 2
    "\n"                                      # blank lines are skipped
    "3,2,304,13800001111,,owner,\n"           # row 8 a phone in the name column
    "3,2,305,刘洋,,owner,\n"                  # row 9 good
    "3,2,306,陈静,12345,owner,\n"             # row 10 a service number, not a phone
    "3,2,307,杨帆,8888 9999,owner,\n"          # row 11 a landline without area code
)


def test_bad_rows_are_reported_by_row_and_column() -> None:
    parsed = parse_registry(BAD_CSV.encode())
    found = {(p.row, p.column, p.key) for p in parsed.problems}
    assert found == {
        (3, "building", "import.empty"),
        (4, "phone", "import.invalid_phone"),
        (5, "role", "import.invalid_role"),
        (6, "name", "import.duplicate_person"),
        (8, "name", "import.name_has_digits"),
        (10, "phone", "import.invalid_phone"),
        (11, "phone", "import.invalid_phone"),
    }
    assert [row for row, _ in parsed.records] == [2, 9]
    assert parsed.rows == 9


@pytest.mark.parametrize(
    ("header", "column", "key"),
    [
        ("building,flat,name\n", "role", "import.missing_column"),
        ("building,unit,flat,name,role,colour\n", "colour", "import.unknown_column"),
        ("building,楼栋,flat,name,role\n", "楼栋", "import.duplicate_column"),
    ],
)
def test_header_problems(header: str, column: str, key: str) -> None:
    parsed = parse_registry((header + "3,2,301,张伟,owner\n").encode())
    assert (0, column, key) in {(p.row, p.column, p.key) for p in parsed.problems}
    assert parsed.records == ()


async def test_nothing_stored_unless_all_good_or_partial(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    outcome = await w.registry.import_file(w.compound, BAD_CSV.encode(), "test")
    assert not outcome.stored
    assert await w.repo.registry(w.compound.id) == []

    outcome = await w.registry.import_file(w.compound, BAD_CSV.encode(), "test", partial=True)
    assert outcome.counts is not None and outcome.counts.people_added == 2
    assert sorted(e.household.ref for e in await w.repo.registry(w.compound.id)) == [
        "3-2-301", "3-2-305"]


async def test_import_is_idempotent_and_updates_changes(db: Database, clock: FakeClock) -> None:
    w = await make_world(db, clock)
    first = await w.registry.import_file(w.compound, REGISTRY_CSV.encode(), "test")
    assert first.counts is not None
    assert (first.counts.households_added, first.counts.people_added) == (4, 5)
    history = await w.repo.history(w.compound.id, limit=1000)

    again = await w.registry.import_file(w.compound, REGISTRY_CSV.encode(), "test")
    assert again.counts is not None and not again.counts.changed_anything
    assert again.counts.people_unchanged == 5
    assert len(await w.repo.history(w.compound.id, limit=1000)) == len(history)

    # the same file as GBK with a BOM-less Chinese header and spaced names: still unchanged
    chinese = REGISTRY_CSV.replace("building,unit,flat,name,phone,role,note",
                                   "楼栋,单元,房号,姓名,电话,身份,备注").replace("张伟", "张 伟")
    gbk = await w.registry.import_file(w.compound, chinese.encode("gb18030"), "test")
    assert gbk.counts is not None
    assert gbk.counts.people_added == 0 and gbk.counts.people_changed == 0

    changed = REGISTRY_CSV.replace("13812345678,owner", "13811112222,owner")
    upd = await w.registry.import_file(w.compound, changed.encode(), "test")
    assert upd.counts is not None and upd.counts.people_changed == 1
    entries = {e.person.name: e.person for e in await w.repo.registry(w.compound.id)}
    assert entries["张伟"].phone == "13811112222"
    assert entries["李娜"].note == "女儿在外地"
    assert entries["叶西·卓玛"].phone == "08916812345"
    latest = (await w.repo.history(w.compound.id, limit=1))[0]
    assert latest["action"] == "person.change" and latest["details"] == {"fields": ["phone"]}


async def test_export_reimports_unchanged_and_lists_masked(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    await w.registry.import_file(w.compound, REGISTRY_CSV.encode(), "test")
    exported = await w.registry.export_csv(w.compound)
    assert "叶西·卓玛" in exported and "13812345678" in exported
    again = await w.registry.import_file(w.compound, exported.encode(), "test")
    assert again.counts is not None and not again.counts.changed_anything
    listing = await w.registry.listing(w.compound)
    assert {r.masked_name for r in listing} == {"张*", "李*", "叶*", "A*", "王*"}
    assert "138****5678" in {r.masked_phone for r in listing}


async def test_moved_out_people_are_restored_by_a_new_import(
    db: Database, clock: FakeClock
) -> None:
    w = await make_world(db, clock)
    await w.registry.import_file(w.compound, REGISTRY_CSV.encode(), "test")
    await w.registry.move_out(w.compound, "3-2-301", "张伟", "test")
    names = {e.person.name for e in await w.repo.registry(w.compound.id)}
    assert "张伟" not in names
    everyone = await w.repo.registry(w.compound.id, include_inactive=True)
    assert {e.person.status for e in everyone if e.person.name == "张伟"} == {
        PersonStatus.MOVED_OUT}
    outcome = await w.registry.import_file(w.compound, REGISTRY_CSV.encode(), "test")
    assert outcome.counts is not None and outcome.counts.people_restored == 1


async def test_key_rotation_rewrites_every_person(db: Database, clock: FakeClock) -> None:
    from linli.common.crypto import DataProtector
    from linli.storage.repos.verification import VerificationRepository
    from tests.unit.verification.fixtures import KEY, OLD_KEY

    w = await make_world(db, clock, protector=DataProtector(OLD_KEY))
    await w.registry.import_file(w.compound, REGISTRY_CSV.encode(), "test")
    issued = await w.registry.issue_codes(w.compound, "test")
    rotated = VerificationRepository(db, clock, DataProtector(KEY, previous=[OLD_KEY]))
    counts = await rotated.rotate_keys()
    assert (counts.people, counts.codes_on_old_keys) == (5, 4)
    new_only = VerificationRepository(db, clock, DataProtector(KEY))
    assert {e.person.name for e in await new_only.registry(w.compound.id)} == {
        "张伟", "李娜", "叶西·卓玛", "Anna Berg", "王芳"}
    household = issued[0].household
    assert await new_only.find_person(household.id, "张伟") is not None
    assert await new_only.household_for_code(w.compound.id, issued[0].code) is None
    assert await rotated.household_for_code(w.compound.id, issued[0].code) == household
