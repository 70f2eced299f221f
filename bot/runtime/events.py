"""The event path: a sync batch in the order things happened, rooms handled concurrently
(``lanes``), and each event handled in one unit of work (decisions, effects and the done-mark
together), with retries of passing failures and a bound on attempts. ``process`` handles one
batch and returns once it is done; the sync loop ``submit``s each batch to a pipeline instead
and syncs again at once (see ``lanes.Pipeline``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from nio import (
    MessageDirection,
    RoomMessagesResponse,
    SyncResponse,
)

from linli.bot.cluster import Ownership
from linli.bot.commands.router import CommandContext, Router
from linli.bot.config import Config
from linli.bot.errors import new_ref
from linli.bot.matrix.gateway import MatrixGateway, effect_cause, is_transient
from linli.bot.matrix.translate import translate
from linli.bot.runtime.direct import DirectMessenger
from linli.bot.runtime.env import DirectoryHolder, EventEnv, Feature
from linli.bot.runtime.failures import describe as _describe
from linli.bot.runtime.lanes import Batch, Pipeline, causal_order, plan, run
from linli.bot.runtime.outbox import Outbox
from linli.bot.runtime.sync import SYNC_TOKEN, SyncStats
from linli.common.events import ChatEvent, MembershipChanged, MessagePosted, Redacted
from linli.common.i18n import Translator
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository

log = logging.getLogger(__name__)


MAX_EVENT_ATTEMPTS = 12
"""Times one event is tried before it is logged as failed and left: passing failures are
waited out with back-off, so this is only reached by an event that fails every time."""

class EventPath:
    """From a sync batch to the features: ordering, placing, dispatching, marking done."""

    # Set up by ``Bot.__init__``; shared by the parts of the runtime.
    config: Config
    db: Database
    directory: DirectoryHolder
    dms: DirectMessenger
    features: list[Feature]
    gateway: MatrixGateway
    outbox: Outbox | None
    router: Router
    state: BotStateRepository
    ownership: Ownership
    stats: SyncStats
    stop_event: asyncio.Event
    translator: Translator
    _attempts: dict[str, int]
    _unplaced: set[str]

    if TYPE_CHECKING:  # provided by the other parts of ``Bot``
        async def _refresh_directory(self, force: bool = False) -> bool: ...
        async def _handle_invites(self, response: SyncResponse) -> None: ...
        def _handle_leaves(self, response: SyncResponse) -> None: ...
        def _note_joined(self, response: SyncResponse) -> None: ...
        async def _note_direct_room(self, room_id: str, events: Sequence[Any]) -> None: ...
        async def _read_direct_marker(self, room_id: str) -> None: ...

    async def process(self, response: SyncResponse, since: str | None) -> None:
        """Handle one sync response: invitations, leaves, the directory, then the batch's
        events, rooms concurrently (see ``lanes``), and only when every event is done the
        sync token. A failure is raised (after the events in flight finish) and the batch is
        fetched again from the stored token; done events are skipped then. (The sync loop does
        not wait like this: it hands each batch to a ``Pipeline`` with ``submit``.)"""
        todo = await self.prepare(response, since)
        lanes = plan(todo, self.gateway.user_id, self.config.bot.command_prefix)
        if not await run(lanes, self.handle, self.config.bot.concurrent_rooms,
                         self.stop_event.is_set):
            return  # asked to stop: the rest is handled after the restart, from this token
        await self.state.set(self.ownership.sync_token_key(SYNC_TOKEN), response.next_batch)
        self.ownership.settled(since)

    def pipeline(self, then: Callable[[Batch], Awaitable[None]] | None = None) -> Pipeline:
        """A pipeline for the sync loop: batches handled one behind the other without waiting
        for each other; each batch's token is stored once it and every earlier batch are done
        (then ``then`` is called with the batch)."""

        async def commit(batch: Batch) -> None:
            await self.state.set(self.ownership.sync_token_key(SYNC_TOKEN), batch.token)
            self.ownership.settled(batch.since)
            if then is not None:
                await then(batch)

        return Pipeline(self.handle, commit, self.config.bot.concurrent_rooms,
                        self.stop_event.is_set, self.gateway.user_id,
                        self.config.bot.command_prefix)

    async def submit(self, pipeline: Pipeline, response: SyncResponse,
                     since: str | None) -> Batch:
        """Prepare a sync response as ``process`` does and queue its events in ``pipeline``
        behind those of the batches before it; returns without waiting for them."""
        todo = await self.prepare(response, since, queued=pipeline.queued_ids)
        return pipeline.submit(todo, response.next_batch, since)

    async def prepare(self, response: SyncResponse, since: str | None,
                      queued: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, Any]]:
        """Invitations, leaves, the directory, gaps filled from ``since`` and rooms taken over;
        the batch's events in causal order, without those already done or ``queued``."""
        await self._refresh_directory()
        await self._handle_invites(response)
        self._handle_leaves(response)
        self._note_joined(response)
        rooms: list[tuple[str, list[Any]]] = []
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and since:
                events = await self._fill_gap(room_id, info.timeline.prev_batch, since) + events
            rooms.append((room_id, events))
            await self._note_direct_room(room_id, list(info.state) + events)
        rooms += await self.ownership.catch_up(since)  # rooms taken over from another process
        batch = causal_order(rooms)
        done = await self.state.done_events(
            i for i in (getattr(e, "event_id", None) for _, e in batch) if i
        )
        todo: list[tuple[str, Any]] = []
        for room_id, event in batch:
            event_id = getattr(event, "event_id", None)
            if not event_id or event_id in done or event_id in queued:
                continue
            done.add(event_id)  # a gap fill may repeat an event
            todo.append((room_id, event))
        return todo

    async def handle(self, room_id: str, nio_event: Any) -> None:
        """Handle one event in one unit of work: what the features decide, the effects they
        carry out (with transaction ids derived from the event) and the mark that the event
        is done commit together. A passing failure rolls it all back and propagates, so the
        batch is tried again; an event that fails ``MAX_EVENT_ATTEMPTS`` times is left."""
        event_id = str(nio_event.event_id)
        try:
            event = translate(room_id, nio_event)
            if event is None or self._from_bot(event):
                # Nothing to decide (an ignored type, the bot's own message coming back):
                # no unit of work and no mark; a replay reaches the same answer.
                return
            async with self.ownership.handling(room_id) as owned:
                if not owned:
                    return  # another process's room: not marked done, its owner handles it
                async with self.db.unit_of_work():
                    with effect_cause(event_id):
                        await self.dispatch(event)
                    await self.state.mark_done(event_id)
        except Exception as exc:
            attempts = self._attempts.get(event_id, 0) + 1
            if attempts < MAX_EVENT_ATTEMPTS and is_transient(exc):
                self._attempts[event_id] = attempts
                raise
            self._attempts.pop(event_id, None)
            self.stats.events_given_up += 1
            log.error("gave up on event %s in %s after %d attempts (ref: %s): %s", event_id,
                      room_id, attempts, new_ref(), _describe(exc),
                      exc_info=not is_transient(exc))
            await self.state.mark_done(event_id)
            return
        self._attempts.pop(event_id, None)

    async def _fill_gap(self, room_id: str, prev_batch: str | None, since: str) -> list[Any]:
        """Fetch the events a limited timeline left out, oldest first."""
        if not prev_batch:
            return []
        gathered: list[Any] = []
        start: str | None = prev_batch
        for _ in range(50):  # at most 5,000 events per room per gap
            resp = await self.gateway.client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=100,
            )
            if not isinstance(resp, RoomMessagesResponse) or not resp.chunk:
                break
            gathered.extend(resp.chunk)
            if not resp.end or resp.end == start:
                break
            start = resp.end
        gathered.reverse()
        if gathered:
            log.info("filled a gap of %d events in %s", len(gathered), room_id)
        return gathered

    def env_for(self, room_id: str) -> EventEnv:
        directory = self.directory.current
        compound = directory.compound_by_room(room_id)
        if compound:
            return EventEnv(directory, compound=compound, station=directory.station_of(compound))
        station = directory.station_by_officers_room(room_id)
        if station:
            return EventEnv(directory, station=station)
        return EventEnv(directory, dm_user=self.dms.user_of_room(room_id))

    async def dispatch_nio(self, room_id: str, nio_event: Any) -> None:
        event = translate(room_id, nio_event)
        if event is None:
            return
        await self.dispatch(event)

    def _from_bot(self, event: ChatEvent) -> bool:
        """The bot's own messages, edits and reactions are not handled again; its redactions
        and its kicks or bans of others are, so features see a question removed by ``!redact``
        or a member removed by ``!kick`` like any other."""
        if event.sender != self.gateway.user_id:
            return False
        if isinstance(event, Redacted):
            return False
        return not (isinstance(event, MembershipChanged) and event.user_id != self.gateway.user_id)

    async def _placed_env(self, room_id: str) -> EventEnv | None:
        """Where an event belongs; a room the directory cannot place makes the bot re-read
        the directory (and the room's direct-room marker) once before it gives up, and a room
        that still has no home is logged once."""
        env = self.env_for(room_id)
        if env.compound or env.station or env.dm_user:
            return env
        if room_id in self._unplaced:
            return None
        await self._refresh_directory(force=True)
        env = self.env_for(room_id)
        if env.compound or env.station or env.dm_user:
            return env
        await self._read_direct_marker(room_id)
        env = self.env_for(room_id)
        if env.dm_user:
            return env
        self._unplaced.add(room_id)
        log.info("events of room %s are not handled: it is no compound's, officers' or "
                 "direct room (logged once per room until the directory changes)", room_id)
        return None

    async def dispatch(self, event: ChatEvent) -> None:
        if self._from_bot(event):
            return
        env = await self._placed_env(event.room_id)
        if env is None:
            return
        started = time.monotonic()
        self.stats.events_handled += 1
        is_command = isinstance(event, MessagePosted) and self.router.is_command(
            event.body.strip()
        )
        if isinstance(event, MessagePosted) and is_command:
            try:
                await self.router.dispatch(self._command_context(event, env))
            except Exception as exc:  # a reply that could not be sent; the batch goes on
                if is_transient(exc):
                    raise
                ref = new_ref()
                log.exception("command %s failed outside its handler (ref: %s)",
                              event.event_id, ref)
        for feature in self.features:
            # Commands go to the router; only features that must count every message (flood
            # control) see them too.
            if is_command and not getattr(feature, "sees_commands", False):
                continue
            try:
                await feature.on_event(event, env)
            except Exception as exc:
                if is_transient(exc):
                    raise  # the whole event is rolled back and tried again
                ref = new_ref()
                log.exception("%s failed on %s (ref: %s)", feature.name, event.event_id, ref)
        self._time("event", started)
        log.debug("handled %s %s in %.1f ms", type(event).__name__, event.event_id,
                  (time.monotonic() - started) * 1000)

    def _time(self, name: str, started: float) -> None:
        self.stats.handler_seconds[name] = self.stats.handler_seconds.get(name, 0.0) + (
            time.monotonic() - started
        )

    def _command_context(self, event: MessagePosted, env: EventEnv) -> CommandContext:
        directory = env.directory
        if env.compound:
            roles = directory.roles_in_compound(event.sender, env.compound)
            locale = env.compound.locale
        elif env.station:
            roles = directory.roles_in_station(event.sender, env.station)
            locale = env.station.locale
        else:
            roles = directory.roles_in_room(event.sender, event.room_id)
            locale = self.config.bot.default_locale

        async def reply(body: str, html: str | None) -> None:
            if self.outbox is not None:
                # Sent once the unit commits, after the effects the command recorded before
                # it: "已禁言" reaches the officer once the member was told.
                await self.outbox.send_text(event.room_id, body, html, reply_to=event.event_id)
            else:
                await self.gateway.send_text(event.room_id, body, html, reply_to=event.event_id)

        return CommandContext(
            event=event, sender=event.sender, room_id=event.room_id, roles=roles, locale=locale,
            compound=env.compound, station=env.station, translator=self.translator,
            reply_fn=reply,
        )
