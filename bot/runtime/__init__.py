"""The running bot: log-in, the sync loop, event dispatch, periodic work and shutdown.

The parts: ``sync`` (log-in, the sync loop, reconnection), ``events`` (the event path:
one unit of work per event, retries), ``lanes`` (a batch's order, rooms concurrently),
``rooms`` (joins, invitations, direct chats residents open), ``direct`` (the bot's own direct
rooms), ``outbox`` (effects recorded in a unit, carried out once it commits), ``periodic``
(features' ticks, a task each), ``env`` (where an event happened, the feature protocol) and
``bot`` (composition, start-up, shutdown).

Order of work for each sync response: invites, rooms the bot lost, the directory re-read if
anyone changed it, then every joined room's timeline (gaps filled from /messages), rooms
handled side by side and each room in order (``lanes``), and only then the sync token stored.

Each event is handled at least once and its decisions exactly once: one unit of work (one
database transaction) holds everything the features decide for it, the effects on the
homeserver they call for (recorded, ``outbox``) and the mark that it is done; the effects are
carried out once it commits, before the event's room goes on. Messages and redactions carry a
transaction id derived from the event, state changes re-read the state first, so an effect
carried out again after a kill or a passing failure repeats nothing. A passing failure
(homeserver or database unreachable) rolls the event back and the batch is tried again with
back-off, or leaves a recorded effect to the outbox's retry; a bug in one feature is logged
and does not hold up the rest.
"""

from linli.bot.runtime.bot import Bot
from linli.bot.runtime.direct import DM_INVITES_PER_DAY, DM_MARKER, DirectMessenger
from linli.bot.runtime.env import DirectoryHolder, EventEnv, Feature
from linli.bot.runtime.events import MAX_EVENT_ATTEMPTS
from linli.bot.runtime.lanes import causal_order
from linli.bot.runtime.sync import (
    ACCESS_TOKEN,
    DEVICE_ID,
    SYNC_TOKEN,
    FatalSyncError,
    SyncStats,
)

__all__ = [
    "ACCESS_TOKEN",
    "DEVICE_ID",
    "DM_INVITES_PER_DAY",
    "DM_MARKER",
    "MAX_EVENT_ATTEMPTS",
    "SYNC_TOKEN",
    "Bot",
    "DirectMessenger",
    "DirectoryHolder",
    "EventEnv",
    "FatalSyncError",
    "Feature",
    "SyncStats",
    "causal_order",
]
