"""The login form, login and logout: a token is traded once for a session cookie."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from aiohttp import web

from linli.bot.features.enrolment.dashboard import responses
from linli.bot.features.enrolment.dashboard.access import lang_param
from linli.bot.features.enrolment.dashboard.pages import Pages
from linli.bot.features.enrolment.dashboard.sessions import COOKIE, SessionStore
from linli.common.errors import PermissionDenied
from linli.enrolment.service import TokenService
from linli.storage.repos.audit import AuditEntry, AuditRepository

log = logging.getLogger(__name__)


def same_origin(request: web.Request) -> bool:
    """A form post from our own pages (or a tool that sends no browser headers), not from
    another site. The session cookie is SameSite=Strict as well; this is a second lock."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlparse(origin).netloc == request.host


class Login:
    def __init__(self, *, tokens: TokenService, sessions: SessionStore, audit: AuditRepository,
                 pages: Pages, default_locale: str, secure_cookies: bool) -> None:
        self.tokens = tokens
        self.sessions = sessions
        self.audit = audit
        self.pages = pages
        self.default_locale = default_locale
        self.secure_cookies = secure_cookies

    def _page(self, locale: str, error: str | None = None, status: int = 200,
              explicit: bool = False) -> web.Response:
        return responses.html(self.pages.login(locale, error, explicit), status)

    async def form(self, request: web.Request) -> web.StreamResponse:
        lang = lang_param(request)
        return self._page(lang or self.default_locale, explicit=lang is not None)

    async def login(self, request: web.Request) -> web.StreamResponse:
        lang = lang_param(request)
        locale = lang or self.default_locale
        t = self.pages.t
        if not same_origin(request):
            return self._page(locale, t.render(locale, "dash.error.origin"), 403,
                              lang is not None)
        form = await request.post()
        secret = str(form.get("token", "")).strip()
        try:
            principal = await self.tokens.authenticate(secret)
        except PermissionDenied:
            log.info("dashboard login refused (invalid or revoked token)")
            return self._page(locale, t.render(locale, "error.token_invalid"), 401,
                              lang is not None)
        session = self.sessions.open(secret, principal, lang)
        await self.audit.record(AuditEntry(
            actor=principal.actor, action="dashboard.login", target=None,
            station_id=principal.station_id, details={"label": principal.label},
        ))
        log.info("dashboard login by token %d", principal.token_id)
        resp = web.Response(status=303, headers={"Location": "/dashboard/"})
        resp.set_cookie(
            COOKIE, session.id, max_age=int(self.sessions.ttl.total_seconds()), path="/",
            httponly=True, samesite="Strict", secure=self.secure_cookies,
        )
        return responses.respond(resp)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        if not same_origin(request):
            raise web.HTTPForbidden()
        sid = request.cookies.get(COOKIE)
        if sid:
            self.sessions.close(sid)
        resp = web.Response(status=303, headers={"Location": "/dashboard/login"})
        resp.del_cookie(COOKIE, path="/")
        return responses.respond(resp)
