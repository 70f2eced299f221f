"""Residents' questions at the Matrix edge: compound-room events go to the QuestionService, its
effects (flags, flag edits, digests) are carried out here, and ``!questions``, ``!stats``,
``!answered`` and the officers' corrections ``!notquestion`` and ``!flag`` are declared here.

``asker_flat`` comes from a ``flat_label(compound, user_id)`` callable given to the constructor
(the verification feature provides it; until it is wired every flag says "flat unknown").
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from nio import RoomMessageText

from linli.bot.commands.router import Arg, ArgKind, Command, CommandContext, Where
from linli.bot.matrix.gateway import MatrixActionError, MatrixGateway, is_transient
from linli.bot.runtime.outbox import Outbox, room_target, subject_target
from linli.bot.web.metrics import Sample
from linli.common.events import ChatEvent, MessageEdited, MessagePosted, ReactionAdded, Redacted
from linli.common.ids import EventID, RoomID, StationId, UserID
from linli.common.ports import CompoundScope
from linli.community.model import STAFF_ROLES, Compound, Directory, Role
from linli.questions.detect import strip_reply_fallback
from linli.questions.model import (
    CommandResult,
    EditMessage,
    Effect,
    FlagLevel,
    MessageIn,
    PostDigest,
    PostFlag,
)
from linli.questions.service import QuestionService
from linli.storage.repos.questions import QuestionRepository

log = logging.getLogger(__name__)

FlatLabel = Callable[[Compound, UserID], str | None | Awaitable[str | None]]
"""The asker's flat ("3栋2单元501"), never a name; None when the person is not verified."""

STAFF_AND_ADMINS = STAFF_ROLES | {Role.ADMIN}
SENDER_CACHE_SIZE = 20_000  # event id -> sender of recent compound-room messages


FLAT_CACHE_SECONDS = 600.0
FLAT_CACHE_SIZE = 50_000
MODEL_CHECK_SECONDS = 60.0  # how often a tick looks for a model retrained meanwhile


def no_flat_label(compound: Compound, user_id: UserID) -> str | None:
    """The default until the verification feature supplies the real look-up."""
    return None


class QuestionsFeature:
    name = "questions"
    durable_tick = True  # the runtime runs tick() in a unit of work
    divided_tick = True  # tick() takes the compounds this process owns (bot/cluster.py)

    def __init__(
        self,
        service: QuestionService,
        repository: QuestionRepository,
        gateway: MatrixGateway,
        directory: Callable[[], Directory],
        flat_label: FlatLabel = no_flat_label,
        sender_cache_size: int = SENDER_CACHE_SIZE,
        outbox: Outbox | None = None,
    ) -> None:
        self.service = service
        self.repository = repository
        self.gateway = gateway
        self.directory = directory
        # Seam: the lead wires verification's look-up here (see build_app).
        self.flat_label = flat_label
        self._senders: OrderedDict[str, UserID] = OrderedDict()
        self._sender_cache_size = sender_cache_size
        # Flat labels found recently, so a chatty resident costs one look-up per few minutes,
        # not one per message. Only found labels are kept: a member verified a moment ago is
        # looked up again at once.
        self._flats: OrderedDict[tuple[int, str], tuple[str, float]] = OrderedDict()
        self._model_checked = 0.0
        # Flags, their edits and digests decided in a unit of work are recorded there and
        # posted once it commits (bot/runtime/outbox.py): a tick with fifty flags due no
        # longer holds SQLite's write lock while it posts them.
        self.outbox = outbox
        if outbox is not None:
            outbox.register("questions", self._carry_out_recorded)

    # ---- Feature protocol --------------------------------------------------------------------
    def commands(self) -> Iterable[Command]:
        return [
            Command("questions", self.cmd_questions, "help.questions", roles=STAFF_AND_ADMINS,
                    where=Where.OFFICERS),
            Command("stats", self.cmd_stats, "help.stats", roles=STAFF_AND_ADMINS,
                    args=(Arg("week", ArgKind.WORD, optional=True),), where=Where.OFFICERS),
            Command("answered", self.cmd_answered, "help.answered", roles=STAFF_AND_ADMINS,
                    where=Where.STAFF_ROOMS),
            Command("notquestion", self.cmd_notquestion, "help.notquestion",
                    roles=STAFF_AND_ADMINS, where=Where.STAFF_ROOMS),
            Command("flag", self.cmd_flag, "help.flag", roles=STAFF_AND_ADMINS,
                    args=(Arg("urgent", ArgKind.WORD, optional=True),), where=Where.COMPOUND),
        ]

    async def start(self) -> None:
        await self._refresh_model()

    async def _refresh_model(self) -> None:
        self._model_checked = time.monotonic()
        try:
            await self.service.refresh_model()
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("could not load the retrained question model")

    async def on_event(self, event: ChatEvent, env: Any) -> None:
        compound: Compound | None = env.compound
        if compound is None:
            # Officers' rooms: a staff ❌ on a flag marks a false alarm.
            if env.station is not None and isinstance(event, ReactionAdded):
                await self.carry_out(await self.service.on_reaction(
                    event.room_id, event.target, event.sender, event.key, event.at
                ))
            return  # only compound rooms hold questions
        effects: Sequence[Effect] = ()
        if isinstance(event, MessagePosted):
            self._remember_sender(event.event_id, event.sender)
            # The asker's flat is looked up only for a message recorded as a question.
            effects = await self.service.on_message(
                await self._message_in(event, compound),
                flat_of=lambda: self._flat_of_resident(compound, event.sender),
            )
        elif isinstance(event, MessageEdited):
            effects = await self.service.on_edit(
                event.room_id, event.original, event.sender, event.body, event.at,
                flat_of=lambda: self._flat_of_resident(compound, event.sender),
            )
        elif isinstance(event, Redacted):
            effects = await self.service.on_redaction(event.room_id, event.target)
        elif isinstance(event, ReactionAdded):
            effects = await self.service.on_reaction(
                event.room_id, event.target, event.sender, event.key, event.at
            )
        await self.carry_out(effects)

    async def tick(self, now: datetime, scope: CompoundScope = None) -> None:
        """Flags, escalations, expiry and digests of the compounds in ``scope`` (the ones this
        process owns; None: all); and, in every process, a model retrained meanwhile."""
        if time.monotonic() - self._model_checked >= MODEL_CHECK_SECONDS:
            await self._refresh_model()
        await self.carry_out(await self.service.tick(scope))

    async def metrics(self) -> list[Sample]:
        open_, flagged, escalated = await self.repository.open_counts()
        help_flagged = "Open questions whose flag or escalation has been posted"
        return [
            Sample("linli_questions_open", open_, "Residents' questions not yet answered"),
            Sample("linli_questions_flagged", flagged, help_flagged, labels={"level": "flag"}),
            Sample("linli_questions_flagged", escalated, help_flagged,
                   labels={"level": "escalation"}),
        ]

    # ---- commands ----------------------------------------------------------------------------
    async def cmd_questions(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        await self._answer(ctx, await self.service.command_questions(ctx.room_id, ctx.sender))

    async def cmd_stats(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        result = await self.service.command_stats(ctx.room_id, ctx.sender, args.get("week"))
        await self._answer(ctx, result)

    async def cmd_answered(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        result = await self.service.command_answered(ctx.room_id, ctx.sender, ctx.event.reply_to)
        await self._answer(ctx, result)

    async def cmd_notquestion(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        result = await self.service.command_notquestion(
            ctx.room_id, ctx.sender, ctx.event.reply_to, ctx.event.event_id
        )
        await self._answer(ctx, result)

    async def cmd_flag(self, ctx: CommandContext, args: dict[str, Any]) -> None:
        word = (args.get("urgent") or "").strip().casefold()
        if word not in ("", "urgent", "紧急"):
            await ctx.reply("help.flag")
            return
        target = None
        if ctx.event.reply_to is not None and ctx.compound is not None:
            target = await self._fetch_message(ctx.compound, ctx.room_id, ctx.event.reply_to)
        elif ctx.event.reply_to is None:
            await ctx.reply("error.flag_reply_needed")
            return
        result = await self.service.command_flag(
            ctx.room_id, ctx.sender, target, urgent=bool(word), event_id=ctx.event.event_id
        )
        await self._answer(ctx, result)

    async def _answer(self, ctx: CommandContext, result: CommandResult) -> None:
        await self.carry_out(result.effects)
        await ctx.reply_text(result.text)

    # ---- effects -----------------------------------------------------------------------------
    async def carry_out(self, effects: Iterable[Effect]) -> None:
        """Carry out the service's effects; inside a unit of work, record them to be carried
        out once it commits (in order per room)."""
        if self.outbox is None:
            await self._carry_out_now(effects)
            return
        for effect in effects:
            await self.outbox.submit("questions", _target(effect), _payload(effect))

    async def _carry_out_recorded(self, payload: dict[str, Any]) -> None:
        await self._carry_out_now([_effect(payload)])

    async def _carry_out_now(self, effects: Iterable[Effect]) -> None:
        """Post flags (with the service's txn id, so a retry is deduplicated by the homeserver),
        edit flags and post digests. A refusal is logged and the rest go on; a passing failure
        propagates and the caller's unit of work (event or tick) is rolled back and done
        again. A flag claimed by a process that died stays pending and is offered again after
        ``pending_retry``."""
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            try:
                if isinstance(effect, PostFlag):
                    event_id = await self.gateway.send_text(
                        effect.room_id, effect.body, txn_id=effect.txn_id
                    )
                    log.info("question %s: %s posted in %s", effect.question_id,
                             effect.level.value, effect.room_id)
                    queue += await self.service.flag_posted(
                        effect.question_id, effect.level, event_id
                    )
                elif isinstance(effect, EditMessage):
                    await self.gateway.edit_text(effect.room_id, effect.event_id, effect.body)
                    log.info("question flag %s edited in %s", effect.event_id, effect.room_id)
                elif isinstance(effect, PostDigest):
                    await self.gateway.send_text(effect.room_id, effect.body,
                                                 txn_id=effect.txn_id)
                    log.info("question digest %s posted for station %s", effect.week,
                             effect.station_id)
            except Exception as exc:
                if is_transient(exc):
                    raise  # the unit of work is rolled back and done again
                if isinstance(exc, MatrixActionError):
                    log.warning("could not carry out %s in %s: %s", type(effect).__name__,
                                effect.room_id, exc.errcode or exc.status or "error")
                    continue
                log.exception("could not carry out %s in %s", type(effect).__name__,
                              effect.room_id)

    # ---- building the service's input ----------------------------------------------------------
    async def _message_in(self, event: MessagePosted, compound: Compound) -> MessageIn:
        directory = self.directory()
        staff = directory.is_staff_in_compound(event.sender, compound)
        mentions = tuple(sorted(event.mentions))
        reply_to_sender = None
        if event.reply_to is not None:
            reply_to_sender = self._senders.get(event.reply_to)
            # The replied-to sender matters only to tell a reply's automatic mention from a
            # staff member mentioning someone; fetch it only then, and only on a cache miss.
            if (reply_to_sender is None and staff
                    and any(u != event.sender for u in mentions)):
                reply_to_sender = await self._fetch_sender(event.room_id, event.reply_to)
        return MessageIn(
            room_id=event.room_id, event_id=event.event_id, sender=event.sender,
            text=event.body, sent_at=event.at, reply_to=event.reply_to,
            thread_root=event.thread_root, mentions=mentions,
            reply_to_sender=reply_to_sender,
        )

    async def _flat_of_resident(self, compound: Compound, user_id: UserID) -> str | None:
        if self.directory().is_staff_in_compound(user_id, compound):
            return None
        return await self._flat(compound, user_id)

    async def _flat(self, compound: Compound, user_id: UserID) -> str | None:
        key = (compound.id, user_id)
        cached = self._flats.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        try:
            label = self.flat_label(compound, user_id)
            if inspect.isawaitable(label):
                label = await label
        except Exception:  # a failing look-up must not lose the question
            log.exception("flat look-up failed in compound %s", compound.id)
            return None
        if not (isinstance(label, str) and label):
            return None
        self._flats[key] = (label, time.monotonic() + FLAT_CACHE_SECONDS)
        self._flats.move_to_end(key)
        while len(self._flats) > FLAT_CACHE_SIZE:
            self._flats.popitem(last=False)
        return label

    def _remember_sender(self, event_id: EventID, sender: UserID) -> None:
        self._senders[event_id] = sender
        self._senders.move_to_end(event_id)
        while len(self._senders) > self._sender_cache_size:
            self._senders.popitem(last=False)

    async def _fetch_message(
        self, compound: Compound, room_id: RoomID, event_id: EventID
    ) -> MessageIn | None:
        """The replied-to text message, as the service's input; None if it is not one. A
        passing failure propagates (the command is handled again)."""
        try:
            event = await self.gateway.room_event(room_id, event_id)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("could not fetch %s in %s: %s", event_id, room_id, type(exc).__name__)
            return None
        if not isinstance(event, RoomMessageText):
            log.info("could not fetch %s in %s as a text message", event_id, room_id)
            return None
        ev = event
        sender = UserID(ev.sender)
        self._remember_sender(event_id, sender)
        return MessageIn(
            room_id=room_id, event_id=event_id, sender=sender,
            text=strip_reply_fallback(ev.body or ""),
            sent_at=datetime.fromtimestamp(ev.server_timestamp / 1000, tz=UTC),
            asker_flat=await self._flat_of_resident(compound, sender),
        )

    async def _fetch_sender(self, room_id: RoomID, event_id: EventID) -> UserID | None:
        try:
            event = await self.gateway.room_event(room_id, event_id)
        except Exception as exc:  # network trouble: answer without it
            log.warning("could not fetch %s in %s: %s", event_id, room_id, type(exc).__name__)
            return None
        if event is None:
            log.info("could not fetch %s in %s", event_id, room_id)
            return None
        sender = UserID(event.sender)
        self._remember_sender(event_id, sender)
        return sender


def _target(effect: Effect) -> str:
    """Whose order an effect keeps: a flag or its edit, that of its own question's flags
    (flags of different questions in one officers' room go out side by side: thirty
    questions falling due at once are not posted one behind the other); a digest, its room."""
    if isinstance(effect, PostFlag):
        return subject_target(effect.room_id, f"q{effect.question_id}")
    if isinstance(effect, EditMessage):
        return subject_target(effect.room_id, effect.event_id)
    return room_target(effect.room_id)


def _payload(effect: Effect) -> dict[str, Any]:
    """An effect as the outbox records it (JSON; encrypted at rest: a flag quotes the
    question and names the flat)."""
    if isinstance(effect, PostFlag):
        return {"do": "flag", "question": effect.question_id, "level": effect.level.value,
                "room": effect.room_id, "body": effect.body, "txn": effect.txn_id}
    if isinstance(effect, EditMessage):
        return {"do": "edit", "room": effect.room_id, "event": effect.event_id,
                "body": effect.body}
    return {"do": "digest", "station": int(effect.station_id), "week": effect.week,
            "room": effect.room_id, "body": effect.body, "txn": effect.txn_id}


def _effect(p: dict[str, Any]) -> Effect:
    room = RoomID(p["room"])
    if p["do"] == "flag":
        return PostFlag(int(p["question"]), FlagLevel(p["level"]), room, p["body"], p["txn"])
    if p["do"] == "edit":
        return EditMessage(room, EventID(p["event"]), p["body"])
    return PostDigest(StationId(p["station"]), p["week"], room, p["body"], p["txn"])
