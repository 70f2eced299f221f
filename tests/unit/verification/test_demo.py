"""The demo's sample registry: imported once, cards written once, and the household code it
prints verifies the registered name (no homeserver needed: station and compound exist)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from linli.bot.config import Config, protector_from_security
from linli.bot.demo import DEMO_CODE_FILE, _demo_household_lines, _provision
from linli.common.clock import FakeClock, SystemClock
from linli.common.ids import UserID
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.verification import VerificationRepository
from linli.verification.model import AttemptOutcome
from linli.verification.service import VerificationService


def _config(tmp_path: Path) -> Config:
    return Config.model_validate({
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@linli:demo.test",
                   "access_token": "unused"},
        "database": {"url": f"sqlite:///{tmp_path / 'linli.db'}"},
        "security": {"data_key": "k" * 43 + "="},
    })


async def test_demo_registry_cards_and_code_once(tmp_path: Path) -> None:
    config = _config(tmp_path)
    db = Database(config.database.url)
    await db.upgrade()
    community = CommunityRepository(db, SystemClock())
    station = await community.create_station("xinhua", "新华路派出所",
                                             officers_room_id="!off:demo.test")
    compound = await community.create_compound(
        slug="meiyuan", name="梅园小区", station_id=station.id, room_id="!mei:demo.test",
        room_alias="#meiyuan:demo.test")
    await db.close()
    data = tmp_path / "demo-data"
    data.mkdir()

    notes = await _provision(config, {}, data)
    assert any("9 rows read" in n for n in notes)
    cards = data / "cards.html"
    card_file = data / DEMO_CODE_FILE
    for f in (cards, card_file, data / "registry.csv"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert cards.read_text(encoding="utf-8").count('class="card"') == 8
    card = json.loads(card_file.read_text(encoding="utf-8"))
    assert card["ref"] == "1-1-101" and card["flat"] == "1栋1单元101室"
    assert card["code"] in cards.read_text(encoding="utf-8")
    lines = "\n".join(_demo_household_lines(data))
    assert f"{card['code']} {card['name']}" in lines

    # A second run imports nothing and issues nothing: the printed code still works.
    before = (cards.read_bytes(), card_file.read_bytes())
    notes = await _provision(config, {}, data)
    assert not any("rows read" in n for n in notes)
    assert (cards.read_bytes(), card_file.read_bytes()) == before

    db = Database(config.database.url)
    try:
        clock = FakeClock(SystemClock().now())
        repo = VerificationRepository(db, clock, protector_from_security(config.security))
        assert len(await repo.households(compound.id)) == 8
        service = VerificationService(repo, AuditRepository(db, clock), clock, transactions=db)
        resident = UserID("@resident1:demo.test")
        await service.on_join(compound, resident)
        result = await service.attempt(compound, resident, f"{card['code']} {card['name']}")
        assert result.outcome is AttemptOutcome.VERIFIED
    finally:
        await db.close()
