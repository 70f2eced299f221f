"""Several bot processes on one database.

SQLite is the single-process embedded default: ``linli run`` holds an ``fcntl`` lock on a file
beside the database for as long as it runs, and a second process refuses to start. The kernel
drops the lock with the process, so a process killed with SIGKILL leaves nothing to clean up.

On PostgreSQL any number of processes share the compounds (see ``Coordinator``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from linli.storage.db import normalise_url


class SingleProcessError(Exception):
    """A second ``linli run`` on a SQLite database; ``lock`` is the file another one holds."""

    def __init__(self, database: str, lock: str) -> None:
        super().__init__(f"another linli run uses the SQLite database {database} "
                         f"(it holds {lock})")
        self.database = database
        self.lock = lock


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


@contextlib.contextmanager
def single_process(url: str) -> Iterator[None]:
    """Hold the one-process lock of a SQLite database while the block runs; raise
    ``SingleProcessError`` if another process holds it. Other databases: nothing to hold."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SingleProcessError(str(path), str(lock)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for the operator; the lock is the truth
        yield
    finally:
        os.close(fd)  # closing the file drops the lock
