"""Exactly-once fan-out: deciding occurrences, the delivery ledger, catch-up, urgent notices.

The parts: ``service`` (the lease, the loop's step, the ledger's fan-out, notices),
``occurrences`` (what is due, coalesced or skipped), ``rendering`` (a bulletin for one room),
``reports`` (the delivery report per station) and ``settings`` (settings, transaction ids).

How "exactly once" is kept, and where it stops:

- One scheduler per database: ``tick`` runs only while this process holds the lease row
  (owner id + expiry, renewed during long fan-outs). A second process on the same database
  waits until the lease expires.
- An occurrence is decided by advancing the bulletin's ``next_at`` with a conditional update
  and inserting the occurrence row (unique per bulletin and instant) in one transaction, so
  two processes cannot both decide it, lease or not.
- The ledger has one row per (bulletin, occurrence, room), unique, written before sending with
  a transaction id derived from the three. A sender claims a pending row with a conditional
  UPDATE (free, expired or its own claim), sends with that txn id, then marks it delivered
  with the event id. A crash between sending and marking leaves the row pending; whoever
  resumes it sends again with the same txn id and the homeserver returns the first event
  instead of posting twice.
- Limits: Matrix deduplicates txn ids per access token, so a bot that logs in afresh (new
  token) between the crash and the retry can post that one room twice. A claim of a killed
  process is taken over only after it expires (``lease_ttl``).
"""

from linli.broadcasts.delivery.occurrences import Missed
from linli.broadcasts.delivery.rendering import Renderer, officer_name
from linli.broadcasts.delivery.service import DeliveryService
from linli.broadcasts.delivery.settings import BroadcastSettings, Sleep, txn_id

__all__ = [
    "BroadcastSettings",
    "DeliveryService",
    "Missed",
    "Renderer",
    "Sleep",
    "officer_name",
    "txn_id",
]
