"""Identifier types, so a room id is never passed where a user id belongs."""

from __future__ import annotations

import re
from typing import NewType

from common.errors import DomainError

UserID = NewType("UserID", str)
RoomID = NewType("RoomID", str)
EventID = NewType("EventID", str)
RoomAlias = NewType("RoomAlias", str)
CompoundId = NewType("CompoundId", int)
StationId = NewType("StationId", int)
HouseholdId = NewType("HouseholdId", int)
PersonId = NewType("PersonId", int)

# Matrix grammar, slightly relaxed for historical user ids (spec: "Historical user IDs").
_USER_RE = re.compile(r"^@[\x21-\x39\x3b-\x7e]{1,255}:[A-Za-z0-9.\-\[\]:]+$")
_ROOM_RE = re.compile(r"^![\x21-\x7e]+(:[A-Za-z0-9.\-\[\]:]+)?$")
_ALIAS_RE = re.compile(r"^#[^:\s]+:[A-Za-z0-9.\-\[\]:]+$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def parse_user_id(text: str) -> UserID:
    """Return ``text`` as a UserID or raise a user-safe error naming what is wrong."""
    value = text.strip()
    if not _USER_RE.match(value):
        raise DomainError("error.invalid_user_id", value=value[:80])
    return UserID(value)


def parse_room_id(text: str) -> RoomID:
    value = text.strip()
    if not _ROOM_RE.match(value):
        raise DomainError("error.invalid_room_id", value=value[:80])
    return RoomID(value)


def is_room_alias(text: str) -> bool:
    return bool(_ALIAS_RE.match(text.strip()))


def parse_slug(text: str) -> str:
    value = text.strip()
    if not _SLUG_RE.match(value):
        raise DomainError("error.invalid_slug", value=value[:80])
    return value


def server_name(user_id: str) -> str:
    """The server part of a Matrix id ("@a:example.org" -> "example.org")."""
    return user_id.split(":", 1)[1]


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]
