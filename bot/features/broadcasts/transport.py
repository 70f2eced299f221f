"""The broadcasts core's Matrix side: its ``Transport`` port over the bot's gateway, the
bulletin's message content, and the delivery reports posted in the officers' rooms.

A send carries the ledger's transaction id, so a retry after a crash is deduplicated by the
homeserver; a refusal is sorted here into permanent (given up) or temporary (retried by the
core, ``broadcasts/delivery.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from aiohttp import ClientError

from linli.bot.matrix.gateway import (
    POWER_LEVELS,
    MatrixActionError,
    MatrixGateway,
    RateLimited,
)
from linli.broadcasts.model import RenderedMessage, Report
from linli.broadcasts.ports import PermanentFailure, SendResult, Sent, TemporaryFailure
from linli.broadcasts.ports import RateLimited as RateLimitedResult
from linli.broadcasts.render import render_reply
from linli.common.i18n import Translator
from linli.common.ids import RoomID

log = logging.getLogger(__name__)

ROOM_MENTION = "@room"
# Refusals that retrying cannot change: not in the room, kicked, banned, room gone, no power
# to post. M_UNKNOWN is left out on purpose: Synapse answers a 500 with it.
PERMANENT_ERRCODES = frozenset(
    {"M_FORBIDDEN", "M_NOT_FOUND", "M_BAD_JSON", "M_INVALID_PARAM", "M_TOO_LARGE",
     "M_UNSUPPORTED_ROOM_VERSION", "M_UNKNOWN_TOKEN"}
)


def bulletin_content(message: RenderedMessage, mention_room: bool = False) -> dict[str, Any]:
    """An ``m.room.message``: the Markdown source as plain body, its HTML as formatted body.

    ``m.text``, not the usual bot ``m.notice``: the default push rules silence notices, and a
    bulletin is meant to reach people. ``m.mentions`` is always set, so nothing in a text
    pings anyone unless ``@room`` is asked for and allowed.
    """
    body, html = message.body, message.formatted_body
    if mention_room:
        body = f"{ROOM_MENTION}\n{body}"
        html = f"<p>{ROOM_MENTION}</p>\n{html}"
    return {
        "msgtype": "m.text",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": {"room": True} if mention_room else {},
    }


class MatrixTransport:
    """broadcasts.ports.Transport over the bot's gateway."""

    def __init__(self, gateway: MatrixGateway) -> None:
        self.gateway = gateway

    async def may_mention_room(self, room_id: str) -> bool:
        """Whether the bot's power reaches the room's ``notifications.room`` level (default
        50); a room it cannot read gets no ``@room``, and the send reports the real error."""
        try:
            info = await self.gateway.room_info(room_id)
            if self.gateway.user_id in info.creators:
                return True
            levels = await self.gateway.state_event(room_id, POWER_LEVELS)
        except (MatrixActionError, ClientError, TimeoutError):
            return False
        users = levels.get("users") or {}
        try:
            mine = int(users.get(self.gateway.user_id, levels.get("users_default", 0)))
            needed = int((levels.get("notifications") or {}).get("room", 50))
        except (TypeError, ValueError):
            return False
        return mine >= needed

    async def send(self, room_id: RoomID, message: RenderedMessage, txn_id: str) -> SendResult:
        mention = message.mention_room and await self.may_mention_room(room_id)
        try:
            event_id = await self.gateway.send(
                room_id, bulletin_content(message, mention), txn_id=txn_id
            )
        except RateLimited as exc:
            return RateLimitedResult(timedelta(milliseconds=exc.retry_after_ms))
        except MatrixActionError as exc:
            reason = exc.errcode or exc.status or "error"
            if exc.errcode in PERMANENT_ERRCODES:
                return PermanentFailure(reason)
            return TemporaryFailure(reason)
        except (ClientError, TimeoutError, OSError) as exc:
            return TemporaryFailure(type(exc).__name__)
        return Sent(event_id)


async def post_reports(
    gateway: MatrixGateway, translator: Translator, reports: Iterable[Report]
) -> None:
    """One line per officers' room; a report that cannot be posted is logged, never raised
    (the deliveries themselves are done and recorded)."""
    for report in reports:
        body = render_reply(translator, report.locale, report.reply)
        try:
            await gateway.send_text(report.room_id, body)
        except Exception as exc:  # Matrix refusals and connection failures alike
            log.warning("could not post a delivery report in %s: %s", report.room_id,
                        type(exc).__name__)
