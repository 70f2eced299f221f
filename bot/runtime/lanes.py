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
"""

from __future__ import annotations

import asyncio
import heapq
import re
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
