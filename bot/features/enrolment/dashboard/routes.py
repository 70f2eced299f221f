"""The dashboard's URL map and its handlers. A handler is thin: check what the request may
see, ask the read model, write to the audit table who saw which personal data, and hand the
result to the HTML page, the JSON body or the CSV file."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from linli.bot import web as web_package
from linli.bot.features.enrolment.dashboard import responses
from linli.bot.features.enrolment.dashboard.access import (
    Access,
    Refused,
    Request,
    compound_of,
    lang_param,
    refusal,
    visible,
)
from linli.bot.features.enrolment.dashboard.login import Login
from linli.bot.features.enrolment.dashboard.pages import Pages, questions_open_table, visits_table
from linli.bot.features.enrolment.dashboard.queries import QFIG, DashboardQueries
from linli.bot.features.enrolment.dashboard.responses import Csv
from linli.bot.features.enrolment.dashboard.sessions import SessionStore
from linli.bot.features.enrolment.feature import EnrolmentTracker
from linli.bot.features.enrolment.reporting import (
    FIGURE_COLUMNS,
    buildings_table,
    compounds_table,
    figure_cells,
    pending_table,
    sum_figures,
    unenrolled_table,
)
from linli.bot.tables import Formatter, Table, json_value, localise_column
from linli.common.clock import Clock
from linli.common.errors import DomainError
from linli.common.i18n import Translator
from linli.community.model import Compound, Directory
from linli.enrolment.model import PrincipalKind
from linli.enrolment.service import TokenService
from linli.storage.repos.audit import AuditEntry, AuditRepository
from linli.storage.repos.enrolment import SnapshotRepository, WebTokenRepository
from linli.storage.repos.questions import QuestionRepository
from linli.storage.repos.verification import VerificationRepository
from linli.verification.model import EnrolmentReport

log = logging.getLogger(__name__)

STATIC = Path(web_package.__file__).parent / "static"
AUDIT_LIMIT_MAX = 1000
SNAPSHOT_DAYS = 90

Handler = Callable[[Request], Awaitable[Any]]


class Dashboard:
    """Routes and the handlers behind each page; everything it reads is passed in."""

    def __init__(
        self,
        *,
        tokens: TokenService,
        token_repo: WebTokenRepository,
        tracker: EnrolmentTracker,
        registry: VerificationRepository,
        snapshots: SnapshotRepository,
        questions: QuestionRepository,
        audit: AuditRepository,
        directory: Callable[[], Directory],
        translator: Translator,
        clock: Clock,
        default_locale: str = "zh-CN",
        default_timezone: str = "Asia/Shanghai",
        session_ttl: timedelta = timedelta(hours=8),
        secure_cookies: bool = False,
        overview_max_age: timedelta = timedelta(minutes=15),
    ) -> None:
        self.audit = audit
        self.directory = directory
        self.t = translator
        self.clock = clock
        self.default_locale = default_locale
        self.default_timezone = default_timezone
        self.overview_max_age = overview_max_age
        self.queries = DashboardQueries(
            tracker=tracker, registry=registry, snapshots=snapshots, questions=questions,
            audit=audit, clock=clock, default_timezone=default_timezone,
            overview_max_age=overview_max_age,
        )
        self.pages = Pages(translator)
        sessions = SessionStore(token_repo, clock, session_ttl)
        self.access = Access(tokens, sessions, default_locale)
        self.login = Login(tokens=tokens, sessions=sessions, audit=audit, pages=self.pages,
                           default_locale=default_locale, secure_cookies=secure_cookies)
        self._css = (STATIC / "dashboard.css").read_text(encoding="utf-8")

    # ---- routes ----------------------------------------------------------------------------
    def register(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/dashboard", self._to_overview)
        r.add_get("/dashboard/static/dashboard.css", self._stylesheet)
        r.add_get("/dashboard/login", self.login.form)
        r.add_post("/dashboard/login", self.login.login)
        r.add_post("/dashboard/logout", self.login.logout)
        pages: list[tuple[str, Handler]] = [
            ("/dashboard/", self.page_overview),
            ("/dashboard/compounds/{slug}", self.page_compound),
            ("/dashboard/compounds/{slug}/visits", self.page_visits),
            ("/dashboard/questions", self.page_questions),
            ("/dashboard/audit", self.page_audit),
        ]
        for path, handler in pages:
            r.add_get(path, self._wrap(handler, "page"))
        apis: list[tuple[str, Handler]] = [
            ("/api/me", self.api_me),
            ("/api/compounds", self.api_compounds),
            ("/api/compounds/{slug}", self.api_compound),
            ("/api/compounds/{slug}/snapshots", self.api_snapshots),
            ("/api/compounds/{slug}/visits", self.api_visits),
            ("/api/questions", self.api_questions),
            ("/api/audit", self.api_audit),
        ]
        for path, handler in apis:
            r.add_get(path, self._wrap(handler, "json"))
        csvs: list[tuple[str, Handler]] = [
            ("/api/compounds.csv", self.csv_compounds),
            ("/api/compounds/{slug}/buildings.csv", self.csv_buildings),
            ("/api/compounds/{slug}/unenrolled.csv", self.csv_unenrolled),
            ("/api/compounds/{slug}/pending.csv", self.csv_pending),
            ("/api/compounds/{slug}/snapshots.csv", self.csv_snapshots),
            ("/api/compounds/{slug}/visits.csv", self.csv_visits),
            ("/api/questions/open.csv", self.csv_questions_open),
            ("/api/questions/compounds.csv", self.csv_questions_compounds),
            ("/api/questions/staff.csv", self.csv_questions_staff),
            ("/api/questions/weeks.csv", self.csv_questions_weeks),
            ("/api/audit.csv", self.csv_audit),
        ]
        for path, handler in csvs:
            r.add_get(path, self._wrap(handler, "csv"))
        r.add_route("*", "/api/{tail:.*}", self._api_unknown)

    # ---- plumbing: authentication, errors, audit -------------------------------------------
    def _wrap(
        self, handler: Handler, kind: str
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            lang = lang_param(request)
            try:
                req = await self.access.authenticate(request, lang, self.directory())
                result = await handler(req)
            except (Refused, DomainError) as exc:
                refused = refusal(exc)
                locale = lang or self.default_locale
                if kind != "page":
                    return responses.json_error(self.t, refused, locale)
                if refused.status == 401:
                    return responses.redirect("/dashboard/login")
                return responses.html(self.pages.refused(refused, locale), refused.status)
            if kind == "json":
                return responses.json_body(result)
            if kind == "csv":
                assert isinstance(result, Csv)
                return responses.csv_file(result, self._fmt(req))
            return responses.html(result)

        return run

    async def _record(self, req: Request, action: str, *, compound: Compound | None = None,
                      target: str | None = None, **details: Any) -> None:
        """Write who saw which personal data, through which door."""
        await self.audit.record(AuditEntry(
            actor=req.principal.actor,
            action=action,
            target=target or (f"compound:{compound.slug}" if compound else None),
            station_id=compound.station_id if compound else req.principal.station_id,
            compound_id=compound.id if compound else None,
            details={"via": req.via, "path": req.web.path, **details},
        ))
        req.audited.append(action)

    def _fmt(self, req: Request, timezone: str | None = None) -> Formatter:
        return Formatter(self.t, req.locale, timezone or self.default_timezone)

    async def _to_overview(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/dashboard/")

    async def _stylesheet(self, request: web.Request) -> web.StreamResponse:
        return responses.stylesheet(self._css)

    async def _api_unknown(self, request: web.Request) -> web.Response:
        return responses.json_error(
            self.t, Refused(404, "M_UNRECOGNIZED", "dash.error.no_endpoint"),
            lang_param(request) or self.default_locale)

    # ---- parameters and audited reads --------------------------------------------------------
    def _days(self, req: Request) -> int:
        raw = req.web.query.get("days", str(SNAPSHOT_DAYS))
        if not raw.isdigit() or not 1 <= int(raw) <= 3660:
            raise Refused(400, "M_INVALID_PARAM", "dash.error.days")
        return int(raw)

    async def _visits(self, req: Request, compound: Compound) -> Table:
        """The visit sheet: officers only, and every reading is audited."""
        if req.principal.kind is not PrincipalKind.OFFICER:
            raise Refused(403, "M_FORBIDDEN", "dash.error.visits_officers_only")
        building = req.web.query.get("building") or None
        flats = await self.queries.visits(compound, building)
        table = visits_table(flats, self.pages.renderer(req.locale))
        await self._record(req, "dashboard.visits", compound=compound, building=building,
                           households=len(flats), people=sum(len(v.people) for v in flats))
        return table

    async def _audit_log(self, req: Request) -> Table:
        raw = req.web.query.get("limit", "200")
        if not raw.isdigit() or not 1 <= int(raw) <= AUDIT_LIMIT_MAX:
            raise Refused(400, "M_INVALID_PARAM", "dash.error.limit", max=AUDIT_LIMIT_MAX)
        action = req.web.query.get("action") or None
        scope = None if req.principal.station_id is None else {int(req.principal.station_id)}
        table = await self.queries.audit_log(int(raw), scope, action, req.directory)
        await self._record(req, "dashboard.audit", action_filter=action, rows=len(table.rows))
        return table

    async def _compound_report(self, req: Request, compound: Compound) -> EnrolmentReport:
        report = await self.queries.report(compound)
        await self._record(req, "dashboard.compound", compound=compound,
                           pending=len(report.pending),
                           unenrolled=sum(len(u.flats) for u in report.unenrolled))
        return report

    def _compound_json(self, req: Request, c: Compound, f: Any) -> dict[str, Any]:
        station = req.directory.stations.get(c.station_id)
        return {
            "slug": c.slug,
            "name": c.name,
            "station": station.slug if station else None,
            "station_name": station.name if station else None,
            **dict(zip(FIGURE_COLUMNS, figure_cells(f), strict=True)),
        }

    # ---- JSON API ------------------------------------------------------------------------------
    async def api_me(self, req: Request) -> dict[str, Any]:
        p = req.principal
        station = req.directory.stations.get(p.station_id) if p.station_id else None
        return {
            "token_id": p.token_id,
            "kind": p.kind.value,
            "label": p.label,
            "station": station.slug if station else None,
            "compounds": [c.slug for c in visible(req)],
            "locale": req.locale,
        }

    async def api_compounds(self, req: Request) -> dict[str, Any]:
        rows = await self.queries.overview(visible(req))
        total = sum_figures(f.total for _, f in rows)
        return {
            "total": dict(zip(FIGURE_COLUMNS, figure_cells(total), strict=True)),
            "compounds": [
                {**self._compound_json(req, c, f.total), "as_of": f.at.isoformat()}
                for c, f in rows
            ],
        }

    async def api_compound(self, req: Request) -> dict[str, Any]:
        compound = compound_of(req)
        report = await self._compound_report(req, compound)
        now = self.clock.now()
        return {
            "compound": self._compound_json(req, compound, report.total),
            "buildings": buildings_table(report.by_building).records(),
            "pending": pending_table(report.pending, now).records(),
            "unenrolled": unenrolled_table(report).records(),
        }

    async def api_snapshots(self, req: Request) -> dict[str, Any]:
        compound = compound_of(req)
        table = await self.queries.snapshot_series(compound, self._days(req))
        return {"compound": compound.slug, "snapshots": table.records()}

    async def api_visits(self, req: Request) -> dict[str, Any]:
        compound = compound_of(req)
        table = await self._visits(req, compound)
        return {"compound": compound.slug, "households": table.records()}

    async def api_questions(self, req: Request) -> dict[str, Any]:
        data = await self.queries.question_figures(visible(req), req.web.query.get("week"),
                                                   req.directory)
        return {
            "week": data.week,
            "start": data.start.isoformat(),
            "end": data.end.isoformat(),
            "open_total": data.open_total,
            "open": data.open.records(),
            "total": {k: json_value(v) for k, v in zip(QFIG, data.total, strict=True)},
            "compounds": data.compounds.records(),
            "staff": data.staff.records(),
            "weeks": data.weeks.records(),
        }

    async def api_audit(self, req: Request) -> dict[str, Any]:
        table = await self._audit_log(req)
        records = table.records()
        for r in records:
            if r["details"]:
                r["details"] = json.loads(r["details"])
        return {"entries": records}

    # ---- CSV -------------------------------------------------------------------------------
    async def csv_compounds(self, req: Request) -> Csv:
        rows = await self.queries.overview(visible(req))
        return Csv("compounds.csv", compounds_table(((c, f.total) for c, f in rows),
                                                   req.directory))

    async def csv_buildings(self, req: Request) -> Csv:
        compound = compound_of(req)
        report = await self.queries.report(compound)
        return Csv(f"{compound.slug}-buildings.csv", buildings_table(report.by_building))

    async def csv_unenrolled(self, req: Request) -> Csv:
        compound = compound_of(req)
        report = await self.queries.report(compound)
        await self._record(req, "dashboard.unenrolled", compound=compound,
                           unenrolled=sum(len(u.flats) for u in report.unenrolled))
        return Csv(f"{compound.slug}-unenrolled.csv", unenrolled_table(report))

    async def csv_pending(self, req: Request) -> Csv:
        compound = compound_of(req)
        report = await self.queries.report(compound)
        await self._record(req, "dashboard.pending", compound=compound,
                           pending=len(report.pending))
        table = pending_table(report.pending, self.clock.now())
        return Csv(f"{compound.slug}-pending.csv",
                   localise_column(table, self._fmt(req), "state", "table.state"))

    async def csv_snapshots(self, req: Request) -> Csv:
        compound = compound_of(req)
        return Csv(f"{compound.slug}-coverage.csv",
                   await self.queries.snapshot_series(compound, self._days(req)))

    async def csv_visits(self, req: Request) -> Csv:
        compound = compound_of(req)
        return Csv(f"{compound.slug}-visits.csv", await self._visits(req, compound))

    async def _questions_csv(self, req: Request, part: str) -> Csv:
        data = await self.queries.question_figures(visible(req), req.web.query.get("week"),
                                                   req.directory)
        table = (questions_open_table(data, self._fmt(req, data.tz)) if part == "open"
                 else data.part(part))
        return Csv(f"questions-{part}-{data.week}.csv", table)

    async def csv_questions_open(self, req: Request) -> Csv:
        return await self._questions_csv(req, "open")

    async def csv_questions_compounds(self, req: Request) -> Csv:
        return await self._questions_csv(req, "compounds")

    async def csv_questions_staff(self, req: Request) -> Csv:
        return await self._questions_csv(req, "staff")

    async def csv_questions_weeks(self, req: Request) -> Csv:
        return await self._questions_csv(req, "weeks")

    async def csv_audit(self, req: Request) -> Csv:
        return Csv("audit.csv", await self._audit_log(req))

    # ---- pages -----------------------------------------------------------------------------
    async def page_overview(self, req: Request) -> str:
        rows = await self.queries.overview(visible(req))
        return self.pages.overview(req, rows, self._fmt(req), self.overview_max_age)

    async def page_compound(self, req: Request) -> str:
        compound = compound_of(req)
        report = await self._compound_report(req, compound)
        series = await self.queries.snapshot_series(compound, SNAPSHOT_DAYS)
        return self.pages.compound(req, compound, report, series,
                                   self._fmt(req, compound.timezone), self.clock.now())

    async def page_visits(self, req: Request) -> str:
        compound = compound_of(req)
        table = await self._visits(req, compound)
        return self.pages.visits(req, compound, table, self._fmt(req, compound.timezone),
                                 req.web.query.get("building") or None)

    async def page_questions(self, req: Request) -> str:
        data = await self.queries.question_figures(visible(req), req.web.query.get("week"),
                                                   req.directory)
        return self.pages.questions(req, data, self._fmt(req, data.tz))

    async def page_audit(self, req: Request) -> str:
        table = await self._audit_log(req)
        return self.pages.audit(req, table, self._fmt(req), req.web.query.get("action") or None)
