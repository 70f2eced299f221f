"""Dashboard sessions: a login trades a token for a random session id kept in memory and sent
back in an HttpOnly, SameSite=Strict cookie. A session ends at its expiry, at logout, or as soon
as its token is revoked."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from linli.common.clock import Clock
from linli.enrolment.model import Principal, hash_token
from linli.enrolment.ports import TokenStore

COOKIE = "linli_session"
MAX_SESSIONS = 10_000


@dataclass
class Session:
    id: str
    token_hash: str
    principal: Principal
    expires_at: datetime
    lang: str | None = None


class SessionStore:
    """The live sessions of this process (a restart logs everyone out)."""

    def __init__(self, token_repo: TokenStore, clock: Clock, ttl: timedelta) -> None:
        self.token_repo = token_repo
        self.clock = clock
        self.ttl = ttl
        self._sessions: dict[str, Session] = {}

    async def get(self, request: web.Request) -> Session | None:
        """The request's session, if its cookie names one still alive."""
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

    def open(self, secret: str, principal: Principal, lang: str | None) -> Session:
        now = self.clock.now()
        self._prune(now)
        session = Session(secrets.token_urlsafe(32), hash_token(secret), principal,
                          now + self.ttl, lang)
        self._sessions[session.id] = session
        return session

    def close(self, sid: str) -> None:
        self._sessions.pop(sid, None)

    def _prune(self, now: datetime) -> None:
        for sid in [s for s, v in self._sessions.items() if v.expires_at <= now]:
            del self._sessions[sid]
        while len(self._sessions) >= MAX_SESSIONS:  # oldest first: dicts keep insertion order
            del self._sessions[next(iter(self._sessions))]
