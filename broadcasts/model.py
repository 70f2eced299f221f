"""Plain data for bulletins, their schedules, occurrences and deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from linli.common.ids import CompoundId, EventID, RoomID, StationId, UserID

DEFAULT_TIMEZONE = "Asia/Shanghai"


class TargetKind(StrEnum):
    ALL = "all"
    STATION = "station"
    COMPOUNDS = "compounds"


@dataclass(frozen=True)
class Target:
    """Who receives a bulletin: every compound, one station's compounds, or named compounds.

    Stored by id so renaming a slug does not retarget a bulletin; compounds added to a station
    later receive its station-wide bulletins.
    """

    kind: TargetKind
    station_id: StationId | None = None
    compound_ids: tuple[CompoundId, ...] = ()

    @staticmethod
    def all() -> Target:
        return Target(TargetKind.ALL)

    @staticmethod
    def station(station_id: StationId) -> Target:
        return Target(TargetKind.STATION, station_id=station_id)

    @staticmethod
    def compounds(ids: tuple[CompoundId, ...]) -> Target:
        return Target(TargetKind.COMPOUNDS, compound_ids=tuple(sorted(set(ids))))


class ScheduleKind(StrEnum):
    ONCE = "once"
    CRON = "cron"
    INTERVAL = "interval"
    NOW = "now"  # urgent notices: one occurrence, at creation


@dataclass(frozen=True)
class Schedule:
    """When a bulletin fires. All instants are aware UTC; ``timezone`` is the zone the cron
    fields (and people reading the schedule) use."""

    kind: ScheduleKind
    timezone: str = DEFAULT_TIMEZONE
    run_at: datetime | None = None  # once
    cron: str | None = None  # cron: five fields, standard crontab meaning (0 or 7 = Sunday)
    interval: timedelta | None = None  # interval
    start_at: datetime | None = None  # interval: the first fire time
    end_at: datetime | None = None  # no fire time after this instant


@dataclass(frozen=True)
class Text:
    """A title and one body, or several bodies for a series (one per occurrence, in turn)."""

    title: str
    bodies: tuple[str, ...]

    @property
    def is_series(self) -> bool:
        return len(self.bodies) > 1

    def body_for(self, index: int) -> str:
        return self.bodies[index % len(self.bodies)]


class BulletinKind(StrEnum):
    BULLETIN = "bulletin"
    NOTICE = "notice"


@dataclass(frozen=True)
class Bulletin:
    id: int
    kind: BulletinKind
    text: Text
    target: Target
    schedule: Schedule
    created_by: str
    created_at: datetime
    station_id: StationId | None = None  # scope: the station whose officers manage it
    translations: dict[str, Text] = field(default_factory=dict, hash=False, compare=False)
    paused: bool = False
    deleted: bool = False
    next_at: datetime | None = None
    fired_count: int = 0
    mention_room: bool = False

    def text_for(self, locale: str) -> Text:
        return self.translations.get(locale, self.text)

    @property
    def finished(self) -> bool:
        return self.next_at is None and not self.paused


@dataclass(frozen=True)
class BulletinDraft:
    """A bulletin as parsed from a command, before it has an id."""

    text: Text
    target: Target
    schedule: Schedule
    translations: dict[str, Text] = field(default_factory=dict, hash=False, compare=False)


class OccurrenceOutcome(StrEnum):
    FIRED = "fired"
    SKIPPED = "skipped"  # missed beyond the catch-up window


class OccurrenceState(StrEnum):
    OPEN = "open"  # fan-out not finished (or not yet reported)
    DONE = "done"


@dataclass(frozen=True)
class Occurrence:
    id: int
    bulletin_id: int
    at: datetime  # the scheduled instant (for notices: when it was sent)
    outcome: OccurrenceOutcome
    series_index: int
    late: bool = False
    coalesced: int = 0  # earlier missed occurrences folded into this one
    state: OccurrenceState = OccurrenceState.OPEN


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Delivery:
    """One ledger row: (bulletin, occurrence, room), written before sending."""

    id: int
    bulletin_id: int
    occurrence: datetime
    room_id: RoomID
    compound_id: CompoundId | None
    station_id: StationId | None
    txn_id: str
    state: DeliveryState
    event_id: EventID | None = None
    error: str | None = None
    attempts: int = 0
    sent_at: datetime | None = None


@dataclass(frozen=True)
class RoomTarget:
    """A room to deliver to, with what rendering needs to know of it."""

    room_id: RoomID
    compound_id: CompoundId
    station_id: StationId


@dataclass(frozen=True)
class RenderedMessage:
    """What the edge sends: Markdown source as the plain body and its HTML rendering.

    ``mention_room``: the edge prefixes ``@room`` (and sets ``m.mentions.room``) where the bot
    has the power to notify the room, and sends without it elsewhere.
    """

    body: str
    formatted_body: str
    mention_room: bool = False


@dataclass(frozen=True)
class Reply:
    """A message key and its parameters; parameters may themselves be Replies."""

    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Report:
    """A line for a station's officers' room that the edge posts (e.g. a delivery report)."""

    room_id: RoomID
    locale: str
    reply: Reply


@dataclass(frozen=True)
class CommandResult:
    """What a bulletin command hands back: lines to reply with, and for ``preview`` the
    rendered bulletin to post as its own message."""

    lines: tuple[Reply, ...]
    preview: RenderedMessage | None = None
    reports: tuple[Report, ...] = ()


def actor_or_system(actor: UserID | None) -> str:
    return actor or "cli"
