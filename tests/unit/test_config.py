from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from linli.bot.config import ConfigError, apply_env, load_config

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@linli:test"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_environment_overrides_every_key(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), environ={
        "LINLI_MATRIX__ACCESS_TOKEN": "syt_secret",
        "LINLI_DATABASE__URL": "postgresql://linli@db/linli",
        "LINLI_BOT__ADMINS": '["@root:test"]',
        "LINLI_MATRIX__SYNC_TIMEOUT": "90s",
        "LINLI_WEB__PORT": "9000",
    })
    assert cfg.matrix.access_token is not None
    assert cfg.matrix.access_token.get_secret_value() == "syt_secret"
    assert cfg.database.url == "postgresql://linli@db/linli"
    assert cfg.bot.admins == ["@root:test"]
    assert cfg.matrix.sync_timeout == timedelta(seconds=90)
    assert cfg.web.port == 9000
    assert "syt_secret" not in repr(cfg)


def test_env_alone_is_enough_and_config_path_from_env(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    cfg = load_config(None, environ={"LINLI_CONFIG": str(path), "LINLI_MATRIX__PASSWORD": "pw"})
    assert cfg.matrix.password is not None


def test_secrets_from_files(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("syt_from_file\n")
    cfg = load_config(write(tmp_path, MINIMAL + f"  access_token_file: {token}\n"), environ={})
    assert cfg.matrix.access_token is not None
    assert cfg.matrix.access_token.get_secret_value() == "syt_from_file"


@pytest.mark.parametrize(
    ("extra_yaml", "env", "expected"),
    [
        ("", {}, "set matrix.access_token or matrix.password"),
        ("bot:\n  langauge: en\n", {"LINLI_MATRIX__PASSWORD": "pw"}, "bot.langauge: unknown key"),
        ("bot:\n  default_timezone: Mars/Olympus\n", {"LINLI_MATRIX__PASSWORD": "pw"},
         "bot.default_timezone: unknown time zone"),
        ("", {"LINLI_MATRIX__PASSWORD": "pw", "LINLI_MATRIX__SYNC_TIMEOUT": "soon"},
         "matrix.sync_timeout: 'soon' is not a duration"),
        ("", {"LINLI_MATRIX__PASSWORD": "pw", "LINLI_WEB__PORT": "99999"}, "web.port"),
        ("", {"LINLI_MATRIX__PASSWORD": "pw", "LINLI_BOT__DEFAULT_LOCALE": "fr"},
         "bot.default_locale: unknown locale"),
        ("", {"LINLI_MATRIX__ACCESS_TOKEN": "CHANGE_ME"},
         "matrix.access_token: still holds a placeholder"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, extra_yaml: str, env: dict[str, str],
                                  expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL + extra_yaml), environ=env)
    assert expected in str(info.value)


def test_example_config_is_refused_as_is() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(ROOT / "config.example.yaml", environ={})
    assert "placeholder" in str(info.value)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(write(tmp_path, "matrix: [\n"), environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_apply_env_builds_nested_sections() -> None:
    assert apply_env({}, {"LINLI_A__B__C": "1", "OTHER": "x"}) == {"a": {"b": {"c": "1"}}}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linli", *args], capture_output=True, text=True, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **(env or {})}, timeout=60,
    )


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    missing = run_cli("--config", str(tmp_path / "none.yaml"), "run")
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0
    assert "配置有误" in missing.stderr and "Traceback" not in missing.stderr  # zh-CN default
    missing = run_cli("--config", str(tmp_path / "none.yaml"), "run",
                      env={"LINLI_BOT__DEFAULT_LOCALE": "en"})
    assert missing.stderr.startswith("linli: config error: config file")

    example = run_cli("--config", str(ROOT / "config.example.yaml"), "db", "upgrade")
    assert example.returncode == 1 and "placeholder" in example.stderr

    cfg = write(tmp_path, MINIMAL.replace("8008", "9") + f"database:\n  url: sqlite:///{tmp_path}/l.db\n")
    unreachable = run_cli("--config", str(cfg), "station", "create", "xinhua", "--name", "X",
                          env={"LINLI_MATRIX__PASSWORD": "pw"})
    assert unreachable.returncode == 1
    assert "无法连接主服务器" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr


def test_every_subcommand_has_help() -> None:
    for argv in (["--help"], ["run", "--help"], ["db", "upgrade", "--help"],
                 ["compound", "create", "--help"], ["compound", "adopt", "--help"],
                 ["demo", "--help"]):
        result = run_cli(*argv)
        assert result.returncode == 0, (argv, result.stderr)
        prog = " ".join(["linli", *argv[:-1]])
        assert result.stdout.startswith(f"用法：{prog} "), result.stdout  # zh-CN by default
        result = run_cli("--lang", "en", *argv)
        assert result.returncode == 0, (argv, result.stderr)
        assert result.stdout.startswith(f"usage: {prog} "), result.stdout


def test_installed_command_works_outside_the_checkout(tmp_path: Path) -> None:
    """Every package is part of the installed distribution, not only importable from here."""
    result = subprocess.run(
        [sys.executable, "-c", "import linli.bot.app, linli.bot.cli as c; c.build_parser()"],
        capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
