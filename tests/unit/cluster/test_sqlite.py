"""SQLite runs one bot process: a second ``linli run`` on the same database refuses to start
with one line naming the reason; the lock goes with the process, also after SIGKILL."""

from __future__ import annotations

import base64
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[3]


def _config(tmp_path: Path) -> Path:
    # Port 9 (discard) answers nothing: the bot waits for the homeserver, holding the lock.
    config = tmp_path / "config.yaml"
    config.write_text(
        "matrix:\n  homeserver: http://127.0.0.1:9\n  user_id: '@linli:test'\n"
        f"database:\n  url: sqlite:///{tmp_path}/linli.db\n"
        "bot:\n  default_locale: en\n",
        encoding="utf-8",
    )
    return config


def _env() -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "LINLI_MATRIX__PASSWORD": "pw",
        "LINLI_SECURITY__DATA_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }


def _start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "linli", "--config", str(config), "run"], cwd=ROOT, env=_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )


def _held(lock: Path) -> bool:
    """Whether another process holds the lock (fcntl locks belong to processes)."""
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # drops a lock this test took
    return False


def _wait_held(lock: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not _held(lock):
        assert process.poll() is None, "the first process stopped"
        assert time.monotonic() < deadline, "the first process never took the lock"
        time.sleep(0.1)


def _second(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linli", "--config", str(config), "run"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60,
                          check=False)


def test_a_second_process_on_sqlite_refuses_to_start(tmp_path: Path) -> None:
    config = _config(tmp_path)
    lock = tmp_path / "linli.db.lock"
    first = _start(config)
    try:
        _wait_held(lock, first)
        second = _second(config)
        assert second.returncode == 1
        assert second.stderr.count("\n") == 1, second.stderr  # one line
        assert second.stderr.startswith("linli: another linli run is using the SQLite database")
        assert str(lock) in second.stderr and "PostgreSQL" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None  # the first one runs on
        status = subprocess.run([sys.executable, "-m", "linli", "--config", str(config),
                                 "status"], cwd=ROOT, env=_env(), capture_output=True,
                                text=True, timeout=60, check=False)
        assert (status.returncode, status.stderr) == (0, "")
        assert status.stdout.endswith(": one bot process is running.\n")

        # SIGKILL: no goodbye, and the kernel drops the lock with the process.
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert not _held(lock)
        third = _start(config)
        try:
            _wait_held(lock, third)
        finally:
            third.terminate()
            third.wait(timeout=60)
        assert not _held(lock)  # released on an orderly exit too
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
