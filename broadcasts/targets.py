"""Targets: parsing ``all`` / ``station:SLUG`` / ``slug,slug``, resolving them to rooms, and
who may target what.

Rule: only officers and admins of a station may target its compounds; a station-wide target
needs a station-level (or district) grant, not one for a single compound; ``all`` needs a
district admin. ``actor=None`` is the operator at the CLI, who may do everything.
"""

from __future__ import annotations

from linli.broadcasts.model import Reply, RoomTarget, Target, TargetKind
from linli.common.errors import DomainError, NotFound, PermissionDenied
from linli.common.ids import StationId, UserID
from linli.community.model import Compound, Directory, Role, Station

MANAGING_ROLES = frozenset({Role.OFFICER, Role.ADMIN})


def parse_target(text: str, directory: Directory) -> Target:
    value = text.strip()
    if value.lower() == "all":
        return Target.all()
    if value.lower().startswith("station:"):
        slug = value.split(":", 1)[1]
        station = directory.station_by_slug(slug)
        if station is None:
            raise NotFound("error.no_station", slug=slug)
        return Target.station(station.id)
    slugs = [s.strip() for s in value.split(",") if s.strip()]
    if not slugs:
        raise DomainError("broadcasts.error.bad_target", value=value[:80])
    ids = []
    for slug in slugs:
        compound = directory.compound_by_slug(slug)
        if compound is None:
            raise NotFound("error.no_compound", slug=slug)
        ids.append(compound.id)
    return Target.compounds(tuple(ids))


def target_compounds(target: Target, directory: Directory) -> list[Compound]:
    if target.kind is TargetKind.ALL:
        found = list(directory.compounds.values())
    elif target.kind is TargetKind.STATION:
        assert target.station_id is not None
        found = directory.compounds_of_station(target.station_id)
    else:
        found = [directory.compounds[i] for i in target.compound_ids if i in directory.compounds]
    return sorted(found, key=lambda c: c.slug)


def target_rooms(target: Target, directory: Directory) -> list[RoomTarget]:
    """The rooms to post to now; compounds without a room yet are left out."""
    return [
        RoomTarget(room_id=c.room_id, compound_id=c.id, station_id=c.station_id)
        for c in target_compounds(target, directory)
        if c.room_id
    ]


def scope_station(target: Target, directory: Directory) -> StationId | None:
    """The station whose officers manage a bulletin; None for district-wide ones."""
    if target.kind is TargetKind.STATION:
        return target.station_id
    if target.kind is TargetKind.COMPOUNDS:
        stations = {
            directory.compounds[i].station_id for i in target.compound_ids
            if i in directory.compounds
        }
        if len(stations) == 1:
            return next(iter(stations))
    return None


def _manages_station(directory: Directory, actor: UserID, station: Station) -> bool:
    if directory.is_district_admin(actor):
        return True
    return any(
        g.user_id == actor and g.role in MANAGING_ROLES and g.station_id == station.id
        for g in directory.grants
    )


def may_target(directory: Directory, actor: UserID | None, target: Target) -> bool:
    if actor is None:
        return True
    if target.kind is TargetKind.ALL:
        return directory.is_district_admin(actor)
    if target.kind is TargetKind.STATION:
        station = directory.stations.get(target.station_id) if target.station_id else None
        return station is not None and _manages_station(directory, actor, station)
    compounds = [directory.compounds.get(i) for i in target.compound_ids]
    return bool(compounds) and all(
        c is not None and bool(directory.roles_in_compound(actor, c) & MANAGING_ROLES)
        for c in compounds
    )


def check_may_target(directory: Directory, actor: UserID | None, target: Target) -> None:
    if not may_target(directory, actor, target):
        raise PermissionDenied("broadcasts.error.not_allowed")


def may_view(directory: Directory, actor: UserID | None, station_id: StationId | None) -> bool:
    """Officers and admins of a station see its bulletins and the district-wide ones."""
    if actor is None or directory.is_district_admin(actor):
        return True
    if station_id is None:
        return False
    station = directory.stations.get(station_id)
    return station is not None and bool(
        directory.roles_in_station(actor, station) & MANAGING_ROLES
    )


def describe_target(target: Target, directory: Directory) -> Reply:
    if target.kind is TargetKind.ALL:
        return Reply("broadcasts.target.all")
    if target.kind is TargetKind.STATION:
        station = directory.stations.get(target.station_id) if target.station_id else None
        return Reply(
            "broadcasts.target.station",
            {"station": station.name if station else f"#{target.station_id}"},
        )
    names = [
        directory.compounds[i].name if i in directory.compounds else f"#{i}"
        for i in target.compound_ids
    ]
    return Reply("broadcasts.target.compounds", {"compounds": ", ".join(names)})
