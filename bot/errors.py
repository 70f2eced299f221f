"""Reference ids for unexpected failures: the person sees the ref, the log has the traceback."""

from __future__ import annotations

import secrets


def new_ref() -> str:
    return secrets.token_hex(2)
