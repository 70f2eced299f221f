"""The bulletin commands officers use (``!bulletin ...`` in the officers' room and
``linli bulletins ...``), as one service returning message keys and parameters.

Every method takes the actor (None for the operator at the CLI) and, from chat, the station of
the officers' room the command came from; it checks permissions and raises DomainError
(PermissionDenied, NotFound, ...) for the edge to render. Syntax: see broadcasts.commands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from linli.broadcasts import commands
from linli.broadcasts.delivery import DeliveryService, Renderer
from linli.broadcasts.model import (
    DEFAULT_TIMEZONE,
    Bulletin,
    BulletinKind,
    CommandResult,
    Occurrence,
    Reply,
    Report,
    Schedule,
    ScheduleKind,
    Target,
    Text,
    actor_or_system,
)
from linli.broadcasts.ports import BroadcastStore
from linli.broadcasts.render import check_placeholders
from linli.broadcasts.schedule import FireTimes, first_fire
from linli.broadcasts.targets import (
    check_may_target,
    describe_target,
    may_target,
    may_view,
    parse_target,
    scope_station,
    target_compounds,
    target_rooms,
)
from linli.common.clock import Clock
from linli.common.durations import format_duration
from linli.common.errors import DomainError, NotFound, PermissionDenied
from linli.common.i18n import Translator, format_local_time
from linli.common.ids import StationId, UserID
from linli.community.model import Directory

log = logging.getLogger(__name__)

MAX_NOTICE = 4000


def describe_schedule(schedule: Schedule, locale: str) -> Reply:
    tz = schedule.timezone
    until: Reply | str = (
        Reply("broadcasts.schedule.until", {"end": format_local_time(schedule.end_at, tz, locale)})
        if schedule.end_at
        else ""
    )
    if schedule.kind is ScheduleKind.ONCE and schedule.run_at:
        return Reply(
            "broadcasts.schedule.once",
            {"when": format_local_time(schedule.run_at, tz, locale), "tz": tz},
        )
    if schedule.kind is ScheduleKind.CRON:
        return Reply("broadcasts.schedule.cron", {"expr": schedule.cron, "tz": tz, "until": until})
    if schedule.kind is ScheduleKind.INTERVAL and schedule.interval and schedule.start_at:
        return Reply(
            "broadcasts.schedule.every",
            {
                "every": format_duration(schedule.interval),
                "start": format_local_time(schedule.start_at, tz, locale),
                "tz": tz,
                "until": until,
            },
        )
    return Reply("broadcasts.schedule.now")


def status_of(bulletin: Bulletin) -> Reply:
    if bulletin.deleted:
        return Reply("broadcasts.status.deleted")
    if bulletin.paused:
        return Reply("broadcasts.status.paused")
    if bulletin.next_at is None:
        return Reply("broadcasts.status.finished")
    return Reply("broadcasts.status.active")


class BulletinCommands:
    def __init__(
        self,
        store: BroadcastStore,
        fire_times: FireTimes,
        directory: Callable[[], Directory],
        translator: Translator,
        clock: Clock,
        default_timezone: str = DEFAULT_TIMEZONE,
        delivery: DeliveryService | None = None,
    ) -> None:
        """``delivery`` is needed only for urgent notices (the CLI manages bulletins without
        a Matrix connection)."""
        self.store = store
        self.fire_times = fire_times
        self.directory = directory
        self.clock = clock
        self.default_timezone = default_timezone
        self.delivery = delivery
        self.renderer = Renderer(translator)

    # --- helpers ------------------------------------------------------------------------------

    async def _visible(
        self, actor: UserID | None, station_id: StationId | None, number: int
    ) -> tuple[Bulletin, Directory]:
        directory = self.directory()
        bulletin = await self.store.get_bulletin(number)
        if bulletin is None or bulletin.deleted:
            raise NotFound("broadcasts.error.no_bulletin", id=number)
        in_scope = (
            station_id is None or bulletin.station_id is None or bulletin.station_id == station_id
        )
        if not in_scope:
            raise NotFound("broadcasts.error.no_bulletin", id=number)
        if not (may_view(directory, actor, bulletin.station_id or station_id)
                or may_target(directory, actor, bulletin.target)):
            raise PermissionDenied("broadcasts.error.not_allowed")
        return bulletin, directory

    async def _manageable(
        self, actor: UserID | None, station_id: StationId | None, number: int
    ) -> tuple[Bulletin, Directory]:
        bulletin, directory = await self._visible(actor, station_id, number)
        check_may_target(directory, actor, bulletin.target)
        return bulletin, directory

    def _locale(self, directory: Directory, station_id: StationId | None) -> str:
        station = directory.stations.get(station_id) if station_id is not None else None
        return station.locale if station else "zh-CN"

    def _when(self, when: datetime | None, bulletin: Bulletin, locale: str) -> str:
        return format_local_time(when, bulletin.schedule.timezone, locale) if when else "—"

    # --- commands -------------------------------------------------------------------------------

    async def add(
        self, actor: UserID | None, text: str, station_id: StationId | None = None
    ) -> CommandResult:
        """``!bulletin add ...``: parse, check the actor may target those compounds, store."""
        directory = self.directory()
        now = self.clock.now()
        draft = commands.parse_add(text, directory, now, self.default_timezone)
        check_may_target(directory, actor, draft.target)
        if not target_compounds(draft.target, directory):
            raise DomainError("broadcasts.error.no_rooms")
        next_at = first_fire(draft.schedule, now, self.fire_times)
        bulletin = await self.store.create_bulletin(
            kind=BulletinKind.BULLETIN,
            text=draft.text,
            translations=dict(draft.translations),
            target=draft.target,
            schedule=draft.schedule,
            created_by=actor_or_system(actor),
            station_id=scope_station(draft.target, directory),
            next_at=next_at,
            mention_room=False,
            now=now,
        )
        log.info("bulletin %s created by %s", bulletin.id, actor_or_system(actor))
        locale = self._locale(directory, station_id)
        return CommandResult(
            lines=(
                Reply(
                    "broadcasts.added",
                    {
                        "id": bulletin.id,
                        "title": bulletin.text.title,
                        "target": describe_target(bulletin.target, directory),
                        "next": self._when(next_at, bulletin, locale),
                    },
                ),
            )
        )

    async def list(
        self, actor: UserID | None, station_id: StationId | None = None
    ) -> CommandResult:
        directory = self.directory()
        if not may_view(directory, actor, station_id):
            raise PermissionDenied("broadcasts.error.not_allowed")
        locale = self._locale(directory, station_id)
        bulletins = await self.store.list_bulletins(
            {station_id} if station_id is not None else None
        )
        bulletins = [b for b in bulletins if b.kind is BulletinKind.BULLETIN]
        if not bulletins:
            return CommandResult(lines=(Reply("broadcasts.list.empty"),))
        lines = [Reply("broadcasts.list.header", {"count": len(bulletins)})]
        for b in bulletins:
            lines.append(
                Reply(
                    "broadcasts.list.item",
                    {
                        "id": b.id,
                        "title": b.text.title,
                        "status": status_of(b),
                        "schedule": describe_schedule(b.schedule, locale),
                        "next": self._when(b.next_at, b, locale),
                    },
                )
            )
        return CommandResult(lines=tuple(lines))

    async def show(
        self, actor: UserID | None, number: int, station_id: StationId | None = None
    ) -> CommandResult:
        bulletin, directory = await self._visible(actor, station_id, number)
        locale = self._locale(directory, station_id)
        lines = [
            Reply(
                "broadcasts.show",
                {
                    "id": bulletin.id,
                    "title": bulletin.text.title,
                    "status": status_of(bulletin),
                    "target": describe_target(bulletin.target, directory),
                    "schedule": describe_schedule(bulletin.schedule, locale),
                    "next": self._when(bulletin.next_at, bulletin, locale),
                    "sent": bulletin.fired_count,
                    "author": bulletin.created_by,
                },
            )
        ]
        if bulletin.text.is_series:
            lines.append(
                Reply(
                    "broadcasts.show.series",
                    {
                        "count": len(bulletin.text.bodies),
                        "index": bulletin.fired_count % len(bulletin.text.bodies) + 1,
                    },
                )
            )
        if bulletin.translations:
            lines.append(
                Reply(
                    "broadcasts.show.translations",
                    {"locales": ", ".join(sorted(bulletin.translations))},
                )
            )
        lines.append(Reply("broadcasts.show.body", {"body": bulletin.text.bodies[0]}))
        return CommandResult(lines=tuple(lines))

    async def preview(
        self,
        actor: UserID | None,
        number: int,
        station_id: StationId | None = None,
        compound_slug: str | None = None,
    ) -> CommandResult:
        """Render the next post of bulletin N as one compound (the first target compound, or
        ``compound_slug``) would see it; the edge posts ``preview`` in the officers' room."""
        bulletin, directory = await self._visible(actor, station_id, number)
        if compound_slug:
            compound = directory.compound_by_slug(compound_slug)
            if compound is None:
                raise NotFound("error.no_compound", slug=compound_slug)
        else:
            targets = target_compounds(bulletin.target, directory)
            if not targets:
                raise DomainError("broadcasts.error.no_rooms")
            compound = targets[0]
        when = bulletin.next_at or self.clock.now()
        message = self.renderer.render(
            bulletin, bulletin.fired_count, when, compound.id, directory
        )
        return CommandResult(
            lines=(
                Reply("broadcasts.preview", {"id": bulletin.id, "compound": compound.name}),
            ),
            preview=message,
        )

    async def pause(
        self, actor: UserID | None, number: int, station_id: StationId | None = None
    ) -> CommandResult:
        bulletin, _ = await self._manageable(actor, station_id, number)
        await self.store.update_bulletin(bulletin.id, paused=True)
        return CommandResult(lines=(Reply("broadcasts.paused", {"id": bulletin.id}),))

    async def resume(
        self, actor: UserID | None, number: int, station_id: StationId | None = None
    ) -> CommandResult:
        """Resume from now on: occurrences that fell in the pause are not posted late."""
        bulletin, directory = await self._manageable(actor, station_id, number)
        now = self.clock.now()
        try:
            next_at = self.fire_times.next_fire(bulletin.schedule, now)
        except ValueError:
            next_at = None
        if next_at is None:
            updated = await self.store.update_bulletin(
                bulletin.id, paused=False, clear_next_at=True
            )
        else:
            updated = await self.store.update_bulletin(bulletin.id, paused=False, next_at=next_at)
        locale = self._locale(directory, station_id)
        if next_at is not None:
            reply = Reply("broadcasts.resumed",
                          {"id": updated.id, "next": self._when(next_at, updated, locale)})
        else:
            reply = self._nothing_left(updated, now, locale)
        return CommandResult(lines=(reply,))

    def _nothing_left(self, bulletin: Bulletin, now: datetime, locale: str) -> Reply:
        """Why a resumed bulletin will not post again: a one-off whose time has passed, an
        end date behind us, or (rarely) a schedule with no fire time left."""
        schedule = bulletin.schedule
        if schedule.kind is ScheduleKind.ONCE and schedule.run_at is not None:
            return Reply("broadcasts.resumed_once_past",
                         {"id": bulletin.id, "at": self._when(schedule.run_at, bulletin, locale)})
        if schedule.end_at is not None and schedule.end_at <= now:
            return Reply("broadcasts.resumed_ended",
                         {"id": bulletin.id, "end": self._when(schedule.end_at, bulletin, locale)})
        return Reply("broadcasts.resumed_finished", {"id": bulletin.id})

    async def delete(
        self, actor: UserID | None, number: int, station_id: StationId | None = None
    ) -> CommandResult:
        bulletin, _ = await self._manageable(actor, station_id, number)
        await self.store.delete_bulletin(bulletin.id, self.clock.now())
        log.info("bulletin %s deleted by %s", bulletin.id, actor_or_system(actor))
        return CommandResult(lines=(Reply("broadcasts.deleted", {"id": bulletin.id}),))

    async def translate(
        self, actor: UserID | None, number: int, text: str, station_id: StationId | None = None
    ) -> CommandResult:
        """``!bulletin translate N LOCALE | TITLE | BODY``: a version for rooms in LOCALE."""
        bulletin, _ = await self._manageable(actor, station_id, number)
        locale, translated = commands.parse_translation(text, len(bulletin.text.bodies))
        translations = dict(bulletin.translations)
        translations[locale] = translated
        await self.store.update_bulletin(bulletin.id, translations=translations)
        return CommandResult(
            lines=(Reply("broadcasts.translated", {"id": bulletin.id, "language": locale}),)
        )

    def check_notice(
        self, actor: UserID | None, target_text: str, text: str
    ) -> tuple[Target, Text, int]:
        """Validate ``!notice TARGET TEXT`` without sending: the target, the text and how many
        rooms it will reach. Raises DomainError (PermissionDenied, ...) for the edge to render,
        so the edge can acknowledge a long fan-out before it starts."""
        directory = self.directory()
        target = parse_target(target_text, directory)
        check_may_target(directory, actor, target)
        body = text.strip()
        if not body:
            raise DomainError("broadcasts.error.usage_notice")
        if len(body) > MAX_NOTICE:
            raise DomainError("broadcasts.error.too_long", limit=MAX_NOTICE)
        notice_text = Text(title="", bodies=(body,))
        check_placeholders(notice_text)
        rooms = target_rooms(target, directory)
        if not rooms:
            raise DomainError("broadcasts.error.no_rooms")
        return target, notice_text, len(rooms)

    async def notice(
        self,
        actor: UserID | None,
        target_text: str,
        text: str,
        mention_room: bool = False,
    ) -> CommandResult:
        """``!notice TARGET TEXT``: post now to every target room; the reports carry the
        delivery line for each station's officers' room."""
        target, notice_text, _ = self.check_notice(actor, target_text, text)
        if self.delivery is None:
            raise RuntimeError("urgent notices need a DeliveryService")
        reports: list[Report] = await self.delivery.notice(
            target,
            notice_text,
            actor_or_system(actor),
            scope_station(target, self.directory()),
            mention_room,
        )
        log.info("urgent notice by %s sent", actor_or_system(actor))
        return CommandResult(lines=(), reports=tuple(reports))

    async def prepare_notice(
        self,
        actor: UserID | None,
        target_text: str,
        text: str,
        mention_room: bool = False,
    ) -> tuple[Bulletin, Occurrence]:
        """``!notice`` in two steps: record it now (in the command's unit of work), fan it
        out with ``DeliveryService.fan_out`` once that has committed."""
        target, notice_text, _ = self.check_notice(actor, target_text, text)
        if self.delivery is None:
            raise RuntimeError("urgent notices need a DeliveryService")
        return await self.delivery.create_notice(
            target, notice_text, actor_or_system(actor),
            scope_station(target, self.directory()), mention_room,
        )
