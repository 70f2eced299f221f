"""Effects on the homeserver recorded with the decision that called for them, carried out once
that decision commits.

An event's unit of work records its effects (a direct message, a power-level change, a
welcome, a redaction) as rows of ``pending_effects`` together with its decisions and the mark
that the event is done. Once the unit commits, the task that opened it carries them out,
outside the transaction: on SQLite a unit no longer holds the database's one write lock while
the homeserver creates a direct room or changes power levels, so the other rooms' units do
not queue behind it. The handler still returns only when its effects are carried out (or
waiting for a retry), so the events that come after it in its room, and what the same person
does next, see them done.

Nothing is lost: a row goes only once its effect is done; one that met a passing failure (an
unreachable homeserver, a rate limit) is tried again with back-off by the periodic
``retry_due``, which also carries out, after a restart, what a crash interrupted. Nothing is
done twice: each row carries its own cause, from which the transaction ids of its sends and
redactions are derived, so a repeat after a crash returns the first event; direct rooms are
opened under an alias (found, not opened again), power levels are re-read before a change.
Effects on one target (a room, or a person's direct messages) are carried out in the order
they were recorded. A refusal (the person left, the room is gone) is logged and the row goes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from linli.bot.errors import new_ref
from linli.bot.matrix.gateway import (
    MatrixActionError,
    MatrixGateway,
    current_cause,
    effect_cause,
    is_transient,
)
from linli.bot.runtime.failures import describe
from linli.bot.web.metrics import Sample
from linli.common.clock import Clock
from linli.storage.db import Database
from linli.storage.repos.outbox import OutboxRepository, PendingEffect

log = logging.getLogger(__name__)

Executor = Callable[[dict[str, Any]], Awaitable[None]]

RETRY_FIRST = timedelta(seconds=2)
RETRY_MAX = timedelta(minutes=10)
RETRY_CONCURRENCY = 8
"""Targets whose effects the periodic retry carries out at the same time."""


def room_target(room_id: str) -> str:
    return f"room:{room_id}"


def person_target(user_id: str) -> str:
    return f"person:{user_id}"


def subject_target(room_id: str, subject: str) -> str:
    """Effects in ``room_id`` that keep their order only among themselves (one question's
    flag and its edits): other subjects in the room go side by side."""
    return f"room:{room_id} {subject}"


def _subject_room(target: str) -> str | None:
    kind, _, name = target.partition(":")
    room, sep, _ = name.partition(" ")
    return room if kind == "room" and sep else None


async def _everything(_target: str) -> bool:
    return True


class Outbox:
    """Records effects in the current unit of work and carries them out once it commits
    (see the module's docstring); outside a unit, carries them out at once."""

    def __init__(self, db: Database, repo: OutboxRepository, gateway: MatrixGateway,
                 clock: Clock) -> None:
        self.db = db
        self.repo = repo
        self.gateway = gateway
        self.clock = clock
        self._kinds: dict[str, Executor] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}  # target -> tasks holding or waiting for its lock
        # Whether this process carries out a target's effects (bot/cluster.py sets it).
        self.owns: Callable[[str], Awaitable[bool]] = _everything
        self.carried_out = 0
        self.postponed = 0
        self.refused = 0
        # Set by a passing failure: the retry first tries one target (a probe) whatever its
        # back-off, and once that succeeds, every target, so what waited for a homeserver
        # that is back goes out on the first tick after it, not after its back-off.
        self._stalled = False
        self.register("send", self._send)
        self.register("redact", self._redact)

    def register(self, kind: str, executor: Executor) -> None:
        """What carries out effects of ``kind`` (from the payload ``submit`` was given)."""
        self._kinds[kind] = executor

    async def submit(self, kind: str, target: str, payload: dict[str, Any]) -> None:
        """Record an effect in the current unit of work, to be carried out once it commits;
        outside a unit, carry it out now. ``payload`` is JSON."""
        unit = self.db.current_unit()
        if unit is None:
            await self._kinds[kind](payload)
            return
        # Each row's own cause: two messages of one event to one room keep distinct
        # transaction ids even when one of them is carried out later than the other.
        base = current_cause() or f"outbox:{secrets.token_hex(8)}"
        cause = f"{base}#{unit.sequence('outbox:' + base)}"
        await self.repo.add(target, kind, cause, payload)
        targets: list[str] | None = unit.extras.get("outbox")
        if targets is None:
            targets = unit.extras["outbox"] = []
            self.db.then(lambda: self._flush_recorded(targets))
        if target not in targets:
            targets.append(target)

    # the generic effects ------------------------------------------------------------------
    async def send_text(self, room_id: str, body: str, html: str | None = None,
                        mentions: list[str] | None = None, reply_to: str | None = None) -> None:
        """A message whose event id nobody needs later (a reply, a welcome)."""
        await self.submit("send", room_target(room_id),
                          {"room": room_id, "body": body, "html": html, "mentions": mentions,
                           "reply_to": reply_to})

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        await self.submit("redact", room_target(room_id),
                          {"room": room_id, "event": event_id, "reason": reason})

    async def _send(self, p: dict[str, Any]) -> None:
        await self.gateway.send_text(p["room"], p["body"], p.get("html"),
                                     mentions=p.get("mentions"), reply_to=p.get("reply_to"))

    async def _redact(self, p: dict[str, Any]) -> None:
        await self.gateway.redact(p["room"], p["event"], p.get("reason"))

    # carrying out -------------------------------------------------------------------------
    async def _flush_recorded(self, targets: list[str]) -> None:
        """A unit's effects once it committed: target after target in the order they were
        first recorded (a command's reply after what it did), except that subjects of one
        room recorded one after another (several questions' flags) go side by side."""
        i = 0
        while i < len(targets):
            j = i + 1
            room = _subject_room(targets[i])
            while room is not None and j < len(targets) and _subject_room(targets[j]) == room:
                j += 1
            await asyncio.gather(*(self._flush_after_commit(t) for t in targets[i:j]))
            i = j

    async def _flush_after_commit(self, target: str) -> None:
        try:
            await self.flush(target)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the rows stay: retry_due carries them out later
            log.warning("effects on %s wait for the next retry (%s)", target, describe(exc))

    async def flush(self, target: str) -> bool:
        """Carry out the target's recorded effects in order; False if one must wait (a
        passing failure: it and those after it are tried again by ``retry_due``)."""
        self._users[target] = self._users.get(target, 0) + 1
        lock = self._locks.setdefault(target, asyncio.Lock())
        try:
            async with lock:
                for effect in await self.repo.pending(target):
                    if not await self._carry_out(effect):
                        return False
                return True
        finally:
            left = self._users[target] - 1
            if left:
                self._users[target] = left
            else:
                del self._users[target]
                self._locks.pop(target, None)

    async def _carry_out(self, effect: PendingEffect) -> bool:
        executor = self._kinds.get(effect.kind)
        try:
            if executor is None:
                raise LookupError(f"no executor for effects of kind {effect.kind!r}")
            with effect_cause(effect.cause):
                await executor(effect.payload)
        except Exception as exc:
            if is_transient(exc):
                delay = min(RETRY_MAX, RETRY_FIRST * 2 ** min(effect.attempts, 12))
                await self.repo.postpone(effect.id, self.clock.now() + delay)
                self.postponed += 1
                self._stalled = True
                log.warning("%s effect on %s waits for the homeserver (%s); trying again in "
                            "%.0f s", effect.kind, effect.target, describe(exc),
                            delay.total_seconds())
                return False
            self.refused += 1
            if isinstance(exc, MatrixActionError):
                log.warning("%s effect on %s not carried out: %s", effect.kind, effect.target,
                            describe(exc))
            else:
                log.exception("%s effect on %s failed (ref: %s)", effect.kind, effect.target,
                              new_ref())
        await self.repo.remove(effect.id)
        self.carried_out += 1
        return True

    async def retry_due(self) -> None:
        """Carry out the effects due again: after a passing failure, or left by a crash.
        After a passing failure one target is tried first, whatever its back-off; if that
        works the homeserver is back and every target is tried now."""
        now = self.clock.now()
        if self._stalled:
            probe = None
            for target in await self.repo.due_targets(now + RETRY_MAX, limit=50):
                if await self.owns(target):
                    probe = target
                    break
            if probe is None:
                self._stalled = False
                return
            try:
                if not await self.flush(probe):
                    return  # still failing: one attempt per tick, no more
            except Exception as exc:
                if is_transient(exc):
                    return
                raise
            self._stalled = False
            now += RETRY_MAX  # the homeserver is back: everything is due
        targets = await self.repo.due_targets(now)
        if not targets:
            return
        places = asyncio.Semaphore(RETRY_CONCURRENCY)

        async def one(target: str) -> None:
            if not await self.owns(target):
                return  # another process's room or person
            async with places:
                await self._flush_after_commit(target)

        await asyncio.gather(*(one(t) for t in targets))

    async def metrics(self) -> list[Sample]:
        return [
            Sample("linli_effects_pending", await self.repo.count(),
                   "Effects on the homeserver recorded and not yet carried out"),
            Sample("linli_effects_carried_out_total", self.carried_out,
                   "Recorded effects carried out (or refused) since start", "counter"),
            Sample("linli_effects_postponed_total", self.postponed,
                   "Recorded effects that met a passing failure and wait for a retry",
                   "counter"),
            Sample("linli_effects_refused_total", self.refused,
                   "Recorded effects the homeserver refused (logged)", "counter"),
        ]
