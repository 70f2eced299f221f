"""Safety bulletins in the rooms: the scheduler's tick and the officers' ``!bulletin`` and
``!notice`` commands.

The broadcasts core decides what to post where and keeps the exactly-once ledger; the sending
itself is ``transport.py``. This module runs the tick, answers the commands, posts the delivery
reports in the officers' rooms, and runs urgent notices in the background so a fan-out to 2,000
rooms never holds up the sync loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from datetime import datetime
from typing import Any

from linli.bot.commands.router import Arg, ArgKind, Command, CommandContext, Where
from linli.bot.errors import new_ref
from linli.bot.features.broadcasts.transport import ROOM_MENTION, bulletin_content, post_reports
from linli.bot.matrix.gateway import MatrixGateway, is_transient
from linli.bot.runtime import EventEnv
from linli.bot.web.metrics import Sample
from linli.broadcasts.delivery import DeliveryService
from linli.broadcasts.model import (
    Bulletin,
    CommandResult,
    DeliveryState,
    Occurrence,
    Report,
)
from linli.broadcasts.render import render_lines, render_reply
from linli.broadcasts.service import BulletinCommands
from linli.common.errors import DomainError
from linli.common.events import ChatEvent
from linli.common.i18n import Translator
from linli.community.model import Role
from linli.storage.repos.broadcasts import BroadcastRepository

log = logging.getLogger(__name__)

MANAGERS = frozenset({Role.OFFICER, Role.ADMIN})


def _number(text: str) -> int:
    value = text.strip().lstrip("#")
    if not value.isdigit():
        raise DomainError("broadcasts.error.bad_number", value=text.strip()[:20] or "—")
    return int(value)


def split_mention(text: str) -> tuple[bool, str]:
    """``@room TEXT`` asks for a room mention; the marker itself is not part of the text."""
    head, _, rest = text.strip().partition(" ")
    if head.lower() == ROOM_MENTION:
        return True, rest.strip()
    return False, text.strip()


class BroadcastsFeature:
    name = "broadcasts"

    def __init__(
        self,
        delivery: DeliveryService,
        service: BulletinCommands,
        repo: BroadcastRepository,
        gateway: MatrixGateway,
        translator: Translator,
        prefix: str = "!",
    ) -> None:
        self.delivery = delivery
        self.service = service
        self.repo = repo
        self.gateway = gateway
        self.translator = translator
        self.prefix = prefix
        self._background: set[asyncio.Task[None]] = set()

    # feature protocol ---------------------------------------------------------------------
    def commands(self) -> Iterable[Command]:
        return [
            Command("bulletin", self.bulletin, "broadcasts.help.bulletin", MANAGERS,
                    (Arg("action", ArgKind.WORD, optional=True),
                     Arg("details", ArgKind.TEXT, optional=True)), Where.OFFICERS),
            Command("notice", self.notice, "broadcasts.help.notice", MANAGERS,
                    (Arg("target"), Arg("text", ArgKind.TEXT)), Where.OFFICERS),
        ]

    async def start(self) -> None:
        """Finish fan-outs a previous process left open (killed mid-way), in the background:
        rows it had claimed are taken over once its claims expire, by a later tick."""
        self._spawn(self._resume(), "broadcasts-resume")

    async def on_event(self, event: ChatEvent, env: EventEnv) -> None:
        return None

    async def tick(self, now: datetime) -> None:
        """Fire what is due (the clock's now) and post the delivery reports."""
        try:
            reports = await self.delivery.tick()
        except Exception as exc:
            if is_transient(exc):  # the database busy or the homeserver away: next tick
                log.warning("bulletin tick paused by a passing failure (%s); trying again "
                            "next tick", type(exc).__name__)
            else:
                log.exception("bulletin tick failed (ref: %s); trying again next tick",
                              new_ref())
            return
        await self.post_reports(reports)

    async def stop(self) -> None:
        """Stop background fan-outs (their pending rows are resumed by the next process, with
        the same transaction ids) and hand the scheduler lease on at once."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self.delivery.release()
        except Exception:
            log.warning("could not release the bulletin lease; it expires by itself")

    async def metrics(self) -> list[Sample]:
        counts = await self.repo.delivery_counts()
        return [
            Sample("linli_bulletin_deliveries", counts[state],
                   "Bulletin and notice deliveries in the ledger, by state",
                   labels={"state": state.value})
            for state in DeliveryState
        ]

    # commands -----------------------------------------------------------------------------
    async def bulletin(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        assert ctx.station is not None  # Where.OFFICERS
        station = ctx.station.id
        action = (args["action"] or "").lower()
        details: str = args["details"] or ""
        actor = ctx.sender
        service = self.service
        result: CommandResult
        if action == "add" and details:
            result = await service.add(actor, details, station)
        elif action == "list" and not details:
            result = await service.list(actor, station)
        elif action == "show":
            result = await service.show(actor, _number(details), station)
        elif action == "pause":
            result = await service.pause(actor, _number(details), station)
        elif action == "resume":
            result = await service.resume(actor, _number(details), station)
        elif action == "delete":
            result = await service.delete(actor, _number(details), station)
        elif action == "preview":
            number, _, slug = details.strip().partition(" ")
            result = await service.preview(actor, _number(number), station, slug.strip() or None)
        elif action == "translate":
            number, _, spec = details.strip().partition(" ")
            result = await service.translate(actor, _number(number), spec, station)
        else:
            await ctx.reply("broadcasts.usage", prefix=self.prefix)
            return
        await self._answer(ctx, result)

    async def notice(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        """Check at once (errors are answered here), acknowledge, then fan out in the
        background; the delivery report follows in the officers' room."""
        mention, text = split_mention(args["text"])
        target = args["target"]
        _, _, rooms = self.service.check_notice(ctx.sender, target, text)
        # Recorded in the command's unit of work: the notice exists exactly when the command
        # is done. The fan-out starts once that has committed (a crash in between leaves an
        # open occurrence, which the next start resumes).
        bulletin, occurrence = await self.service.prepare_notice(
            ctx.sender, target, text, mention_room=mention
        )
        await ctx.reply("broadcasts.notice.sending", count=rooms)
        self.repo.db.after_commit(lambda: self._spawn(
            self._notice(ctx, bulletin, occurrence), "broadcasts-notice"
        ))

    async def _notice(self, ctx: CommandContext, bulletin: Bulletin,
                      occurrence: Occurrence) -> None:
        try:
            reports = await self.delivery.fan_out(bulletin, occurrence)
        except Exception as exc:
            if is_transient(exc):
                # The occurrence stays open: the tick resumes it with the same transaction
                # ids and posts its one report. The command was answered already ("sending");
                # a second answer here would tell the officer of a failure that heals itself.
                log.warning("urgent notice %s paused by a passing failure (%s); the tick "
                            "resumes it", bulletin.id, type(exc).__name__)
                return
            ref = new_ref()
            log.exception("urgent notice failed (ref: %s); the tick resumes it", ref)
            await ctx.reply("cmd.failed", ref=ref)
            return
        log.info("urgent notice %s by %s sent", bulletin.id, ctx.sender)
        result = CommandResult(lines=(), reports=tuple(reports))
        await self.post_reports(result.reports)
        if result.reports and ctx.room_id not in {r.room_id for r in result.reports}:
            # Sent from another station's officers' room (a district admin): answer there too.
            await ctx.reply_text(
                "\n".join(render_reply(self.translator, ctx.locale, r.reply)
                          for r in result.reports)
            )

    # helpers ----------------------------------------------------------------------------
    async def _answer(self, ctx: CommandContext, result: CommandResult) -> None:
        if result.lines:
            await ctx.reply_text(render_lines(self.translator, ctx.locale, result.lines))
        if result.preview is not None:
            await self.gateway.send(ctx.room_id, bulletin_content(result.preview))
        await self.post_reports(result.reports)

    async def post_reports(self, reports: Iterable[Report]) -> None:
        await post_reports(self.gateway, self.translator, reports)

    async def _resume(self) -> None:
        try:
            if not await self.delivery.hold_lease():
                return  # another process runs the scheduler, or a dead one's lease expires
            reports = await self.delivery.resume()
        except Exception:
            log.exception("resuming interrupted fan-outs failed (ref: %s)", new_ref())
            return
        await self.post_reports(reports)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def pending_tasks(self) -> int:
        return len(self._background)
