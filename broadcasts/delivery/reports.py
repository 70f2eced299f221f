"""Delivery reports: one line per station involved, for its officers' room."""


from __future__ import annotations

from itertools import groupby

from linli.broadcasts.delivery.settings import BroadcastSettings
from linli.broadcasts.model import (
    Bulletin,
    BulletinKind,
    Delivery,
    DeliveryState,
    Occurrence,
    OccurrenceOutcome,
    Reply,
    Report,
)
from linli.broadcasts.targets import target_compounds
from linli.common.i18n import format_local_time, humanize_duration
from linli.common.ids import RoomID, StationId
from linli.community.model import Directory


class Reporting:
    """The part of ``DeliveryService`` that writes the delivery reports."""

    settings: BroadcastSettings

    def reports(
        self,
        bulletin: Bulletin,
        occurrence: Occurrence,
        rows: list[Delivery],
        directory: Directory,
    ) -> list[Report]:
        """One line per station involved, for its officers' room."""
        if occurrence.outcome is OccurrenceOutcome.SKIPPED:
            stations = {c.station_id for c in target_compounds(bulletin.target, directory)}
            return [
                Report(
                    room_id=room,
                    locale=locale,
                    reply=Reply(
                        "broadcasts.report.skipped",
                        {
                            "id": bulletin.id,
                            "title": bulletin.text_for(locale).title,
                            "when": format_local_time(
                                occurrence.at, bulletin.schedule.timezone, locale
                            ),
                            "window": self._window(locale),
                        },
                    ),
                )
                for room, locale in self._officers_rooms(stations, directory)
            ]
        out: list[Report] = []
        by_station = sorted(rows, key=lambda r: r.station_id or 0)
        for station_id, group in groupby(by_station, key=lambda r: r.station_id):
            station = directory.stations.get(station_id) if station_id is not None else None
            if station is None or station.officers_room_id is None:
                continue
            out.append(
                Report(
                    room_id=station.officers_room_id,
                    locale=station.locale,
                    reply=self._report_line(
                        bulletin, occurrence, list(group), directory, station.locale
                    ),
                )
            )
        return out

    def _window(self, locale: str) -> str:
        return humanize_duration(self.settings.catch_up_window, locale)

    def _officers_rooms(
        self, stations: set[StationId], directory: Directory
    ) -> list[tuple[RoomID, str]]:
        found = []
        for sid in sorted(stations):
            station = directory.stations.get(sid)
            if station and station.officers_room_id:
                found.append((station.officers_room_id, station.locale))
        return found

    def _report_line(
        self,
        bulletin: Bulletin,
        occurrence: Occurrence,
        rows: list[Delivery],
        directory: Directory,
        locale: str,
    ) -> Reply:
        delivered = late = 0
        failed: list[str] = []
        for row in rows:
            if row.state is DeliveryState.DELIVERED:
                is_late = occurrence.late or (
                    row.sent_at is not None
                    and row.sent_at - occurrence.at > self.settings.late_after
                )
                if is_late:
                    late += 1
                else:
                    delivered += 1
            elif row.state is DeliveryState.FAILED:
                compound = (
                    directory.compounds.get(row.compound_id)
                    if row.compound_id is not None else None
                )
                failed.append(compound.name if compound else row.room_id)
        params: dict[str, object] = {
            "id": bulletin.id,
            "delivered": delivered,
            "late": late,
            "failed": len(failed),
            "failures": Reply("broadcasts.report.failures", {"rooms": ", ".join(failed)})
            if failed else "",
            "coalesced": Reply("broadcasts.report.coalesced", {"count": occurrence.coalesced})
            if occurrence.coalesced else "",
        }
        if bulletin.kind is BulletinKind.NOTICE:
            return Reply("broadcasts.report.notice", params)
        params["title"] = bulletin.text_for(locale).title
        params["when"] = format_local_time(occurrence.at, bulletin.schedule.timezone, locale)
        return Reply("broadcasts.report", params)
