"""Flood control: a member posting more than N messages within a window is muted, once.

Counting happens in memory (no database round trip per message): one small sliding window
per (room, user), kept in least-recently-active order so idle windows are dropped as time
passes, with a hard cap on how many are tracked at all. Only a member who trips the limit
causes a database call, and the service refuses to mute twice, so losing a window to
eviction or a restart can never lead to a second mute.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from linli.community.model import Directory
from linli.moderation.model import ModerationSettings, Outcome, RoomPower
from linli.moderation.policy import is_protected
from linli.moderation.service import ModerationService


@dataclass
class _Window:
    times: deque[datetime]
    last_seen: datetime
    quiet_until: datetime | None = field(default=None)


class FloodGuard:
    """Pure sliding-window counter. ``observe`` returns the message count exactly when a
    member goes over ``limit`` messages within ``window``; further messages are ignored
    until ``cooldown`` has passed (the mute makes them rare anyway)."""

    def __init__(
        self,
        limit: int,
        window: timedelta,
        cooldown: timedelta,
        max_tracked: int = 100_000,
    ) -> None:
        if limit < 1 or window <= timedelta(0) or max_tracked < 1:
            raise ValueError("flood limit, window and max_tracked must be positive")
        self.limit = limit
        self.window = window
        self.cooldown = cooldown
        self.max_tracked = max_tracked
        self._windows: OrderedDict[tuple[str, str], _Window] = OrderedDict()

    def __len__(self) -> int:
        return len(self._windows)

    def observe(self, room_id: str, user_id: str, at: datetime) -> int | None:
        key = (room_id, user_id)
        entry = self._windows.get(key)
        if entry is None:
            entry = _Window(deque(maxlen=self.limit + 1), at)
            self._windows[key] = entry
        else:
            self._windows.move_to_end(key)
            entry.last_seen = max(entry.last_seen, at)
        tripped: int | None = None
        if entry.quiet_until is None or at >= entry.quiet_until:
            entry.quiet_until = None
            times = entry.times
            times.append(at)
            cutoff = at - self.window
            while times and times[0] <= cutoff:
                times.popleft()
            if len(times) > self.limit:
                tripped = len(times)
                times.clear()
                entry.quiet_until = at + self.cooldown
        self._evict(at)
        return tripped

    def _evict(self, now: datetime) -> None:
        # Least recently active first: stop at the first window still in use.
        idle_before = now - max(self.window, self.cooldown)
        while self._windows:
            key, entry = next(iter(self._windows.items()))
            if entry.last_seen > idle_before and len(self._windows) <= self.max_tracked:
                break
            del self._windows[key]


class FloodControl:
    """Feeds every compound-room message through the guard; mutes a member who floods."""

    def __init__(
        self,
        service: ModerationService,
        directory: Callable[[], Directory],
        settings: ModerationSettings,
    ) -> None:
        self.service = service
        self.directory = directory
        self.settings = settings
        self.guard = FloodGuard(
            settings.flood_messages,
            settings.flood_window,
            settings.flood_mute,
            settings.flood_max_tracked,
        )

    async def on_message(
        self, room_id: str, sender: str, at: datetime, power: RoomPower
    ) -> Outcome:
        """Call for each message in a room (``at``: the event's server time). Returns no
        effects unless this message trips the limit; staff and the bot are exempt."""
        count = self.observe(room_id, sender, at)
        if count is None:
            return Outcome()
        return await self.mute(room_id, sender, count, power)

    def observe(self, room_id: str, sender: str, at: datetime) -> int | None:
        """The in-memory half of ``on_message``: the message count when this message trips
        the limit, else None. Lets the edge read the sender's power levels only then."""
        directory = self.directory()
        if directory.compound_by_room(room_id) is None or sender == self.service.bot_user_id:
            return None
        if is_protected(directory, sender):
            return None
        return self.guard.observe(room_id, sender, at)

    async def mute(self, room_id: str, sender: str, count: int, power: RoomPower) -> Outcome:
        """The second half, after ``observe`` returned ``count``: mute through the service."""
        compound = self.directory().compound_by_room(room_id)
        if compound is None:
            return Outcome()
        return await self.service.flood_mute(sender, compound.id, count, power)
