"""A sync batch in order, handled concurrently: rooms side by side, each room's events in
order, and what a person did in one room before what they did next in another.

``causal_order`` puts the batch in the order things happened across rooms (server
timestamps; each room's own order kept). ``plan`` gives each room a *lane*: one task handles
the room's events one after the other (a direct chat is a room too, so the bot's talk with one
person stays in order). Across lanes an event waits for the events before it in the batch
that concern the same people: its sender, the member a membership event is about, and the
users a command names. So a resident's join in the compound room is handled (its unit of work
committed) before the code they then send in the direct room, whichever room the sync lists
first, and an officer's ``!verify @resident`` before what the resident does next elsewhere.
The bot's own messages concern nobody, so a fan-out coming back does not chain 2,000 rooms.

``run`` handles the lanes with at most ``bound`` events at a time. No deadlock: an event only
ever waits for events earlier in the batch (the earliest unfinished one waits for nothing),
and it takes one of the ``bound`` places only once everything it waits for is finished, so a
place is never held while waiting.

A failure pauses the batch, as it did when events were handled one by one: no lane starts
another event, events already running finish (each commits or rolls back its own unit of
work; finished ones are done and stay done), and the first failure is raised once every lane
has stopped. The sync loop then backs off and fetches the batch again from the stored token;
done events are skipped, the failed one and those not started are handled then. An event
whose predecessor did not finish (in its room, or about the same people) is not started. On
shutdown lanes start nothing more and ``run`` waits for the events in flight.

``run`` handles one batch and returns when it is done (``EventPath.process``). The sync loop
uses a ``Pipeline`` instead: batches one behind the other, the lanes and the order per person
running on across batches, each batch's token committed once it and every batch before it are
done, so the slowest event of a batch holds back only its room and the people it concerns, not
every room of the batches fetched after it.
"""

from __future__ import annotations

import asyncio
import heapq
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

_USER_ID = re.compile(r"@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d+)?")


def causal_order(rooms: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[str, Any]]:
    """The events of a sync batch in the order they happened across rooms (by server
    timestamp), each room's own events in their order. A resident's join in the compound room
    comes before their code in the direct room even when the sync response lists the direct
    room first: that matters when a batch is handled again after a kill."""
    heap = [(_timestamp(events[0]), i, 0) for i, (_, events) in enumerate(rooms) if events]
    heapq.heapify(heap)
    ordered: list[tuple[str, Any]] = []
    while heap:
        _, i, j = heapq.heappop(heap)
        room_id, events = rooms[i]
        ordered.append((room_id, events[j]))
        if j + 1 < len(events):
            heapq.heappush(heap, (_timestamp(events[j + 1]), i, j + 1))
    return ordered


def _timestamp(event: Any) -> int:
    ts = getattr(event, "server_timestamp", None)
    if not isinstance(ts, int):
        ts = (getattr(event, "source", None) or {}).get("origin_server_ts")
    return ts if isinstance(ts, int) else 0


def people(event: Any, bot_user: str, prefix: str) -> set[str]:
    """Whom an event concerns, for the order across rooms: its sender, the member a
    membership event is about, and the users a command names; never the bot itself. Read
    from the event's source only, so an event that cannot be translated still gets a place."""
    source = getattr(event, "source", None)
    if not isinstance(source, dict):
        return set()
    found: set[str] = set()
    sender = source.get("sender")
    if isinstance(sender, str):
        found.add(sender)
    kind = source.get("type")
    state_key = source.get("state_key")
    if kind == "m.room.member" and isinstance(state_key, str) and state_key.startswith("@"):
        found.add(state_key)
    elif kind == "m.room.message" and sender != bot_user:
        content = source.get("content")
        body = content.get("body") if isinstance(content, dict) else None
        if isinstance(body, str) and body.lstrip().startswith(prefix):
            found.update(_USER_ID.findall(body))
    found.discard(bot_user)
    return found


@dataclass(eq=False)
class Step:
    """One event of the batch in its room's lane, with the events of other rooms it waits
    for. ``finished`` is set once it is handled or will not be (``handled`` says which)."""

    room_id: str
    event: Any
    after: list[Step] = field(default_factory=list)
    handled: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    people: tuple[str, ...] = ()  # kept by the pipeline, to forget the step once finished
    batch: Batch | None = None  # the pipeline's batch the step belongs to


def plan(batch: Sequence[tuple[str, Any]], bot_user: str, prefix: str) -> dict[str, list[Step]]:
    """The lanes of a batch given in causal order: each room's events in order, each event
    waiting for the last earlier event of another room that concerns one of its people."""
    lanes: dict[str, list[Step]] = {}
    last: dict[str, Step] = {}
    for room_id, event in batch:
        step = Step(room_id, event)
        for person in sorted(people(event, bot_user, prefix)):
            before = last.get(person)
            if before is not None and before.room_id != room_id and before not in step.after:
                step.after.append(before)
            last[person] = step
        lanes.setdefault(room_id, []).append(step)
    return lanes


Handle = Callable[[str, Any], Awaitable[None]]


async def run(lanes: dict[str, list[Step]], handle: Handle, bound: int,
              stopping: Callable[[], bool]) -> bool:
    """Handle the lanes concurrently (see the module's docstring). Returns whether every
    event was handled (False: asked to stop first); raises the first failure."""
    places = asyncio.Semaphore(max(1, bound))
    failures: list[Exception] = []

    def paused() -> bool:
        return bool(failures) or stopping()

    async def lane(steps: list[Step]) -> None:
        try:
            for step in steps:
                if paused():
                    return
                for before in step.after:
                    await before.finished.wait()
                if not all(before.handled for before in step.after):
                    return
                async with places:
                    if paused():
                        return
                    try:
                        await handle(step.room_id, step.event)
                    except Exception as exc:  # rolled back: the batch is tried again
                        failures.append(exc)
                        return
                step.handled = True
                step.finished.set()
        finally:
            for step in steps:  # those not handled release their dependents, who stop too
                step.finished.set()

    if len(lanes) == 1:  # the common case of a quiet minute: no task to start
        await lane(next(iter(lanes.values())))
    elif lanes:
        async with asyncio.TaskGroup() as group:
            for room_id, steps in lanes.items():
                group.create_task(lane(steps), name=f"linli-room {room_id}")
    if failures:
        raise failures[0]
    return all(step.handled for steps in lanes.values() for step in steps)


MAX_QUEUED_EVENTS = 2000
"""Events the pipeline holds (queued or in flight) above which the sync loop fetches no more:
what a storm brings waits on the homeserver, not in memory."""

MAX_QUEUED_BATCHES = 32
"""Sync batches the pipeline holds (not yet stored as done) above which the loop fetches no
more: a slow event holding its batch's token back does not let the batches behind it pile up
without end."""


@dataclass(eq=False)
class Batch:
    """One sync batch in the pipeline: the token it was fetched with (``since``) and its own
    (``token``), stored once this batch's events and every earlier batch's are handled."""

    token: str
    since: str | None
    left: int
    resume: bool = False  # the first batch after an outage: periodic work resumes with it


Commit = Callable[[Batch], Awaitable[None]]


class Pipeline:
    """Sync batches handled one behind the other without waiting for each other: the sync loop
    ``submit``s a batch (in causal order) and fetches the next while the events of earlier
    batches are still handled. Each room has one lane across batches (a task that exists while
    the room has events queued): a new batch's events join their room's lane behind those
    already there, and an event waits for the last unfinished earlier event, of any batch, of
    another room that concerns the same people. At most ``bound`` events are handled at a time.

    Batches are *committed* in order: ``commit`` (which stores the sync token) is called for a
    batch once its events and those of every earlier batch are handled, so a kill at any
    moment restarts from a token whose events are all done or skipped by their done-marks.

    A failure pauses the pipeline: no event starts any more, events in flight finish, the
    complete batches before the failed one are committed; ``drain`` then raises the failure and
    the loop starts afresh from the stored token. On shutdown (``stopping``) nothing more
    starts and ``drain`` waits for the events in flight, committing the complete prefix."""

    def __init__(self, handle: Handle, commit: Commit, bound: int,
                 stopping: Callable[[], bool], bot_user: str, prefix: str) -> None:
        self._handle = handle
        self._commit = commit
        self._places = asyncio.Semaphore(max(1, bound))
        self._stopping = stopping
        self._bot_user = bot_user
        self._prefix = prefix
        self._lanes: dict[str, deque[Step]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._last: dict[str, Step] = {}  # person -> their last unfinished step
        self._batches: deque[Batch] = deque()
        self._committer: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()
        self.queued_ids: set[str] = set()  # event ids queued or in flight
        self.queued = 0  # events queued or in flight
        self.failures: list[Exception] = []
        self.failed = asyncio.Event()

    def paused(self) -> bool:
        return bool(self.failures) or self._stopping()

    def full(self) -> bool:
        return (self.queued > MAX_QUEUED_EVENTS
                or len(self._batches) > MAX_QUEUED_BATCHES)

    async def room_for_more(self) -> None:
        """Wait until the pipeline holds few enough events and batches (or is paused)."""
        while self.full() and not self.paused():
            self._progress.clear()
            await self._progress.wait()

    def submit(self, batch: Sequence[tuple[str, Any]], token: str,
               since: str | None = None) -> Batch:
        """Queue a batch's events (in causal order); its token is committed in turn."""
        entry = Batch(token, since, len(batch))
        self._batches.append(entry)
        for room_id, event in batch:
            whom = tuple(sorted(people(event, self._bot_user, self._prefix)))
            step = Step(room_id, event, people=whom, batch=entry)
            for person in whom:
                before = self._last.get(person)
                if before is not None and before.room_id != room_id and before not in step.after:
                    step.after.append(before)
                self._last[person] = step
            event_id = getattr(event, "event_id", None)
            if isinstance(event_id, str):
                self.queued_ids.add(event_id)
            self.queued += 1
            self._lanes.setdefault(room_id, deque()).append(step)
            if room_id not in self._tasks:
                self._tasks[room_id] = asyncio.create_task(self._lane(room_id),
                                                           name=f"linli-room {room_id}")
        if not batch:
            self._kick()
        return entry

    def _finish(self, step: Step) -> None:
        if step.finished.is_set():
            return
        step.finished.set()
        self.queued -= 1
        event_id = getattr(step.event, "event_id", None)
        self.queued_ids.discard(event_id)
        for person in step.people:
            if self._last.get(person) is step:
                del self._last[person]
        if step.handled and step.batch is not None:
            step.batch.left -= 1
            if step.batch.left == 0:
                self._kick()
        self._progress.set()

    def fail(self, exc: Exception) -> None:
        """Pause the pipeline with ``exc`` (raised by ``drain``)."""
        self.failures.append(exc)
        self.failed.set()
        self._progress.set()

    async def _lane(self, room_id: str) -> None:
        steps = self._lanes[room_id]
        try:
            while steps:
                step = steps[0]
                if self.paused():
                    return
                for before in step.after:
                    await before.finished.wait()
                if not all(before.handled for before in step.after):
                    return  # only after a failure: the pipeline is paused
                async with self._places:
                    if self.paused():
                        return
                    try:
                        await self._handle(step.room_id, step.event)
                    except Exception as exc:  # rolled back: handled again after the re-sync
                        self.fail(exc)
                        return
                step.handled = True
                steps.popleft()
                self._finish(step)
        finally:
            # Those not handled release their dependents, who stop too (the pipeline is
            # paused); a lane that ran dry ends, and the next event of the room starts another.
            while steps:
                self._finish(steps.popleft())
            del self._lanes[room_id]
            del self._tasks[room_id]

    def _kick(self) -> None:
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_ready(), name="linli-commit")

    async def _commit_ready(self) -> None:
        while self._batches and self._batches[0].left == 0:
            batch = self._batches[0]
            try:
                await self._commit(batch)
            except Exception as exc:  # the token could not be stored: start again from it
                self.fail(exc)
                return
            self._batches.popleft()
            self._progress.set()

    async def drain(self) -> None:
        """Wait for every lane to stop (all handled, or paused and the events in flight
        finished) and the complete batches to be committed; raise the first failure."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        while self._committer is not None and not self._committer.done():
            await asyncio.gather(self._committer, return_exceptions=True)
        if self.failures:
            raise self.failures[0]

    def cancel(self) -> None:
        """The loop itself was cancelled (a shutdown past its grace): so are the lanes."""
        for task in [*self._tasks.values(), self._committer]:
            if task is not None:
                task.cancel()
