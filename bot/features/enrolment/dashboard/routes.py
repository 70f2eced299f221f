"""The admin dashboard and its JSON API, served by the bot's aiohttp app when ``web.dashboard``
is on (off by default; the web app binds 127.0.0.1 by default).

Access is by the tokens of ``linli tokens create``: pages use a login form that trades the
token for a random session id in an HttpOnly, SameSite=Strict cookie (the token itself never
travels again and never appears in a URL); the API also takes ``Authorization: Bearer``.
An officer's token (or a station admin's) sees only that station's compounds; another
station's compound answers 404 exactly as a slug that does not exist, so probing cannot list
compounds. Other refusals are 403 ``{"errcode", "error"}``.

Personal data shown, and where:
- the overview, buildings, coverage over time and response-time figures are counts only;
- a compound page lists the flats where nobody is enrolled (addresses, no names) and the
  Matrix ids of accounts waiting to verify (no names);
- the visit sheet (officers only) adds the full names of the people registered in those
  flats, because an officer going door to door has to ask for someone by name; it never
  shows phone numbers or notes;
- the audit log names actors and targets by Matrix id.
Each page, API call or CSV export that shows any of these is written to the audit table with
the token as the actor. Phone numbers are never shown anywhere.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from linli.bot import web as web_package
from linli.bot.features.enrolment.feature import CachedFigures, EnrolmentTracker
from linli.bot.features.enrolment.reporting import (
    FIGURE_COLUMNS,
    buildings_table,
    compounds_table,
    figure_cells,
    pending_table,
    snapshots_table,
    sum_figures,
    unenrolled_table,
)
from linli.bot.tables import Cell, Formatter, Table, json_value, localise_column, render_csv
from linli.bot.web import html as h
from linli.common.clock import Clock
from linli.common.errors import DomainError, NotFound, PermissionDenied
from linli.common.i18n import Locale, Translator, parse_locale
from linli.community.model import Compound, Directory
from linli.enrolment.model import Principal, PrincipalKind, hash_token
from linli.enrolment.service import TokenService
from linli.questions import stats
from linli.questions.model import FlagLevel, FlagStatus, Question
from linli.storage.repos.audit import AuditEntry, AuditRepository
from linli.storage.repos.enrolment import SnapshotRepository, WebTokenRepository
from linli.storage.repos.questions import QuestionRepository
from linli.storage.repos.verification import VerificationRepository

log = logging.getLogger(__name__)

COOKIE = "linli_session"
STATIC = Path(web_package.__file__).parent / "static"
MAX_SESSIONS = 10_000
OPEN_LIMIT = 200
AUDIT_LIMIT_MAX = 1000
TREND_WEEKS = 8
SNAPSHOT_DAYS = 90
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class _Refused(Exception):
    """An HTTP refusal rendered as JSON for the API and as a page (or a redirect) otherwise."""

    def __init__(self, status: int, errcode: str, key: str, **params: Any) -> None:
        super().__init__(errcode)
        self.status = status
        self.errcode = errcode
        self.key = key
        self.params = params


@dataclass
class Session:
    id: str
    token_hash: str
    principal: Principal
    expires_at: datetime
    lang: str | None = None


@dataclass
class Request:
    """One authenticated request: who, in which language, with which formatter."""

    web: web.Request
    principal: Principal
    locale: str
    session: Session | None
    directory: Directory
    lang_param: str | None = None
    audited: list[str] = field(default_factory=list)

    @property
    def via(self) -> str:
        if self.web.path.endswith(".csv"):
            return "csv"
        return "api" if self.web.path.startswith("/api/") else "page"


@dataclass(frozen=True)
class Csv:
    filename: str
    table: Table


Handler = Callable[[Request], Awaitable[Any]]


class Dashboard:
    """Routes, sessions and the figures behind each page; everything it reads is passed in."""

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
        self.tokens = tokens
        self.token_repo = token_repo
        self.tracker = tracker
        self.registry = registry
        self.snapshots = snapshots
        self.questions = questions
        self.audit = audit
        self.directory = directory
        self.t = translator
        self.clock = clock
        self.default_locale = default_locale
        self.default_timezone = default_timezone
        self.session_ttl = session_ttl
        self.secure_cookies = secure_cookies
        self.overview_max_age = overview_max_age
        self._sessions: dict[str, Session] = {}
        self._css = (STATIC / "dashboard.css").read_text(encoding="utf-8")

    # ---- routes ----------------------------------------------------------------------------
    def register(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/dashboard", self._to_overview)
        r.add_get("/dashboard/static/dashboard.css", self._stylesheet)
        r.add_get("/dashboard/login", self._login_form)
        r.add_post("/dashboard/login", self._login)
        r.add_post("/dashboard/logout", self._logout)
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

    # ---- plumbing: authentication, language, errors, audit ---------------------------------
    def _wrap(
        self, handler: Handler, kind: str
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            lang_param = self._lang_param(request)
            try:
                req = await self._authenticate(request, lang_param)
                result = await handler(req)
            except (_Refused, DomainError) as exc:
                refused = self._refusal(exc)
                locale = lang_param or self.default_locale
                if kind != "page":
                    return self._json_error(refused, locale)
                if refused.status == 401:
                    return self._redirect_to_login(request)
                return self._error_page(refused, locale, request)
            if kind == "json":
                return self._respond(web.json_response(result, dumps=_dumps))
            if kind == "csv":
                assert isinstance(result, Csv)
                fmt = self._fmt(req)
                body = "\ufeff" + render_csv(result.table, fmt)  # the BOM lets Excel read UTF-8
                resp = web.Response(text=body, content_type="text/csv", charset="utf-8")
                resp.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
                return self._respond(resp)
            return self._respond(web.Response(text=result, content_type="text/html",
                                              charset="utf-8"))

        return run

    def _respond(self, resp: web.StreamResponse) -> web.StreamResponse:
        resp.headers.update(SECURITY_HEADERS)
        return resp

    @staticmethod
    def _refusal(exc: _Refused | DomainError) -> _Refused:
        if isinstance(exc, _Refused):
            return exc
        if isinstance(exc, PermissionDenied):
            return _Refused(403, "M_FORBIDDEN", exc.key, **exc.params)
        if isinstance(exc, NotFound):
            return _Refused(404, "M_NOT_FOUND", exc.key, **exc.params)
        return _Refused(400, "M_INVALID_PARAM", exc.key, **exc.params)

    def _message(self, refused: _Refused, locale: str) -> str:
        if self.t.has(refused.key):
            return self.t.render(locale, refused.key, **refused.params)
        return refused.key

    def _json_error(self, refused: _Refused, locale: str) -> web.Response:
        resp = web.json_response(
            {"errcode": refused.errcode, "error": self._message(refused, locale)},
            status=refused.status,
        )
        if refused.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="linli"'
        return self._respond(resp)  # type: ignore[return-value]

    @staticmethod
    def _lang_param(request: web.Request) -> str | None:
        raw = request.query.get("lang")
        if not raw:
            return None
        try:
            return parse_locale(raw).value
        except ValueError:
            return None

    def _locale_for(self, principal: Principal | None, session: Session | None,
                    lang_param: str | None, directory: Directory) -> str:
        if lang_param:
            return lang_param
        if session is not None and session.lang:
            return session.lang
        if principal is not None and principal.station_id is not None:
            station = directory.stations.get(principal.station_id)
            if station is not None:
                return station.locale
        return self.default_locale

    async def _authenticate(self, request: web.Request, lang_param: str | None) -> Request:
        directory = self.directory()
        auth = request.headers.get("Authorization")
        session: Session | None = None
        if auth is not None:
            scheme, _, secret = auth.strip().partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise _Refused(401, "M_MISSING_TOKEN", "dash.error.no_token")
            try:
                principal = await self.tokens.authenticate(secret.strip())
            except PermissionDenied:
                raise _Refused(401, "M_UNKNOWN_TOKEN", "error.token_invalid") from None
        else:
            session = await self._session(request)
            if session is None:
                raise _Refused(401, "M_MISSING_TOKEN", "dash.error.no_token")
            principal = session.principal
            if lang_param:
                session.lang = lang_param
        locale = self._locale_for(principal, session, lang_param, directory)
        return Request(request, principal, locale, session, directory, lang_param)

    async def _session(self, request: web.Request) -> Session | None:
        sid = request.cookies.get(COOKIE)
        if not sid:
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        if session.expires_at <= self.clock.now():
            del self._sessions[sid]
            return None
        token = await self.token_repo.by_hash(session.token_hash)
        if token is None or not token.active:  # revoked since the login
            del self._sessions[sid]
            return None
        return session

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

    def _r(self, req: Request, key: str, **params: Any) -> str:
        return self.t.render(req.locale, key, **params)

    def _renderer(self, locale: str) -> Callable[..., str]:
        def render(key: str, **params: Any) -> str:
            return self.t.render(locale, key, **params)

        return render

    # ---- scope -----------------------------------------------------------------------------
    def visible(self, req: Request) -> list[Compound]:
        return sorted(
            (c for c in req.directory.compounds.values()
             if req.principal.may_see_station(c.station_id)),
            key=lambda c: c.slug,
        )

    def compound(self, req: Request) -> Compound:
        slug = req.web.match_info["slug"]
        compound = req.directory.compound_by_slug(slug)
        if compound is not None and not req.principal.may_see_station(compound.station_id):
            log.info("dashboard: token %d refused compound %d of another station",
                     req.principal.token_id, compound.id)
            compound = None
        if compound is None:
            # Another station's compound answers as one that does not exist: a token cannot
            # learn which slugs exist by probing.
            raise _Refused(404, "M_NOT_FOUND", "dash.error.no_compound", slug=slug[:80])
        return compound

    # ---- data --------------------------------------------------------------------------------
    async def overview_figures(self, req: Request) -> list[tuple[Compound, CachedFigures]]:
        compounds = self.visible(req)
        figures = await self.tracker.figures(compounds, self.overview_max_age)
        return [(c, figures[c.id]) for c in compounds]

    async def snapshot_series(self, compound: Compound, days: int) -> Table:
        start = (self.clock.now() - timedelta(days=days)).date()
        series = await self.snapshots.series([compound.id], start=start)
        return snapshots_table(series.get(compound.id, []))

    def _days(self, req: Request) -> int:
        raw = req.web.query.get("days", str(SNAPSHOT_DAYS))
        if not raw.isdigit() or not 1 <= int(raw) <= 3660:
            raise _Refused(400, "M_INVALID_PARAM", "dash.error.days")
        return int(raw)

    async def visits_table(self, req: Request, compound: Compound) -> Table:
        """Un-enrolled households with the names of the people registered there (officers
        only; no phone numbers, no notes), optionally for one building."""
        if req.principal.kind is not PrincipalKind.OFFICER:
            raise _Refused(403, "M_FORBIDDEN", "dash.error.visits_officers_only")
        building = req.web.query.get("building") or None
        report = await self.tracker.report(compound)
        units = [u for u in report.unenrolled if building is None or u.building == building]
        wanted = {(u.building, u.unit, flat) for u in units for flat in u.flats}
        with_code = await self.registry.households_with_live_code(compound.id)
        people: dict[tuple[str, str, str], list[str]] = {}
        has_code: dict[tuple[str, str, str], bool] = {}
        for entry in await self.registry.registry(compound.id):
            hh = entry.household
            key = (hh.building, hh.unit, hh.flat)
            if key not in wanted:
                continue
            role = self._r(req, f"dash.role.{entry.person.role.value}")
            people.setdefault(key, []).append(
                self._r(req, "dash.person", name=entry.person.name, role=role)
            )
            has_code[key] = hh.id in with_code
        rows: list[tuple[Cell, ...]] = []
        for u in units:
            for flat in u.flats:
                key = (u.building, u.unit, flat)
                rows.append((u.building, u.unit or None, flat, tuple(people.get(key, ())),
                             has_code.get(key, False)))
        table = Table("visits", ("building", "unit", "flat", "people", "has_code"), rows)
        await self._record(req, "dashboard.visits", compound=compound, building=building,
                           households=len(rows), people=sum(len(p) for p in people.values()))
        return table

    async def questions_data(self, req: Request) -> dict[str, Any]:
        compounds = self.visible(req)
        ids = [c.id for c in compounds]
        names = {c.id: c.name for c in compounds}
        tz = compounds[0].timezone if compounds else self.default_timezone
        now = self.clock.now()
        try:
            week = stats.resolve_week(req.web.query.get("week"), now, tz)
        except ValueError:
            raise _Refused(400, "M_INVALID_PARAM", "dash.error.week") from None
        start, end = stats.week_bounds(week, tz)
        open_, open_total = await self.questions.open_in_compounds(ids, OPEN_LIMIT)
        asked = await self.questions.asked_between(ids, start, end) if ids else []
        trend_start = start - timedelta(weeks=TREND_WEEKS - 1)
        history = await self.questions.asked_between(ids, trend_start, end) if ids else []
        staff_names: dict[str, str] = {
            str(g.user_id): g.display_name for g in req.directory.grants if g.display_name
        }
        open_rows: list[tuple[Cell, ...]] = [
            (names.get(q.compound_id, str(q.compound_id)), q.topic, q.urgent, q.asked_at,
             now - q.asked_at, q.due_at, _flag_level(q), q.link)
            for q in open_
        ]
        by_compound = stats.by_compound(asked, now)
        by_staff = stats.by_staff(asked, now)
        by_week = stats.by_week(history, tz, now)
        return {
            "week": week,
            "start": start,
            "end": end,
            "tz": tz,
            "open_total": open_total,
            "open": Table("qopen", ("compound", "topic", "urgent", "asked_at", "waiting",
                                    "due_at", "flagged", "link"), open_rows),
            "total": _figures_row(stats.figures(asked, now)),
            "compounds": Table("qcompounds", ("compound", *QFIG), [
                (names.get(c.id, c.slug), *_figures_row(by_compound[c.id]))
                for c in compounds if c.id in by_compound
            ]),
            "staff": Table("qstaff", ("staff", *QFIG), [
                (staff_names.get(str(k), str(k)), *_figures_row(f))
                for k, f in sorted(by_staff.items(), key=lambda kv: str(kv[0]))
            ]),
            "weeks": Table("qweeks", ("week", *QFIG), [
                (str(k), *_figures_row(f)) for k, f in sorted(by_week.items(), key=lambda kv:
                                                              str(kv[0]))
            ]),
        }

    async def audit_table(self, req: Request) -> Table:
        raw = req.web.query.get("limit", "200")
        if not raw.isdigit() or not 1 <= int(raw) <= AUDIT_LIMIT_MAX:
            raise _Refused(400, "M_INVALID_PARAM", "dash.error.limit", max=AUDIT_LIMIT_MAX)
        action = req.web.query.get("action") or None
        scope = None if req.principal.station_id is None else {int(req.principal.station_id)}
        entries = await self.audit.recent(int(raw), station_ids=scope, action=action)
        slugs: dict[int, str] = {c.id: c.slug for c in req.directory.compounds.values()}
        rows: list[tuple[Cell, ...]] = [
            (e.at, e.actor, e.action, e.target,
             slugs.get(e.compound_id) if e.compound_id is not None else None,
             json.dumps(e.details, ensure_ascii=False, sort_keys=True) if e.details else None)
            for e in entries
        ]
        await self._record(req, "dashboard.audit", action_filter=action, rows=len(rows))
        return Table("audit", ("at", "actor", "action", "target", "compound", "details"), rows)

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
            "compounds": [c.slug for c in self.visible(req)],
            "locale": req.locale,
        }

    async def api_compounds(self, req: Request) -> dict[str, Any]:
        rows = await self.overview_figures(req)
        total = sum_figures(f.total for _, f in rows)
        return {
            "total": dict(zip(FIGURE_COLUMNS, figure_cells(total), strict=True)),
            "compounds": [
                {**self._compound_json(req, c, f.total), "as_of": f.at.isoformat()}
                for c, f in rows
            ],
        }

    async def api_compound(self, req: Request) -> dict[str, Any]:
        compound = self.compound(req)
        report = await self.tracker.report(compound)
        await self._record(req, "dashboard.compound", compound=compound,
                           pending=len(report.pending),
                           unenrolled=sum(len(u.flats) for u in report.unenrolled))
        now = self.clock.now()
        return {
            "compound": self._compound_json(req, compound, report.total),
            "buildings": buildings_table(report.by_building).records(),
            "pending": pending_table(report.pending, now).records(),
            "unenrolled": unenrolled_table(report).records(),
        }

    async def api_snapshots(self, req: Request) -> dict[str, Any]:
        compound = self.compound(req)
        table = await self.snapshot_series(compound, self._days(req))
        return {"compound": compound.slug, "snapshots": table.records()}

    async def api_visits(self, req: Request) -> dict[str, Any]:
        compound = self.compound(req)
        table = await self.visits_table(req, compound)
        return {"compound": compound.slug, "households": table.records()}

    async def api_questions(self, req: Request) -> dict[str, Any]:
        data = await self.questions_data(req)
        return {
            "week": data["week"],
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
            "open_total": data["open_total"],
            "open": data["open"].records(),
            "total": {k: json_value(v) for k, v in zip(QFIG, data["total"], strict=True)},
            "compounds": data["compounds"].records(),
            "staff": data["staff"].records(),
            "weeks": data["weeks"].records(),
        }

    async def api_audit(self, req: Request) -> dict[str, Any]:
        table = await self.audit_table(req)
        records = table.records()
        for r in records:
            if r["details"]:
                r["details"] = json.loads(r["details"])
        return {"entries": records}

    async def _api_unknown(self, request: web.Request) -> web.Response:
        return self._json_error(_Refused(404, "M_UNRECOGNIZED", "dash.error.no_endpoint"),
                                self._lang_param(request) or self.default_locale)

    # ---- CSV -------------------------------------------------------------------------------
    async def csv_compounds(self, req: Request) -> Csv:
        rows = await self.overview_figures(req)
        return Csv("compounds.csv", compounds_table(((c, f.total) for c, f in rows),
                                                   req.directory))

    async def csv_buildings(self, req: Request) -> Csv:
        compound = self.compound(req)
        report = await self.tracker.report(compound)
        return Csv(f"{compound.slug}-buildings.csv", buildings_table(report.by_building))

    async def csv_unenrolled(self, req: Request) -> Csv:
        compound = self.compound(req)
        report = await self.tracker.report(compound)
        await self._record(req, "dashboard.unenrolled", compound=compound,
                           unenrolled=sum(len(u.flats) for u in report.unenrolled))
        return Csv(f"{compound.slug}-unenrolled.csv", unenrolled_table(report))

    async def csv_pending(self, req: Request) -> Csv:
        compound = self.compound(req)
        report = await self.tracker.report(compound)
        await self._record(req, "dashboard.pending", compound=compound,
                           pending=len(report.pending))
        table = pending_table(report.pending, self.clock.now())
        return Csv(f"{compound.slug}-pending.csv",
                   localise_column(table, self._fmt(req), "state", "table.state"))

    async def csv_snapshots(self, req: Request) -> Csv:
        compound = self.compound(req)
        return Csv(f"{compound.slug}-coverage.csv",
                   await self.snapshot_series(compound, self._days(req)))

    async def csv_visits(self, req: Request) -> Csv:
        compound = self.compound(req)
        return Csv(f"{compound.slug}-visits.csv", await self.visits_table(req, compound))

    async def _questions_csv(self, req: Request, part: str) -> Csv:
        data = await self.questions_data(req)
        table: Table = data[part]
        if part == "open":
            fmt = self._fmt(req, data["tz"])
            table = localise_column(table, fmt, "topic", "question.topic")
            table = localise_column(table, fmt, "flagged", "table.flag")
        return Csv(f"questions-{part}-{data['week']}.csv", table)

    async def csv_questions_open(self, req: Request) -> Csv:
        return await self._questions_csv(req, "open")

    async def csv_questions_compounds(self, req: Request) -> Csv:
        return await self._questions_csv(req, "compounds")

    async def csv_questions_staff(self, req: Request) -> Csv:
        return await self._questions_csv(req, "staff")

    async def csv_questions_weeks(self, req: Request) -> Csv:
        return await self._questions_csv(req, "weeks")

    async def csv_audit(self, req: Request) -> Csv:
        return Csv("audit.csv", await self.audit_table(req))

    # ---- login -----------------------------------------------------------------------------
    async def _to_overview(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/dashboard/")

    async def _stylesheet(self, request: web.Request) -> web.StreamResponse:
        resp = web.Response(text=self._css, content_type="text/css", charset="utf-8")
        resp.headers.update(SECURITY_HEADERS)
        resp.headers["Cache-Control"] = "max-age=3600"
        return resp

    def _redirect_to_login(self, request: web.Request) -> web.Response:
        resp = web.Response(status=303, headers={"Location": "/dashboard/login"})
        return self._respond(resp)  # type: ignore[return-value]

    def _login_page(
        self, locale: str, error: str | None = None, status: int = 200,
        explicit: bool = False,
    ) -> web.Response:
        r = self._renderer(locale)
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
        page = self._document(locale, r("dash.login.title"), body)
        return self._respond(  # type: ignore[return-value]
            web.Response(text=page, content_type="text/html", charset="utf-8", status=status)
        )

    async def _login_form(self, request: web.Request) -> web.StreamResponse:
        lang = self._lang_param(request)
        return self._login_page(lang or self.default_locale, explicit=lang is not None)

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        """A form post from our own pages (or a tool that sends no browser headers), not from
        another site. The session cookie is SameSite=Strict as well; this is a second lock."""
        fetch_site = request.headers.get("Sec-Fetch-Site")
        if fetch_site is not None:
            return fetch_site in ("same-origin", "none")
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        return urlparse(origin).netloc == request.host

    async def _login(self, request: web.Request) -> web.StreamResponse:
        lang = self._lang_param(request)
        locale = lang or self.default_locale
        if not self._same_origin(request):
            return self._login_page(locale, self.t.render(locale, "dash.error.origin"), 403,
                                    lang is not None)
        form = await request.post()
        secret = str(form.get("token", "")).strip()
        try:
            principal = await self.tokens.authenticate(secret)
        except PermissionDenied:
            log.info("dashboard login refused (invalid or revoked token)")
            return self._login_page(locale, self.t.render(locale, "error.token_invalid"), 401,
                                    lang is not None)
        now = self.clock.now()
        self._prune(now)
        session = Session(secrets.token_urlsafe(32), hash_token(secret), principal,
                          now + self.session_ttl, lang)
        self._sessions[session.id] = session
        await self.audit.record(AuditEntry(
            actor=principal.actor, action="dashboard.login", target=None,
            station_id=principal.station_id, details={"label": principal.label},
        ))
        log.info("dashboard login by token %d", principal.token_id)
        resp = web.Response(status=303, headers={"Location": "/dashboard/"})
        resp.set_cookie(
            COOKIE, session.id, max_age=int(self.session_ttl.total_seconds()), path="/",
            httponly=True, samesite="Strict", secure=self.secure_cookies,
        )
        return self._respond(resp)

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        if not self._same_origin(request):
            raise web.HTTPForbidden()
        sid = request.cookies.get(COOKIE)
        if sid:
            self._sessions.pop(sid, None)
        resp = web.Response(status=303, headers={"Location": "/dashboard/login"})
        resp.del_cookie(COOKIE, path="/")
        return self._respond(resp)

    def _prune(self, now: datetime) -> None:
        for sid in [s for s, v in self._sessions.items() if v.expires_at <= now]:
            del self._sessions[sid]
        while len(self._sessions) >= MAX_SESSIONS:  # oldest first: dicts keep insertion order
            del self._sessions[next(iter(self._sessions))]

    # ---- pages -----------------------------------------------------------------------------
    def _document(self, locale: str, title: str, body: str) -> str:
        return (
            f'<!doctype html><html lang="{h.esc(locale)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{h.esc(title)}</title>"
            f'<link rel="stylesheet" href="/dashboard/static/dashboard.css"></head>'
            f"<body>{body}</body></html>"
        )

    def _page(self, req: Request, title: str, content: str) -> str:
        r = self._renderer(req.locale)
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
        return self._document(req.locale, f'{title} · {r("dash.title")}',
                              f"{nav}<main><h1>{h.esc(title)}</h1>{content}</main>")

    def _error_page(self, refused: _Refused, locale: str, request: web.Request) -> web.Response:
        message = self._message(refused, locale)
        title = self.t.render(locale, f"dash.status.{refused.status}") if self.t.has(
            f"dash.status.{refused.status}") else str(refused.status)
        body = (f'<main class="refused"><h1>{h.esc(title)}</h1>'
                f'<p class="error" role="alert" data-errcode="{h.esc(refused.errcode)}">'
                f"{h.esc(message)}</p>"
                f'<p><a href="/dashboard/">{h.esc(self.t.render(locale, "dash.nav.overview"))}'
                f"</a></p></main>")
        resp = web.Response(text=self._document(locale, title, body), content_type="text/html",
                            charset="utf-8", status=refused.status)
        return self._respond(resp)  # type: ignore[return-value]

    async def page_overview(self, req: Request) -> str:
        r = self._renderer(req.locale)
        rows = await self.overview_figures(req)
        total = sum_figures(f.total for _, f in rows)
        table = compounds_table(((c, f.total) for c, f in rows), req.directory)
        fmt = self._fmt(req)
        summary = (
            f'<section class="summary"><p class="big" data-coverage="{total.coverage:.1f}">'
            f'{h.esc(r("dash.overview.summary", enrolled=total.households_enrolled, households=total.households, coverage=f"{total.coverage:.1f}", compounds=len(rows)))}'  # noqa: E501
            f"</p>{h.meter(total.coverage)}</section>"
        )
        links = {"compound": [h.url(f"/dashboard/compounds/{h.seg(c.slug)}") for c, _ in rows]}
        oldest = min((f.at for _, f in rows), default=None)
        as_of = ""
        if oldest is not None:
            note = r("dash.as_of", at=fmt.cell(oldest), every=fmt.cell(self.overview_max_age))
            as_of = f'<p class="note">{h.esc(note)}</p>'

        content = summary + h.table(
            table, fmt, csv_href=h.url("/api/compounds.csv", lang=req.lang_param),
            csv_label=r("dash.csv"), empty=r("dash.overview.none"), links=links,
            bars=("coverage_percent",),
        ) + as_of
        return self._page(req, r("dash.overview.title"), content)

    async def page_compound(self, req: Request) -> str:
        r = self._renderer(req.locale)
        compound = self.compound(req)
        report = await self.tracker.report(compound)
        await self._record(req, "dashboard.compound", compound=compound,
                           pending=len(report.pending),
                           unenrolled=sum(len(u.flats) for u in report.unenrolled))
        fmt = self._fmt(req, compound.timezone)
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
            localise_column(pending_table(report.pending, self.clock.now()), fmt, "state",
                            "table.state"),
            fmt, caption=r("dash.compound.pending", count=len(report.pending)),
            csv_href=h.url(f"{base}/pending.csv", lang=lang), csv_label=r("dash.csv"),
            empty=r("dash.compound.no_pending"),
        )
        series = await self.snapshot_series(compound, SNAPSHOT_DAYS)
        points = [(row[0], float(row[3])) for row in series.rows]  # type: ignore[arg-type]
        history = (
            f'<section class="history"><div class="table-head"><h3>'
            f'{h.esc(r("dash.compound.history"))}</h3></div>'
            + h.coverage_chart(points, r("dash.compound.history"))  # type: ignore[arg-type]
            + h.table(Table(series.name, series.columns, list(reversed(series.rows))), fmt,
                      csv_href=h.url(f"{base}/snapshots.csv", lang=lang),
                      csv_label=r("dash.csv"), empty=r("dash.compound.no_history"))
            + "</section>"
        )
        station = req.directory.stations.get(compound.station_id)
        title = r("dash.compound.title", name=compound.name,
                  station=station.name if station else "—")
        return self._page(req, title, summary + buildings + unenrolled + pending + history)

    async def page_visits(self, req: Request) -> str:
        r = self._renderer(req.locale)
        compound = self.compound(req)
        table = await self.visits_table(req, compound)
        fmt = self._fmt(req, compound.timezone)
        building = req.web.query.get("building") or None
        content = (
            f'<p class="note">{h.esc(r("dash.visits.note"))}</p>'
            + h.table(table, fmt, csv_href=h.url(
                f"/api/compounds/{h.seg(compound.slug)}/visits.csv", building=building,
                lang=req.lang_param), csv_label=r("dash.csv"),
                empty=r("dash.compound.all_enrolled"))
        )
        return self._page(req, r("dash.visits.title", name=compound.name), content)

    async def page_questions(self, req: Request) -> str:
        r = self._renderer(req.locale)
        data = await self.questions_data(req)
        fmt = self._fmt(req, data["tz"])
        lang = req.lang_param
        week = data["week"]
        open_table = localise_column(
            localise_column(data["open"], fmt, "topic", "question.topic"),
            fmt, "flagged", "table.flag",
        )
        total = Table("qcompounds", ("compound", *QFIG),
                      [(r("dash.questions.all"), *data["total"])])
        content = (
            h.table(open_table, fmt,
                    caption=r("dash.questions.open", count=data["open_total"]),
                    csv_href=h.url("/api/questions/open.csv", lang=lang),
                    csv_label=r("dash.csv"), empty=r("dash.questions.none_open"))
            + f'<p class="note">{h.esc(r("dash.questions.week", week=week, start=data["start"].date().isoformat(), end=(data["end"] - timedelta(days=1)).date().isoformat()))}</p>'  # noqa: E501
            + h.table(Table("qcompounds", total.columns, [*data["compounds"].rows, *total.rows]),
                      fmt, caption=r("dash.questions.by_compound"),
                      csv_href=h.url("/api/questions/compounds.csv", week=week, lang=lang),
                      csv_label=r("dash.csv"), empty=r("dash.questions.none_asked"))
            + h.table(data["staff"], fmt, caption=r("dash.questions.by_staff"),
                      csv_href=h.url("/api/questions/staff.csv", week=week, lang=lang),
                      csv_label=r("dash.csv"), empty=r("dash.questions.none_answered"))
            + h.table(data["weeks"], fmt,
                      caption=r("dash.questions.by_week", weeks=TREND_WEEKS),
                      csv_href=h.url("/api/questions/weeks.csv", week=week, lang=lang),
                      csv_label=r("dash.csv"), empty=r("dash.questions.none_asked"))
            + f'<p class="note">{h.esc(r("dash.questions.definitions"))}</p>'
        )
        return self._page(req, r("dash.questions.title"), content)

    async def page_audit(self, req: Request) -> str:
        r = self._renderer(req.locale)
        table = await self.audit_table(req)
        fmt = self._fmt(req)
        content = h.table(table, fmt, csv_href=h.url(
            "/api/audit.csv", action=req.web.query.get("action") or None, lang=req.lang_param),
            csv_label=r("dash.csv"), empty=r("dash.audit.none"))
        return self._page(req, r("dash.audit.title"), content)


QFIG = ("asked", "answered", "answered_percent", "median", "p90", "within_deadline_percent",
        "good_percent")


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100.0 * share, 1)


def _figures_row(f: stats.Figures) -> tuple[Cell, ...]:
    return (f.asked, f.answered, _pct(f.answered_share), f.median, f.p90,
            _pct(f.within_share), _pct(f.good_share))


def _flag_level(q: Question) -> str | None:
    for level in (FlagLevel.ESCALATION, FlagLevel.FLAG):
        flag = q.flag(level)
        if flag is not None and flag.status is not FlagStatus.SKIPPED:
            return level.value
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)

