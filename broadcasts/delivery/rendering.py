"""A bulletin rendered for one compound's room, in the compound's language, signed by the
officer on duty."""


from __future__ import annotations

from datetime import datetime

from linli.broadcasts.model import (
    Bulletin,
    BulletinKind,
    RenderedMessage,
)
from linli.broadcasts.render import RoomContext, render_bulletin
from linli.common.i18n import Translator
from linli.common.ids import CompoundId
from linli.community.model import Directory, Role


def officer_name(directory: Directory, compound_id: CompoundId, fallback: str) -> str:
    """The officer on duty for a compound: ``settings.officer_on_duty`` if set, else the first
    officer granted for the compound, else for its station."""
    compound = directory.compounds.get(compound_id)
    if compound is None:
        return fallback
    configured = compound.settings.get("officer_on_duty")
    if isinstance(configured, str) and configured.strip():
        return configured.strip()
    for scope in ("compound", "station"):
        for g in directory.grants:
            if g.role is not Role.OFFICER or not g.display_name:
                continue
            if (scope == "compound" and g.compound_id == compound.id) or (
                scope == "station" and g.station_id == compound.station_id
                and g.compound_id is None
            ):
                return g.display_name
    return fallback


class Renderer:
    """Renders a bulletin for one compound's room in the compound's language."""

    def __init__(self, translator: Translator) -> None:
        self.translator = translator

    def render(
        self,
        bulletin: Bulletin,
        series_index: int,
        when: datetime,
        compound_id: CompoundId | None,
        directory: Directory,
    ) -> RenderedMessage:
        compound = directory.compounds.get(compound_id) if compound_id is not None else None
        locale = compound.locale if compound else "zh-CN"
        station = directory.stations.get(compound.station_id) if compound else None
        on_duty = self.translator.render(locale, "broadcasts.officer_on_duty")
        context = RoomContext(
            compound=compound.name if compound else "",
            station=station.name if station else "",
            officer=officer_name(directory, compound.id, on_duty) if compound else on_duty,
            when=when,
            timezone=compound.timezone if compound else bulletin.schedule.timezone,
        )
        text = bulletin.text_for(locale)
        title = text.title
        if bulletin.kind is BulletinKind.NOTICE:
            title = self.translator.render(locale, "broadcasts.notice.title")
        return render_bulletin(
            title, text.body_for(series_index), context.values(), bulletin.mention_room
        )
