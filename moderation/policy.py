"""Pure rules of moderation: who may moderate, who is never acted on, when warnings escalate."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from linli.community.model import Directory, Role

MAX_MUTE = timedelta(days=365)
MAX_REASON = 500
MODERATOR_ROLES = frozenset({Role.OFFICER, Role.ADMIN})

_EVENT_RE = re.compile(r"^\$[\x21-\x7e]{1,254}$")


def may_moderate(roles: Iterable[Role]) -> bool:
    """Officers and admins moderate; residents and other staff do not."""
    return not MODERATOR_ROLES.isdisjoint(roles)


def is_protected(directory: Directory, user_id: str) -> bool:
    """Staff of any compound and admins are never muted, kicked, banned, warned or redacted
    by the bot: a dispute between staff is for people, not for a bot."""
    return directory.is_staff_anywhere(user_id) or directory.is_admin(user_id)


def should_escalate(open_warnings: int, limit: int) -> bool:
    return limit > 0 and open_warnings >= limit


def valid_event_id(text: str) -> bool:
    return bool(_EVENT_RE.match(text))


def clean_reason(text: str) -> str:
    """One line, bounded, so a reason cannot flood the officers' room or the audit table."""
    return " ".join(text.split())[:MAX_REASON]
