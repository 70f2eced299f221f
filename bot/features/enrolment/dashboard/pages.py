"""The dashboard's HTML: the login form, the refusal page, the page frame (navigation, who is
logged in, the language switch) and each page's content. Every value goes through
``linli.bot.web.html``, which escapes it; no script, no inline style."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from linli.bot.features.enrolment.dashboard.access import Refused, Request
from linli.bot.features.enrolment.dashboard.queries import (
    QFIG,
    TREND_WEEKS,
    QuestionFigures,
    VisitFlat,
)
from linli.bot.features.enrolment.dashboard.responses import message
from linli.bot.features.enrolment.feature import CachedFigures
from linli.bot.features.enrolment.reporting import (
    buildings_table,
    compounds_table,
    pending_table,
    sum_figures,
    unenrolled_table,
)
from linli.bot.tables import Cell, Formatter, Table, localise_column
from linli.bot.web import html as h
from linli.common.i18n import Locale, Translator
from linli.community.model import Compound
from linli.enrolment.model import PrincipalKind
from linli.verification.model import EnrolmentReport

Render = Callable[..., str]


def visits_table(flats: Sequence[VisitFlat], r: Render) -> Table:
    """The visit sheet as a table, people as "name (role)" in the reader's language."""
    rows: list[tuple[Cell, ...]] = [
        (v.building, v.unit or None, v.flat,
         tuple(r("dash.person", name=name, role=r(f"dash.role.{role.value}"))
               for name, role in v.people),
         v.has_code)
        for v in flats
    ]
    return Table("visits", ("building", "unit", "flat", "people", "has_code"), rows)


def questions_open_table(data: QuestionFigures, fmt: Formatter) -> Table:
    """Open questions with their topic and flag in words."""
    return localise_column(localise_column(data.open, fmt, "topic", "question.topic"),
                           fmt, "flagged", "table.flag")


class Pages:
    def __init__(self, translator: Translator) -> None:
        self.t = translator

    def renderer(self, locale: str) -> Render:
        def render(key: str, **params: Any) -> str:
            return self.t.render(locale, key, **params)

        return render

    # ---- frame -----------------------------------------------------------------------------
    def document(self, locale: str, title: str, body: str) -> str:
        return (
            f'<!doctype html><html lang="{h.esc(locale)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{h.esc(title)}</title>"
            f'<link rel="stylesheet" href="/dashboard/static/dashboard.css"></head>'
            f"<body>{body}</body></html>"
        )

    def page(self, req: Request, title: str, content: str) -> str:
        r = self.renderer(req.locale)
        p = req.principal
        station = req.directory.stations.get(p.station_id) if p.station_id else None
        scope = (r("dash.scope.station", station=station.name) if station
                 else r("dash.scope.district"))
        other = "en" if req.locale != Locale.EN.value else Locale.ZH_CN.value
        nav = (
            f'<header><nav><a class="brand" href="/dashboard/">{h.esc(r("dash.title"))}</a>'
            f'<a href="/dashboard/">{h.esc(r("dash.nav.overview"))}</a>'
            f'<a href="/dashboard/questions">{h.esc(r("dash.nav.questions"))}</a>'
            f'<a href="/dashboard/audit">{h.esc(r("dash.nav.audit"))}</a>'
            f'<span class="who">{h.esc(r("dash.who", label=p.label, kind=r(f"dash.kind.{p.kind.value}"), scope=scope))}</span>'  # noqa: E501
            f'<a href="{h.url(req.web.path, lang=other)}" hreflang="{h.esc(other)}">'
            f'{h.esc(r("dash.lang.switch"))}</a>'
            f'<form method="post" action="/dashboard/logout"><button type="submit">'
            f'{h.esc(r("dash.nav.logout"))}</button></form></nav></header>'
        )
        return self.document(req.locale, f'{title} · {r("dash.title")}',
                             f"{nav}<main><h1>{h.esc(title)}</h1>{content}</main>")

    def login(self, locale: str, error: str | None = None, explicit: bool = False) -> str:
        r = self.renderer(locale)
        other = "en" if locale != Locale.EN.value else Locale.ZH_CN.value
        body = (
            f'<main class="login"><h1>{h.esc(r("dash.title"))}</h1>'
            + (f'<p class="error" role="alert">{h.esc(error)}</p>' if error else "")
            + f'<form method="post" action="{h.url("/dashboard/login", lang=locale if explicit else None)}">'  # noqa: E501
            f'<label for="token">{h.esc(r("dash.login.token"))}</label>'
            f'<input id="token" name="token" type="password" autocomplete="off" required '
            f'spellcheck="false">'
            f'<button type="submit">{h.esc(r("dash.login.submit"))}</button></form>'
            f'<p class="hint">{h.esc(r("dash.login.hint"))}</p>'
            f'<p><a href="{h.url("/dashboard/login", lang=other)}">'
            f'{h.esc(r("dash.lang.switch"))}</a></p></main>'
        )
        return self.document(locale, r("dash.login.title"), body)

    def refused(self, refused: Refused, locale: str) -> str:
        text = message(self.t, refused, locale)
        title = self.t.render(locale, f"dash.status.{refused.status}") if self.t.has(
            f"dash.status.{refused.status}") else str(refused.status)
        body = (f'<main class="refused"><h1>{h.esc(title)}</h1>'
                f'<p class="error" role="alert" data-errcode="{h.esc(refused.errcode)}">'
                f"{h.esc(text)}</p>"
                f'<p><a href="/dashboard/">{h.esc(self.t.render(locale, "dash.nav.overview"))}'
                f"</a></p></main>")
        return self.document(locale, title, body)

    # ---- pages -----------------------------------------------------------------------------
    def overview(self, req: Request, rows: list[tuple[Compound, CachedFigures]],
                 fmt: Formatter, every: timedelta) -> str:
        r = self.renderer(req.locale)
        total = sum_figures(f.total for _, f in rows)
        table = compounds_table(((c, f.total) for c, f in rows), req.directory)
        summary = (
            f'<section class="summary"><p class="big" data-coverage="{total.coverage:.1f}">'
            f'{h.esc(r("dash.overview.summary", enrolled=total.households_enrolled, households=total.households, coverage=f"{total.coverage:.1f}", compounds=len(rows)))}'  # noqa: E501
            f"</p>{h.meter(total.coverage)}</section>"
        )
        links = {"compound": [h.url(f"/dashboard/compounds/{h.seg(c.slug)}") for c, _ in rows]}
        oldest = min((f.at for _, f in rows), default=None)
        as_of = ""
        if oldest is not None:
            note = r("dash.as_of", at=fmt.cell(oldest), every=fmt.cell(every))
            as_of = f'<p class="note">{h.esc(note)}</p>'

        content = summary + h.table(
            table, fmt, csv_href=h.url("/api/compounds.csv", lang=req.lang_param),
            csv_label=r("dash.csv"), empty=r("dash.overview.none"), links=links,
            bars=("coverage_percent",),
        ) + as_of
        return self.page(req, r("dash.overview.title"), content)

    def compound(self, req: Request, compound: Compound, report: EnrolmentReport,
                 series: Table, fmt: Formatter, now: datetime) -> str:
        r = self.renderer(req.locale)
        f = report.total
        base = f"/api/compounds/{h.seg(compound.slug)}"
        lang = req.lang_param
        summary = (
            f'<section class="summary"><p class="big" data-coverage="{f.coverage:.1f}">'
            f'{h.esc(r("dash.compound.summary", enrolled=f.households_enrolled, households=f.households, coverage=f"{f.coverage:.1f}"))}'  # noqa: E501
            f"</p>{h.meter(f.coverage)}<p>"
            f'{h.esc(r("dash.compound.members", verified=f.verified_members, pending=f.pending_members, locked=f.locked_members, over_cap=f.over_cap_households))}'  # noqa: E501
            f"</p></section>"
        )
        buildings = h.table(
            buildings_table(report.by_building), fmt, caption=r("dash.compound.buildings"),
            csv_href=h.url(f"{base}/buildings.csv", lang=lang), csv_label=r("dash.csv"),
            empty=r("dash.compound.no_households"), bars=("coverage_percent",),
        )
        unenrolled_count = sum(len(u.flats) for u in report.unenrolled)
        visits = ""
        if req.principal.kind is PrincipalKind.OFFICER and unenrolled_count:
            visits = (f'<p><a class="visits" href="{h.url(f"/dashboard/compounds/{h.seg(compound.slug)}/visits", lang=lang)}">'  # noqa: E501
                      f'{h.esc(r("dash.visits.link"))}</a></p>')
        unenrolled = h.table(
            unenrolled_table(report), fmt,
            caption=r("dash.compound.unenrolled", count=unenrolled_count),
            csv_href=h.url(f"{base}/unenrolled.csv", lang=lang), csv_label=r("dash.csv"),
            empty=r("dash.compound.all_enrolled"),
        ) + visits
        pending = h.table(
            localise_column(pending_table(report.pending, now), fmt, "state",
                            "table.state"),
            fmt, caption=r("dash.compound.pending", count=len(report.pending)),
            csv_href=h.url(f"{base}/pending.csv", lang=lang), csv_label=r("dash.csv"),
            empty=r("dash.compound.no_pending"),
        )
        points: list[tuple[date, float]] = [
            (row[0], float(row[3])) for row in series.rows  # type: ignore[arg-type, misc]
        ]
        history = (
            f'<section class="history"><div class="table-head"><h3>'
            f'{h.esc(r("dash.compound.history"))}</h3></div>'
            + h.coverage_chart(points, r("dash.compound.history"))
            + h.table(Table(series.name, series.columns, list(reversed(series.rows))), fmt,
                      csv_href=h.url(f"{base}/snapshots.csv", lang=lang),
                      csv_label=r("dash.csv"), empty=r("dash.compound.no_history"))
            + "</section>"
        )
        station = req.directory.stations.get(compound.station_id)
        title = r("dash.compound.title", name=compound.name,
                  station=station.name if station else "—")
        return self.page(req, title, summary + buildings + unenrolled + pending + history)

    def visits(self, req: Request, compound: Compound, table: Table, fmt: Formatter,
               building: str | None) -> str:
        r = self.renderer(req.locale)
        content = (
            f'<p class="note">{h.esc(r("dash.visits.note"))}</p>'
            + h.table(table, fmt, csv_href=h.url(
                f"/api/compounds/{h.seg(compound.slug)}/visits.csv", building=building,
                lang=req.lang_param), csv_label=r("dash.csv"),
                empty=r("dash.compound.all_enrolled"))
        )
        return self.page(req, r("dash.visits.title", name=compound.name), content)

    def questions(self, req: Request, data: QuestionFigures, fmt: Formatter) -> str:
        r = self.renderer(req.locale)
        lang = req.lang_param
        week = data.week
        open_table = questions_open_table(data, fmt)
        total = Table("qcompounds", ("compound", *QFIG), [(r("dash.questions.all"), *data.total)])
        content = (
            h.table(open_table, fmt,
                    caption=r("dash.questions.open", count=data.open_total),
                    csv_href=h.url("/api/questions/open.csv", lang=lang),
                    csv_label=r("dash.csv"), empty=r("dash.questions.none_open"))
            + f'<p class="note">{h.esc(r("dash.questions.week", week=week, start=data.start.date().isoformat(), end=(data.end - timedelta(days=1)).date().isoformat()))}</p>'  # noqa: E501
            + h.table(Table("qcompounds", total.columns, [*data.compounds.rows, *total.rows]),
                      fmt, caption=r("dash.questions.by_compound"),
                      csv_href=h.url("/api/questions/compounds.csv", week=week, lang=lang),
                      csv_label=r("dash.csv"), empty=r("dash.questions.none_asked"))
            + h.table(data.staff, fmt, caption=r("dash.questions.by_staff"),
                      csv_href=h.url("/api/questions/staff.csv", week=week, lang=lang),
                      csv_label=r("dash.csv"), empty=r("dash.questions.none_answered"))
            + h.table(data.weeks, fmt,
                      caption=r("dash.questions.by_week", weeks=TREND_WEEKS),
                      csv_href=h.url("/api/questions/weeks.csv", week=week, lang=lang),
                      csv_label=r("dash.csv"), empty=r("dash.questions.none_asked"))
            + f'<p class="note">{h.esc(r("dash.questions.definitions"))}</p>'
        )
        return self.page(req, r("dash.questions.title"), content)

    def audit(self, req: Request, table: Table, fmt: Formatter, action: str | None) -> str:
        r = self.renderer(req.locale)
        content = h.table(table, fmt, csv_href=h.url(
            "/api/audit.csv", action=action, lang=req.lang_param),
            csv_label=r("dash.csv"), empty=r("dash.audit.none"))
        return self.page(req, r("dash.audit.title"), content)
