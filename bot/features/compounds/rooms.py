"""Compound and officers' rooms: creating them with sensible power levels, adopting existing
rooms, and giving staff their place in them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linli.bot.matrix.gateway import (
    BOT_POWER,
    STAFF_POWER,
    VERIFIED_POWER,
    MatrixActionError,
    MatrixGateway,
    PowerLevelsEdit,
)
from linli.common.errors import DomainError
from linli.common.i18n import Translator
from linli.common.ids import RoomID, is_room_alias
from linli.community.model import AdmissionMode

log = logging.getLogger(__name__)


def compound_power_levels(
    bot_user: str, staff: list[str], mode: AdmissionMode, bot_is_creator_with_power: bool
) -> dict[str, Any]:
    """Power levels of a compound room.

    Posting needs level 1 (``events_default``), which verified members get: a new member can
    read but not post until verified, with no redaction race. Staff have 50 (moderate,
    invite), the bot 100; in room versions 12+ the bot, as creator, has unlimited power and
    must not be listed.
    """
    users: dict[str, int] = {u: STAFF_POWER for u in staff if u != bot_user}
    if not bot_is_creator_with_power:
        users[bot_user] = BOT_POWER
    return {
        "users": users,
        "users_default": 0,
        "events_default": VERIFIED_POWER if mode is AdmissionMode.MUTE else 0,
        "state_default": STAFF_POWER,
        "invite": STAFF_POWER,
        "kick": STAFF_POWER,
        "ban": STAFF_POWER,
        "redact": STAFF_POWER,
        "notifications": {"room": STAFF_POWER},
        "events": {
            "m.room.power_levels": BOT_POWER,
            "m.room.history_visibility": BOT_POWER,
            "m.room.tombstone": BOT_POWER,
            "m.room.server_acl": BOT_POWER,
            "m.room.encryption": BOT_POWER,
            "m.room.join_rules": BOT_POWER,
            "m.room.name": STAFF_POWER,
            "m.room.topic": STAFF_POWER,
            "m.room.avatar": STAFF_POWER,
            "m.room.canonical_alias": STAFF_POWER,
            "m.room.pinned_events": STAFF_POWER,
            "m.reaction": VERIFIED_POWER if mode is AdmissionMode.MUTE else 0,
            "m.room.redaction": 0,
        },
    }


def officers_power_levels(
    bot_user: str, staff: list[str], bot_is_creator_with_power: bool
) -> dict[str, Any]:
    users: dict[str, int] = {u: STAFF_POWER for u in staff if u != bot_user}
    if not bot_is_creator_with_power:
        users[bot_user] = BOT_POWER
    return {
        "users": users,
        "users_default": 0,
        "events_default": 0,
        "state_default": STAFF_POWER,
        "invite": STAFF_POWER,
        "kick": BOT_POWER,
        "ban": BOT_POWER,
        "redact": STAFF_POWER,
        "events": {"m.room.power_levels": BOT_POWER, "m.room.join_rules": BOT_POWER,
                   "m.room.history_visibility": BOT_POWER, "m.room.tombstone": BOT_POWER},
    }


@dataclass(frozen=True)
class CompoundRoom:
    room_id: RoomID
    alias: str | None
    reused: bool = False  # made by an earlier run that stopped before recording it


async def own_room_by_alias(gateway: MatrixGateway, slug: str) -> RoomID | None:
    """The room ``#slug:server`` names if the bot itself created it, else None.

    A run stopped between creating a compound's room and recording the compound (Ctrl-C, a
    crash) leaves such a room behind: the next run takes it instead of creating a second
    room without the alias."""
    alias = f"#{slug}:{gateway.user_id.split(':', 1)[1]}"
    try:
        room_id = await gateway.resolve_alias(alias)
    except MatrixActionError as exc:
        if exc.errcode == "M_NOT_FOUND":
            return None
        raise
    return room_id if await gateway.room_creator(room_id) == gateway.user_id else None


async def compound_room(
    gateway: MatrixGateway, translator: Translator, *, name: str, slug: str, locale: str,
    mode: AdmissionMode, staff: list[str], creator_power: bool | None = None,
) -> CompoundRoom:
    """The compound's room, created with alias ``#slug:server``. If the alias is taken by a
    room the bot made itself (a run stopped before recording it), that room is the one; if
    another room holds it, the new room has no alias."""
    if creator_power is None:
        creator_power = await gateway.default_room_version_gives_creator_power()
    levels = compound_power_levels(gateway.user_id, staff, mode, creator_power)
    topic = translator.render(locale, "room.topic", name=name)
    alias = f"#{slug}:{gateway.user_id.split(':', 1)[1]}"
    try:
        room_id = await gateway.create_room(
            name=name, topic=topic, alias_localpart=slug, power_levels=levels,
            knock=mode is AdmissionMode.KNOCK, invite=staff,
        )
        return CompoundRoom(room_id, alias)
    except MatrixActionError as exc:
        if exc.errcode != "M_ROOM_IN_USE":
            raise
    found = await own_room_by_alias(gateway, slug)
    if found is not None:
        log.info("room %s was made by an earlier run; using it", alias)
        return CompoundRoom(found, alias, reused=True)
    log.warning("alias %s is taken; creating the room without an alias", alias)
    room_id = await gateway.create_room(
        name=name, topic=topic, alias_localpart=None, power_levels=levels,
        knock=mode is AdmissionMode.KNOCK, invite=staff,
    )
    return CompoundRoom(room_id, None)


async def create_compound_room(
    gateway: MatrixGateway, translator: Translator, *, name: str, slug: str, locale: str,
    mode: AdmissionMode, staff: list[str],
) -> tuple[RoomID, str | None]:
    """Create the room; returns (room id, alias or None if the alias was taken)."""
    room = await compound_room(gateway, translator, name=name, slug=slug, locale=locale,
                               mode=mode, staff=staff)
    return room.room_id, room.alias


async def create_officers_room(
    gateway: MatrixGateway, translator: Translator, *, name: str, locale: str, staff: list[str]
) -> RoomID:
    creator_power = await gateway.default_room_version_gives_creator_power()
    return await gateway.create_room(
        name=name,
        topic=translator.render(locale, "room.officers_topic", name=name),
        alias_localpart=None,
        power_levels=officers_power_levels(gateway.user_id, staff, creator_power),
        knock=True,
        invite=staff,
    )



async def join_for_adoption(
    gateway: MatrixGateway, room: str, wait: float, waiting: Callable[[], None],
) -> RoomID:
    """Join the room to adopt; while the bot is not invited, try again every two seconds for
    up to ``wait`` seconds (``waiting`` is called once, to say so)."""
    room_id = await gateway.resolve_alias(room) if is_room_alias(room) else RoomID(room)
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            return await gateway.join(room_id)
        except MatrixActionError as exc:
            if time.monotonic() >= deadline or exc.errcode != "M_FORBIDDEN":
                raise DomainError("error.adopt_cannot_join", room=room,
                                  reason=exc.errcode or "") from exc
            if not said:
                waiting()
                said = True
        await asyncio.sleep(2)


async def adopt_room(
    gateway: MatrixGateway, room_id: RoomID, room: str, mode: AdmissionMode, staff: list[str]
) -> tuple[RoomID, list[str], set[str]]:
    """Take charge of an existing room the bot has joined (``join_for_adoption``).

    The bot must hold enough power (creator in v12+, or level 100). Members already in the
    room are not muted on day one: they get level 1 (except anyone someone else muted, whose
    restriction the bot leaves alone). Returns the room id, those existing members and those
    of them the bot can neither mute nor remove: the room's creators (version 12+) and anyone
    at the bot's own level (the owner of an older room).
    """
    level = await gateway.power_level_of(room_id, gateway.user_id)
    if level < BOT_POWER:
        raise DomainError("error.adopt_needs_power", room=room, level=int(level))
    members = [m for m in await gateway.joined_members(room_id) if m != gateway.user_id]

    untouchable: set[str] = set()

    async def take_charge(levels: PowerLevelsEdit) -> None:
        default = int(levels.content.get("users_default", 0))
        untouchable.clear()
        untouchable.update(m for m in members if m in levels.creators
                           or int(levels.users.get(m, default)) >= BOT_POWER)
        changes: dict[str, int] = {}
        for m in members:
            current = int(levels.users.get(m, default))
            if m in staff and current < STAFF_POWER:
                changes[m] = STAFF_POWER
            elif mode is AdmissionMode.MUTE and 0 <= current < VERIFIED_POWER:
                changes[m] = VERIFIED_POWER
        for s in staff:
            if s not in members and s not in levels.creators:
                changes.setdefault(s, STAFF_POWER)
        for u, lv in changes.items():
            levels.set(u, lv)
        if mode is AdmissionMode.MUTE:
            pl = levels.content
            pl["events_default"] = max(int(pl.get("events_default", 0)), VERIFIED_POWER)
            events = dict(pl.get("events", {}))
            events["m.reaction"] = VERIFIED_POWER
            events.setdefault("m.room.redaction", 0)
            pl["events"] = events

    await gateway.edit_power_levels(room_id, take_charge)
    if mode is AdmissionMode.KNOCK:
        await gateway.put_state(room_id, "m.room.join_rules", {"join_rule": "knock"})
    return room_id, members, untouchable
