"""The verification CLI end to end on a SQLite file, and what the file does not contain."""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import pytest

from linli.bot.cli import CliContext
from linli.bot.config import Config
from linli.bot.features.verification.cli import (
    cards,
    codes_issue,
    enrolment,
    households_export,
    households_import,
    households_list,
    households_status,
    keys_generate,
    keys_rotate,
)
from linli.bot.features.verification.config import policy_from_config
from linli.common.clock import FakeClock
from linli.common.crypto import DataProtector, generate_key
from linli.common.ids import UserID
from linli.community.model import Role, StaffGrant
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.verification import VerificationRepository
from linli.verification.model import AttemptOutcome
from linli.verification.policy import VerificationPolicy
from linli.verification.service import VerificationService
from tests.unit.verification.fixtures import PLAINTEXTS, REGISTRY_CSV


def make_ctx(db_path: Path, clock: FakeClock, key: str, previous: list[str] | None = None
             ) -> CliContext:
    config = Config.model_validate({
        "matrix": {"homeserver": "http://127.0.0.1:8008", "user_id": "@linli:hs",
                   "access_token": "t"},
        "database": {"url": f"sqlite:///{db_path}"},
        "security": {"data_key": key, "previous_data_keys": previous or []},
    })
    # English output (--lang en): the Chinese report is in tests/unit/test_cli_operators.py.
    return CliContext(config_path=None, clock=clock, lang="en", _config=config)


def database_bytes(folder: Path) -> bytes:
    """The SQLite file with its write-ahead log and shared memory, as raw bytes."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob("linli.db*")))


async def run(handler, ctx: CliContext, **kwargs: object) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(await handler(ctx, argparse.Namespace(**kwargs)))
    finally:
        await ctx.close()


async def setup_compound(db_path: Path, clock: FakeClock) -> None:
    db = Database(f"sqlite:///{db_path}")
    await db.upgrade()
    repo = CommunityRepository(db, clock)
    station = await repo.create_station("xinhua", "新华派出所", officers_room_id="!off:hs")
    await repo.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id="!room:hs",
        room_alias="#meiyuan:hs",
        settings={"emergency_numbers": [{"label": "物业", "number": "0571-88001234"},
                                        {"label": "报警", "number": "110"}]},
    )
    await repo.add_grant(StaffGrant(UserID("@wang:hs"), Role.OFFICER, station_id=station.id,
                                    display_name="王警官", phone="13700001234"))
    await db.close()


def test_policy_from_config_matches_the_defaults() -> None:
    from linli.bot.config import VerificationConfig

    assert policy_from_config(VerificationConfig()) == VerificationPolicy()


async def test_import_cards_verify_rotate_and_no_plaintext_at_rest(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    db_path = tmp_path / "linli.db"
    key = generate_key()
    await setup_compound(db_path, clock)
    csv_path = tmp_path / "registry.csv"
    csv_path.write_bytes(REGISTRY_CSV.replace(
        "building,unit,flat,name,phone,role,note", "楼栋,单元,房号,姓名,电话,身份,备注"
    ).encode("gbk"))

    assert await run(households_import, make_ctx(db_path, clock, key), file=str(csv_path),
                     compound="meiyuan", partial=False, encoding=None) == 0
    out = capsys.readouterr().out
    assert "5 rows read (gb18030): 5 good" in out
    assert "4 households added, 5 people added" in out
    assert await run(households_import, make_ctx(db_path, clock, key), file=str(csv_path),
                     compound="meiyuan", partial=False, encoding="gbk") == 0
    assert "0 people added, 0 changed, 0 restored, 5 unchanged" in capsys.readouterr().out

    assert await run(households_list, make_ctx(db_path, clock, key), compound="meiyuan") == 0
    listing = capsys.readouterr().out
    assert "张*" in listing and "138****5678" in listing and "张伟" not in listing

    cards_path = tmp_path / "cards.html"
    assert await run(cards, make_ctx(db_path, clock, key), compound="meiyuan",
                     out=str(cards_path), officer=None, household=None, missing=False) == 0
    html = cards_path.read_text(encoding="utf-8")
    found = re.findall(r'class="flat">([^<]+)</div>.*?class="code">([0-9A-Z]{4}-[0-9A-Z]{4})<',
                       html)
    assert len(found) == 4 and html.count('class="card"') == 4
    assert "<svg" in html and "王警官" in html and "13700001234" in html
    assert "0571-88001234" in html and "梅园小区" in html
    assert "break-after: page" in html
    codes = {flat: code for flat, code in found}
    code = codes["3栋2单元301室"]

    # a resident verifies with the card
    db = Database(f"sqlite:///{db_path}")
    repo = VerificationRepository(db, clock, DataProtector.from_strings(key))
    service = VerificationService(repo, AuditRepository(db, clock), clock, transactions=db)
    compound = await CommunityRepository(db, clock).compound("meiyuan")
    await service.on_join(compound, UserID("@alice:hs"))
    await service.attempt(compound, UserID("@alice:hs"), "ABCD-EFGH 张伟")  # a wrong try
    result = await service.attempt(compound, UserID("@alice:hs"), f"{code} 张伟")
    assert result.outcome is AttemptOutcome.VERIFIED
    await db.close()

    assert await run(enrolment, make_ctx(db_path, clock, key), compound="meiyuan") == 0
    assert "1/4 households enrolled (25.0%)" in capsys.readouterr().out

    # rotate to a new key: names are re-encrypted and re-hashed, printed codes keep working
    new_key = generate_key()
    assert await run(keys_rotate, make_ctx(db_path, clock, new_key, [key])) == 0
    rotated = capsys.readouterr().out
    assert "re-encrypted 5 people" in rotated and "4 live enrolment codes" in rotated
    db = Database(f"sqlite:///{db_path}")
    only_new = VerificationRepository(db, clock, DataProtector.from_strings(new_key))
    households = await only_new.households(compound.id)
    assert await only_new.find_person(households[0].id, "张伟") is not None
    with_old = VerificationRepository(db, clock, DataProtector.from_strings(new_key, [key]))
    card_code = codes["5栋1单元101室"].replace("-", "")
    assert await with_old.household_for_code(compound.id, card_code) is not None
    assert await only_new.household_for_code(compound.id, card_code) is None
    await db.close()

    export_path = tmp_path / "export.csv"
    assert await run(households_export, make_ctx(db_path, clock, new_key, [key]),
                     compound="meiyuan", out=str(export_path), bom=False) == 0
    assert "叶西·卓玛" in export_path.read_text(encoding="utf-8")
    capsys.readouterr()

    # the database files hold none of the names, phones, notes or codes
    stored = database_bytes(tmp_path)
    assert len(stored) > 10_000
    assert "王警官".encode() in stored  # staff names are not resident data: the scan sees text
    secrets = PLAINTEXTS + list(codes.values()) + [c.replace("-", "") for c in codes.values()]
    for text in secrets:
        for encoding in ("utf-8", "utf-16-le", "gb18030"):
            assert text.encode(encoding) not in stored, text
    for text in secrets:
        assert text not in caplog.text


async def test_status_commands_and_code_printing(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "linli.db"
    key = generate_key()
    await setup_compound(db_path, clock)
    csv_path = tmp_path / "registry.csv"
    csv_path.write_text(REGISTRY_CSV + "9,1,1,坏行,abc,owner,\n", encoding="utf-8")
    assert await run(households_import, make_ctx(db_path, clock, key), file=str(csv_path),
                     compound="meiyuan", partial=False, encoding=None) == 1
    out = capsys.readouterr().out
    assert "row 7, column phone: not a phone number" in out and "nothing stored" in out
    assert await run(households_import, make_ctx(db_path, clock, key), file=str(csv_path),
                     compound="meiyuan", partial=True, encoding=None) == 1
    assert "5 people added" in capsys.readouterr().out

    assert await run(codes_issue, make_ctx(db_path, clock, key), compound="meiyuan",
                     household=["3-2-301"], missing=False) == 0
    printed = capsys.readouterr().out
    assert re.search(r"3-2-301\s+[0-9A-Z]{4}-[0-9A-Z]{4}", printed)
    assert "1 code issued" in printed

    assert await run(households_status, make_ctx(db_path, clock, key), compound="meiyuan",
                     flat="3栋2单元301", name="张伟", action="move-out") == 0
    assert "marked moved out" in capsys.readouterr().out
    assert await run(households_status, make_ctx(db_path, clock, key), compound="meiyuan",
                     flat="3-2-301", name="张伟", action="restore") == 0
    assert "restored" in capsys.readouterr().out

    assert await run(keys_generate, make_ctx(db_path, clock, key)) == 0
    generated = capsys.readouterr().out.strip()
    assert len(DataProtector.from_strings(generated).key_id) == 8
