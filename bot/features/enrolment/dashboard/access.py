"""Who a dashboard request acts as, in which language, and which compounds it may see."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from linli.bot.features.enrolment.dashboard.sessions import Session, SessionStore
from linli.common.errors import DomainError, NotFound, PermissionDenied
from linli.common.i18n import parse_locale
from linli.community.model import Compound, Directory
from linli.enrolment.model import Principal
from linli.enrolment.service import TokenService

log = logging.getLogger(__name__)


class Refused(Exception):
    """An HTTP refusal rendered as JSON for the API and as a page (or a redirect) otherwise."""

    def __init__(self, status: int, errcode: str, key: str, **params: Any) -> None:
        super().__init__(errcode)
        self.status = status
        self.errcode = errcode
        self.key = key
        self.params = params


def refusal(exc: Refused | DomainError) -> Refused:
    """A domain error as the HTTP refusal the dashboard answers with."""
    if isinstance(exc, Refused):
        return exc
    if isinstance(exc, PermissionDenied):
        return Refused(403, "M_FORBIDDEN", exc.key, **exc.params)
    if isinstance(exc, NotFound):
        return Refused(404, "M_NOT_FOUND", exc.key, **exc.params)
    return Refused(400, "M_INVALID_PARAM", exc.key, **exc.params)


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


def lang_param(request: web.Request) -> str | None:
    """The ``?lang=`` of a request when it names a locale we speak."""
    raw = request.query.get("lang")
    if not raw:
        return None
    try:
        return parse_locale(raw).value
    except ValueError:
        return None


def locale_for(principal: Principal | None, session: Session | None, lang: str | None,
               directory: Directory, default_locale: str) -> str:
    """``?lang=``, then the session's choice, then the token's station, then the default."""
    if lang:
        return lang
    if session is not None and session.lang:
        return session.lang
    if principal is not None and principal.station_id is not None:
        station = directory.stations.get(principal.station_id)
        if station is not None:
            return station.locale
    return default_locale


class Access:
    """Turns a web request into a :class:`Request` by its bearer token or session cookie."""

    def __init__(self, tokens: TokenService, sessions: SessionStore, default_locale: str) -> None:
        self.tokens = tokens
        self.sessions = sessions
        self.default_locale = default_locale

    async def authenticate(self, request: web.Request, lang: str | None,
                           directory: Directory) -> Request:
        auth = request.headers.get("Authorization")
        session: Session | None = None
        if auth is not None:
            scheme, _, secret = auth.strip().partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise Refused(401, "M_MISSING_TOKEN", "dash.error.no_token")
            try:
                principal = await self.tokens.authenticate(secret.strip())
            except PermissionDenied:
                raise Refused(401, "M_UNKNOWN_TOKEN", "error.token_invalid") from None
        else:
            session = await self.sessions.get(request)
            if session is None:
                raise Refused(401, "M_MISSING_TOKEN", "dash.error.no_token")
            principal = session.principal
            if lang:
                session.lang = lang
        locale = locale_for(principal, session, lang, directory, self.default_locale)
        return Request(request, principal, locale, session, directory, lang)


def visible(req: Request) -> list[Compound]:
    """The compounds the request's token may see, by slug."""
    return sorted(
        (c for c in req.directory.compounds.values()
         if req.principal.may_see_station(c.station_id)),
        key=lambda c: c.slug,
    )


def compound_of(req: Request) -> Compound:
    """The compound named by the URL's slug, if the token may see it."""
    slug = req.web.match_info["slug"]
    compound = req.directory.compound_by_slug(slug)
    if compound is not None and not req.principal.may_see_station(compound.station_id):
        log.info("dashboard: token %d refused compound %d of another station",
                 req.principal.token_id, compound.id)
        compound = None
    if compound is None:
        # Another station's compound answers as one that does not exist: a token cannot
        # learn which slugs exist by probing.
        raise Refused(404, "M_NOT_FOUND", "dash.error.no_compound", slug=slug[:80])
    return compound
