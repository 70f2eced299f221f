"""``linli stats`` and the ``questions:`` config section."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, time, timedelta

import pytest

from linli.bot.cli import CliContext
from linli.bot.config import Config, ConfigError, load_config
from linli.bot.features.questions import cli as cli_questions
from linli.common.clock import FakeClock
from linli.common.errors import DomainError, NotFound
from linli.common.ids import EventID, RoomID, UserID
from linli.community.model import Role, StaffGrant
from linli.questions.detect import detect
from linli.questions.model import MessageIn
from linli.questions.service import QuestionService
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.storage.repos.questions import QuestionRepository

MATRIX = {"homeserver": "http://127.0.0.1:8008", "user_id": "@linli:hs", "access_token": "t"}


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_questions.register(parser.add_subparsers())
    return parser.parse_args(list(argv))


async def _context(db: Database, clock: FakeClock) -> CliContext:
    ctx = CliContext(config_path=None, clock=clock)
    ctx._config = Config.model_validate({"matrix": MATRIX})
    ctx._db = db
    return ctx


async def test_linli_stats(sqlite_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # Monday 09:00 Shanghai, W10
    community = CommunityRepository(sqlite_db, clock)
    station = await community.create_station("xinhua", "新华派出所", officers_room_id="!o:hs")
    await community.create_compound(slug="meiyuan", name="梅园小区", station_id=station.id,
                                    room_id="!r:hs")
    await community.add_grant(StaffGrant(UserID("@wang:hs"), Role.OFFICER,
                                         station_id=station.id, display_name="王警官"))
    directory = await community.load_directory()
    ctx = await _context(sqlite_db, clock)
    svc = QuestionService(QuestionRepository(sqlite_db, clock), clock, lambda: directory,
                          ctx.translator)
    await svc.on_message(MessageIn(RoomID("!r:hs"), EventID("$q"), UserID("@li:hs"),
                                   "派出所周六上班吗", clock.now()))
    clock.advance(timedelta(minutes=12))
    await svc.on_message(MessageIn(RoomID("!r:hs"), EventID("$a"), UserID("@wang:hs"), "上班",
                                   clock.now(), reply_to=EventID("$q")))

    assert await cli_questions.stats_command(ctx, _parse("stats", "--station", "xinhua")) == 0
    out = capsys.readouterr().out
    assert "新华派出所 2026-W10" in out
    assert "梅园小区：提问 1，已答 1（100%），中位 12分钟，P90 12分钟，按时 100%" in out
    assert "王警官：回答 1" in out
    assert "按周：" in out and "2026-W10：提问 1" in out

    args = _parse("stats", "--week", "2026-W09", "--weeks", "0", "--locale", "en")
    assert await cli_questions.stats_command(ctx, args) == 0
    out = capsys.readouterr().out
    assert "All stations, 2026-W09" in out and "No questions" in out

    with pytest.raises(NotFound):
        await cli_questions.stats_command(ctx, _parse("stats", "--station", "nope"))
    with pytest.raises(NotFound):
        await cli_questions.stats_command(ctx, _parse("stats", "--compound", "nope"))
    with pytest.raises(DomainError):
        await cli_questions.stats_command(ctx, _parse("stats", "--week", "someday"))


def test_questions_config_defaults_and_overrides(tmp_path: object) -> None:
    default = Config.model_validate({"matrix": MATRIX}).questions.to_settings()
    assert default.deadline == timedelta(minutes=30)
    assert default.office_hours.start == time(8, 0)
    assert default.office_hours.workdays == frozenset(range(7))
    assert default.answer_reactions == ("✅",)

    custom = Config.model_validate({"matrix": MATRIX, "questions": {
        "deadline": "45m", "escalate_after": "3h", "office_start": "09:00",
        "office_end": "17:30", "workdays": ["mon", "tue", "wed", "thu", "fri"],
        "answer_reactions": ["✅", "👌"], "extra_non_questions": ["收到收到"],
        "topics": {"parcels": {"keywords": ["快递"], "roles": ["property"]}},
        "digest_weekday": "fri", "digest_time": "16:00",
    }}).questions.to_settings()
    assert custom.deadline == timedelta(minutes=45)
    assert custom.office_hours.end == time(17, 30)
    assert custom.office_hours.workdays == frozenset(range(5))
    assert custom.digest_weekday == 4 and custom.digest_time == time(16, 0)
    assert [t.name for t in custom.topics] == ["parcels", "other"]
    assert "收到收到" in custom.non_questions and "吃了吗" in custom.non_questions
    assert detect("收到收到", custom).is_question is False


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"deadline": "2h", "escalate_after": "1h"}, "escalate_after"),
        ({"office_start": "20:00", "office_end": "08:00"}, "office hours"),
        ({"office_start": "eight"}, "time of day"),
        ({"workdays": ["someday"]}, "weekday"),
        ({"topics": {"x": {"keywords": [], "roles": ["boss"]}}}, "roles"),
        ({"deadline": "soon"}, "duration"),
    ],
)
def test_bad_questions_config_names_the_problem(
    tmp_path: object, section: dict[str, object], fragment: str
) -> None:
    import yaml

    path = f"{tmp_path}/config.yaml"
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump({"matrix": MATRIX, "questions": section}, fh)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert "questions" in str(err.value) and fragment in str(err.value)


def test_environment_overrides_a_questions_list() -> None:
    config = load_config(None, environ={
        "LINLI_MATRIX__HOMESERVER": MATRIX["homeserver"], "LINLI_MATRIX__USER_ID": "@linli:hs",
        "LINLI_MATRIX__ACCESS_TOKEN": "t", "LINLI_QUESTIONS__DEADLINE": "20m",
        "LINLI_QUESTIONS__URGENT_KEYWORDS": '["地震"]',
    })
    settings = config.questions.to_settings()
    assert settings.deadline == timedelta(minutes=20)
    assert settings.urgent_keywords == ("地震",)
