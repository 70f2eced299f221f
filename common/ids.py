"""Identifier types, so a room id is never passed where a user id belongs."""

from __future__ import annotations

import ipaddress
import re
from typing import NewType

from linli.common.errors import DomainError, excerpt

UserID = NewType("UserID", str)
RoomID = NewType("RoomID", str)
EventID = NewType("EventID", str)
RoomAlias = NewType("RoomAlias", str)
CompoundId = NewType("CompoundId", int)
StationId = NewType("StationId", int)
HouseholdId = NewType("HouseholdId", int)
PersonId = NewType("PersonId", int)

# The Matrix grammar (spec: "Users", "Server name"), with the historical user ids the spec
# still accepts (any printable ASCII but ":" in the localpart).
_LOCALPART_RE = re.compile(r"[\x21-\x39\x3b-\x7e]+")
_DNS_NAME_RE = re.compile(r"[A-Za-z0-9.\-]{1,255}")
_IPV4_RE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}")
_IPV6_CHARS_RE = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_PORT_RE = re.compile(r"[0-9]{1,5}")
MAX_USER_ID_BYTES = 255
_ROOM_RE = re.compile(r"^![\x21-\x7e]+(:[A-Za-z0-9.\-\[\]:]+)?$")
_ALIAS_RE = re.compile(r"^#[^:\s]+:[A-Za-z0-9.\-\[\]:]+$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def is_server_name(text: str) -> bool:
    """``hostname [":" port]``: a DNS name, an IPv4 address or a bracketed IPv6 address, and
    a port of 1 to 5 digits no higher than 65535."""
    host, port = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return False
        host, rest = text[: end + 1], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                return False
            port = rest[1:]
        if not _IPV6_CHARS_RE.fullmatch(host[1:-1]):
            return False
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
    else:
        host, sep, tail = text.partition(":")
        if sep:
            port = tail
        if _IPV4_RE.fullmatch(host):
            if any(int(part) > 255 for part in host.split(".")):
                return False
        elif not _DNS_NAME_RE.fullmatch(host):
            return False
    return port is None or bool(_PORT_RE.fullmatch(port) and int(port) <= 65535)


def is_user_id(text: str) -> bool:
    """Whether ``text`` is a Matrix user id by the spec's grammar: ``@localpart:server``, at
    most 255 bytes in all."""
    if not text.startswith("@") or len(text.encode("utf-8")) > MAX_USER_ID_BYTES:
        return False
    local, sep, server = text[1:].partition(":")
    return bool(sep and _LOCALPART_RE.fullmatch(local) and is_server_name(server))


def parse_user_id(text: str) -> UserID:
    """Return ``text`` as a UserID or raise a user-safe error naming what is wrong."""
    value = text.strip()
    if not is_user_id(value):
        raise DomainError("error.invalid_user_id", value=excerpt(value))
    return UserID(value)


def parse_room_id(text: str) -> RoomID:
    value = text.strip()
    if not _ROOM_RE.match(value):
        raise DomainError("error.invalid_room_id", value=excerpt(value))
    return RoomID(value)


def is_room_alias(text: str) -> bool:
    return bool(_ALIAS_RE.match(text.strip()))


def parse_slug(text: str) -> str:
    value = text.strip()
    if not _SLUG_RE.match(value):
        raise DomainError("error.invalid_slug", value=excerpt(value))
    return value


def server_name(user_id: str) -> str:
    """The server part of a Matrix id ("@a:example.org" -> "example.org")."""
    return user_id.split(":", 1)[1]


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]
