"""How a failure is named in the log: the action and the homeserver's error code, or the
exception's type."""

from __future__ import annotations

from linli.bot.matrix.gateway import MatrixActionError


def describe(exc: BaseException) -> str:
    if isinstance(exc, MatrixActionError):
        return f"{exc.action}: {exc.errcode or exc.status or 'error'}"
    return type(exc).__name__
