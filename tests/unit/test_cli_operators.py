"""The operator's console end to end, through ``bot.cli.main`` as the installed ``linli``
runs it: a config file, a SQLite database, exit codes, stdout and stderr (issue 13).

Nothing here talks to Matrix: the commands that need the homeserver are in the integration
tests (tests/integration/test_foundation.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from linli.bot.cli import main
from linli.common.clock import SystemClock
from linli.community.model import Compound
from linli.questions.settings import QuestionSettings
from linli.storage.db import Database
from linli.storage.repos.community import CommunityRepository
from linli.verification.policy import VerificationPolicy


@dataclass
class Console:
    """``linli --config FILE ...`` in this process; returns (exit code, stdout, stderr)."""

    config: Path
    db_url: str
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def compound(self, slug: str = "meiyuan") -> Compound:
        async def read() -> Compound:
            db = Database(self.db_url)
            try:
                return await CommunityRepository(db, SystemClock()).compound(slug)
            finally:
                await db.close()

        return asyncio.run(read())


def write_config(folder: Path, locale: str | None = None) -> tuple[Path, str]:
    url = f"sqlite:///{folder / 'linli.db'}"
    text = (
        "matrix:\n  homeserver: http://127.0.0.1:9\n  user_id: \"@linli:hs.test\"\n"
        "  access_token: t\n"
        f"database:\n  url: {url}\n"
        f"security:\n  data_key: \"{'k' * 43}=\"\n"
    )
    if locale:
        text += f"bot:\n  default_locale: {locale}\n"
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path, url


def seed(url: str) -> None:
    async def run() -> None:
        db = Database(url)
        await db.upgrade()
        repo = CommunityRepository(db, SystemClock())
        station = await repo.create_station("xinhua", "新华派出所", officers_room_id="!off:hs")
        await repo.create_compound(slug="meiyuan", name="梅园小区", station_id=station.id,
                                   room_id="!room:hs", room_alias="#meiyuan:hs")
        await db.close()

    asyncio.run(run())


@pytest.fixture
def linli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Console:
    (tmp_path / "zh").mkdir()
    config, url = write_config(tmp_path / "zh")
    seed(url)
    return Console(config, url, capsys)


@pytest.fixture
def linli_en(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Console:
    (tmp_path / "en").mkdir()
    config, url = write_config(tmp_path / "en", locale="en")
    seed(url)
    return Console(config, url, capsys)


# --- linli compound set: what the bot can read, merged into what is there ----------------------


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("questions={deadline: soon}", "questions.deadline"),
        ("questions={deadlin: 1h}", "questions.deadlin"),           # misspelt
        ("questions={office_end: 25:00}", "questions.office_end"),
        ("questions={office_end: 1080}", "questions.office_end"),   # a number is no time
        ("questions={workdays: [mon, funday]}", "questions.workdays"),
        ("questions={enabled: maybe}", "questions.enabled"),
        ("questions={topics: {}}", "questions.topics"),             # config-file only
        ("questions=1h", "questions"),
        ("questions.deadline=soon", "questions.deadline"),
        ("verification={grace: soon}", "verification.grace"),
        ("verification={household_cap: 0}", "verification.household_cap"),
        ("verification={reminders: 2h}", "verification.reminders"),
        ("verificaton={grace: 96h}", "verificaton"),                # misspelt block
        ("emergency_numbers=[{label: 报警}]", "emergency_numbers"),
        ("emergency_numbers=110", "emergency_numbers"),
        ("timezone=Asia/Tokyo", "timezone"),                        # a column: --timezone
    ],
)
def test_a_setting_the_bot_cannot_read_is_refused_naming_the_key(
    linli_en: Console, setting: str, key: str
) -> None:
    before = linli_en.compound().settings
    code, out, err = linli_en("compound", "set", "meiyuan", "--setting", setting)
    assert code == 1, (out, err)
    assert out == ""
    [line] = err.splitlines()  # one line, no traceback, no log lines
    assert line.startswith("linli: ") and key in line, line
    assert linli_en.compound().settings == before  # nothing written


def test_a_refusal_reads_in_the_deployments_language(linli: Console) -> None:
    code, _, err = linli("compound", "set", "meiyuan", "--setting", "questions={deadline: soon}")
    assert code == 1
    assert err == ("linli: 小区设置 questions.deadline 无效：“soon”不是有效的时长，"
                   "请写成 90s、30m、72h 或 7d 这样的形式。\n")
    code, _, err = linli("compound", "set", "meiyuan", "--setting", "questions={deadlin: 1h}")
    assert code == 1 and "没有小区设置 questions.deadlin" in err and "deadline" in err


def test_an_invalid_combination_is_refused(linli_en: Console) -> None:
    code, _, err = linli_en("compound", "set", "meiyuan", "--setting",
                            'questions={office_start: "18:00", office_end: "09:00"}')
    assert code == 1 and "questions" in err and "18:00" in err, err
    code, _, err = linli_en("compound", "set", "meiyuan", "--setting",
                            "questions={deadline: 3h}")  # the escalation (2h) comes first
    assert code == 1 and "questions.escalate_after" in err, err


def test_times_are_read_as_written_and_the_bot_reads_what_is_stored(linli: Console) -> None:
    code, out, err = linli("compound", "set", "meiyuan", "--setting",
                           "questions={office_start: 9:30, office_end: 18:00, deadline: 90}")
    assert (code, err) == (0, ""), err
    stored = linli.compound().settings["questions"]
    assert stored == {"office_start": "09:30", "office_end": "18:00", "deadline": "1m30s"}
    read = QuestionSettings().with_overrides(stored)
    assert (str(read.office_hours.start), str(read.office_hours.end)) == ("09:30:00", "18:00:00")
    assert read.deadline.total_seconds() == 90
    assert "meiyuan" in out


def test_a_setting_is_merged_into_the_block_and_can_be_unset(linli: Console) -> None:
    assert linli("compound", "set", "meiyuan", "--setting", "questions={deadline: 1h}")[0] == 0
    assert linli("compound", "set", "meiyuan", "--setting",
                 'questions={office_start: "09:00", workdays: mon-fri}')[0] == 0
    assert linli("compound", "set", "meiyuan", "--setting", "questions.escalate_after=3h",
                 "--setting", "verification={grace: 96h, reminders: [24h]}")[0] == 0
    settings = linli.compound().settings
    assert settings["questions"] == {
        "deadline": "1h", "office_start": "09:00", "escalate_after": "3h",
        "workdays": ["mon", "tue", "wed", "thu", "fri"],
    }
    policy = VerificationPolicy().with_overrides(settings["verification"])
    assert policy.grace.total_seconds() == 96 * 3600 and len(policy.reminders) == 1
    read = QuestionSettings().with_overrides(settings["questions"])
    assert read.office_hours.workdays == frozenset(range(5))

    assert linli("compound", "set", "meiyuan", "--unset", "questions.deadline",
                 "--unset", "verification")[0] == 0
    settings = linli.compound().settings
    assert "deadline" not in settings["questions"] and "verification" not in settings
    code, _, err = linli("compound", "set", "meiyuan", "--unset", "questions.nothing")
    assert code == 1 and "questions.nothing" in err


def test_values_are_stored_as_the_bot_reads_them(linli: Console) -> None:
    """Seconds become a duration the bot parses, also when the value only fits together with
    another key of the same --setting (the deadline longer than the configured escalation)."""
    assert linli("compound", "set", "meiyuan", "--setting",
                 "questions={deadline: 10800, escalate_after: 4h, enabled: no}")[0] == 0
    stored = linli.compound().settings["questions"]
    assert stored == {"deadline": "3h", "escalate_after": "4h", "enabled": False}
    read = QuestionSettings().with_overrides(stored)
    assert (read.deadline.total_seconds(), read.enabled) == (10800, False)


def test_emergency_numbers_and_the_officer_on_duty(linli: Console) -> None:
    code, _, err = linli(
        "compound", "set", "meiyuan", "--setting",
        "emergency_numbers=[{label: 报警, number: 110}, {label: 物业, number: 0571-88001234}]",
        "--setting", "officer_on_duty=王警官",
    )
    assert (code, err) == (0, "")
    settings = linli.compound().settings
    assert settings["emergency_numbers"] == [{"label": "报警", "number": "110"},
                                             {"label": "物业", "number": "0571-88001234"}]
    assert settings["officer_on_duty"] == "王警官"


# --- the console's language and what it prints ---------------------------------------------------

BAD_REGISTRY = (
    "楼栋,单元,房号,姓名,电话,身份,备注\n"
    "3,2,301,张伟,13812345678,业主,\n"
    "3,2,302,王芳,12345,业主,\n"          # row 3: a service number, not a phone
    "3,2,303,赵磊,13812345679,房东,\n"    # row 4: no such role
)


def test_the_import_report_speaks_the_deployments_language(linli: Console, tmp_path: Path
                                                           ) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(BAD_REGISTRY, encoding="utf-8")
    code, out, err = linli("households", "import", str(registry), "--compound", "meiyuan")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "第 3 行，电话：不是有效的电话号码：请填 11 位手机号，或带区号的固定电话"
        "（如 0571-88889999）；境外号码以 + 开头。",
        "第 4 行，身份：身份“房东”无效，应为 业主、租户 或 家属。",
        "读取 3 行（utf-8-sig）：1 行无误，2 行有问题",
        "未保存任何内容：请修正以上各行，或加 --partial 只保存无误的行。",
    ]


def test_the_import_report_in_english(linli_en: Console, tmp_path: Path) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(BAD_REGISTRY, encoding="utf-8")
    code, out, err = linli_en("households", "import", str(registry), "--compound", "meiyuan",
                              "--partial")
    assert (code, err) == (1, "")
    assert out.splitlines()[0].startswith("row 3, column phone: not a phone number")
    assert "stored: 1 household added, 1 people added" in out  # plural on the first count


def test_commands_print_no_log_lines(tmp_path: Path) -> None:
    """The installed command as a process: migrating a new database, then reading it, print
    the result and nothing on stderr (no Alembic INFO lines)."""
    config, _ = write_config(tmp_path)

    def linli(*argv: str) -> tuple[int, str, str]:
        result = subprocess.run([sys.executable, "-m", "linli", "--config", str(config), *argv],
                                capture_output=True, text=True, timeout=60, check=False,
                                cwd=Path(__file__).parents[2])
        return result.returncode, result.stdout, result.stderr

    assert linli("db", "upgrade") == (0, "数据库已是最新结构。\n", "")  # migrates a new file
    assert linli("station", "list") == (0, "", "")
    assert linli("--lang", "en", "db", "upgrade") == (0, "database is up to date\n", "")


def test_errors_are_one_line_in_the_deployments_language(linli: Console, linli_en: Console
                                                         ) -> None:
    assert linli("compound", "set", "nowhere", "--name", "x") == (
        1, "", "linli: 没有找到小区“nowhere”。\n")
    assert linli_en("compound", "set", "nowhere", "--name", "x") == (
        1, "", "linli: No compound “nowhere”.\n")
    assert linli("compound", "set", "meiyuan") == (
        1, "", "linli: 没有要修改的内容：请给出 --name、--timezone、--locale、--setting 或 "
               "--unset。\n")
    assert linli("compound", "set", "meiyuan", "--timezone", "Mars/Olympus") == (
        1, "", "linli: 未知的时区“Mars/Olympus”，请写成 Asia/Shanghai 这样的名称。\n")
    code, out, err = linli("--lang", "en", "compound", "set", "nowhere", "--name", "x")
    assert err == "linli: No compound “nowhere”.\n"


def test_successes_and_errors_speak_one_language(linli: Console, linli_en: Console) -> None:
    code, out, err = linli("bulletins", "add", "meiyuan once 2099-01-01 09:00 | 标题 | 正文")
    assert code == 0 and out.startswith("已创建公告 #1") and err == ""
    assert linli("bulletins", "show", "7")[2].startswith("linli: 没有")
    code, out, err = linli_en("bulletins", "add", "meiyuan once 2099-01-01 09:00 | T | B")
    assert code == 0 and "#1" in out and "已" not in out
    assert linli_en("bulletins", "show", "7")[2] == "linli: No bulletin number 7.\n"
    code, out, _ = linli("staff", "add", "@wang:hs.test", "--role", "officer",
                         "--station", "xinhua", "--no-invite")
    assert out == "@wang:hs.test 现在是民警（派出所 xinhua）\n"
    assert linli("staff", "list") == (0, "@wang:hs.test\tofficer\t派出所 xinhua\n", "")
    assert linli("station", "list") == (0, "xinhua\t新华派出所\tzh-CN\t民警工作群：!off:hs\n", "")
    assert linli("compound", "list") == (
        0, "meiyuan\t梅园小区\txinhua\tmute\tAsia/Shanghai\tzh-CN\t#meiyuan:hs\n", "")


def test_a_config_error_is_one_line_in_the_configured_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = write_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8")
                      + "bot:\n  default_timezone: Mars/Olympus\n", encoding="utf-8")
    code, out, err = Console(config, url, capsys)("station", "list")
    assert (code, out) == (1, "")
    assert err == ("linli: 配置有误：bot.default_timezone: unknown time zone 'Mars/Olympus'; "
                   "use a name like Asia/Shanghai\n")


# --- setting up many compounds, and a console that starts quickly -------------------------------


def test_a_bulk_file_is_checked_row_by_row_before_anything_is_created(
    linli: Console, tmp_path: Path
) -> None:
    csv_file = tmp_path / "compounds.csv"
    csv_file.write_text(
        "简称,名称,派出所,入群方式,时区\n"
        "taoyuan,桃园小区,xinhua,knock,Asia/Shanghai\n"
        "lanyuan,兰园小区,dongcheng,mute,\n"             # row 3: no such station
        "zhuyuan,竹园小区,xinhua,open,\n"                # row 4: no such mode
        "juyuan,菊园小区,xinhua,,Mars/Olympus\n"         # row 5: no such time zone
        "taoyuan,桃园二期,xinhua,,\n"                    # row 6: the slug again
        "Bad Slug,坏,xinhua,,\n",                        # row 7
        encoding="utf-8",
    )
    code, out, err = linli("compound", "import", str(csv_file))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "第 3 行，派出所：没有派出所“dongcheng”（先用 linli station create 创建）",
        "第 4 行，入群方式：入群方式“open”无效，应为 mute（验证后发言）或 knock（敲门）",
        "第 5 行，时区：未知的时区“Mars/Olympus”，请写成 Asia/Shanghai 这样的名称。",
        "第 6 行，简称：与第 2 行的简称相同",
        "第 7 行，简称：“Bad Slug”不是有效的简称：只能用小写字母、数字和连字符。",
        "未创建任何小区：5 行有问题，请修正后再运行。",
    ]
    assert linli("compound", "list")[1].count("\n") == 1  # meiyuan alone


def test_compounds_already_there_are_skipped(linli_en: Console, tmp_path: Path) -> None:
    csv_file = tmp_path / "compounds.csv"
    csv_file.write_text("slug,name,station\nmeiyuan,梅园小区,xinhua\n", encoding="utf-8")
    assert linli_en("compound", "import", str(csv_file)) == (
        0, "1 row read: 0 compounds to create, 1 exist already (skipped).\n", "")


def test_the_console_loads_only_what_a_command_needs(tmp_path: Path) -> None:
    """Building the parser loads neither the Matrix client nor the database layer, and a
    command on a database already at the newest migration does not load Alembic."""
    config, url = write_config(tmp_path)
    seed(url)
    heavy = ("nio", "aiohttp", "sqlalchemy", "alembic", "pydantic", "qrcode", "apscheduler",
             "markdown_it", "cryptography")
    script = (
        "import sys\n"
        "from bot.cli import build_parser, main\n"
        "build_parser()\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
        f"code = main(['--config', {str(config)!r}, 'compound', 'list'])\n"
        "print(code, sorted(m for m in ('alembic', 'nio', 'aiohttp') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(__file__).parents[2], timeout=60, check=False)
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "[]"
    assert lines[-1] == "0 []"


async def test_the_schema_check_knows_a_migrated_database(db: Database, tmp_path: Path) -> None:
    """On SQLite and PostgreSQL: at the newest migrations the CLI skips Alembic; a new (or
    older) database is upgraded as before."""
    from linli.bot.cli import migration_heads, schema_is_current
    from linli.storage.db import MIGRATIONS

    heads = migration_heads(MIGRATIONS / "versions")
    assert heads and "0001" not in heads
    assert await schema_is_current(db)
    fresh = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert not await schema_is_current(fresh)
        await fresh.upgrade()
        assert await schema_is_current(fresh)
    finally:
        await fresh.close()


def test_usage_errors_are_one_line_in_the_deployments_language(
    linli: Console, linli_en: Console
) -> None:
    code, out, err = linli("compound", "create")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("linli: 命令有误：缺少参数：")
    assert "linli compound create --help" in err
    code, out, err = linli_en("compound", "frobnicate")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("linli: wrong command: argument ") and "frobnicate" in err
    code, _, err = linli("--lang", "fr", "compound", "list")
    assert code == 2 and err.count("\n") == 1 and err.startswith("linli: 命令有误")
