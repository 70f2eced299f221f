"""Real Matrix clients for the integration tests, and a way to run the bot in-process.

Every wait polls for a condition with a deadline; nothing sleeps for a fixed time to let
something happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    RoomSendResponse,
    SyncResponse,
)

from linli.bot.app import App, build_app
from linli.bot.config import Config
from linli.bot.devserver import Account, LocalSynapse
from linli.common.clock import Clock
from linli.storage.repos.botstate import BotStateRepository

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}x{int(time.time() * 1000) % 100000}"


async def until(
    predicate: Callable[[], Any],
    timeout: float = 15.0,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    what: str = "condition",
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Seen:
    room_id: str
    event: Any

    @property
    def source(self) -> dict[str, Any]:
        return self.event.source

    @property
    def content(self) -> dict[str, Any]:
        return self.event.source.get("content", {})

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def sender(self) -> str:
        return str(self.event.sender)

    @property
    def event_id(self) -> str:
        return str(self.event.event_id)

    @property
    def reply_to(self) -> str | None:
        return (self.content.get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id")


@dataclass
class Person:
    """A resident, officer or admin: a real nio client that syncs in the background."""

    hs: LocalSynapse
    account: Account
    client: AsyncClient = field(init=False)
    seen: list[Seen] = field(default_factory=list)
    invites: set[str] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.client = AsyncClient(
            self.hs.base_url, self.account.user_id,
            config=AsyncClientConfig(max_limit_exceeded=5, max_timeouts=2, request_timeout=20),
        )
        self.client.restore_login(self.account.user_id, self.account.device_id,
                                  self.account.access_token)

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def start(self) -> Person:
        first = await self.client.sync(timeout=0, full_state=False)
        assert isinstance(first, SyncResponse), first
        self._absorb(first)
        self._task = asyncio.create_task(self._loop())
        return self

    def _absorb(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            for ev in info.timeline.events:
                self.seen.append(Seen(room_id, ev))
        for room_id in response.rooms.invite:
            self.invites.add(room_id)

    async def _loop(self) -> None:
        while True:
            try:
                response = await self.client.sync(
                    timeout=1000,
                    sync_filter={"room": {"timeline": {"limit": 200}}},
                )
            except Exception:  # homeserver restarting in a test
                await asyncio.sleep(0.2)
                continue
            if isinstance(response, SyncResponse):
                self._absorb(response)
            else:
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    # actions --------------------------------------------------------------------------------
    async def send(self, room_id: str, body: str, reply_to: str | None = None,
                   html: str | None = None, mentions: list[str] | None = None,
                   thread_root: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if html:
            content.update(format="org.matrix.custom.html", formatted_body=html)
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        if thread_root:
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root,
                                       "is_falling_back": True,
                                       "m.in_reply_to": {"event_id": thread_root}}
        if mentions is not None:
            content["m.mentions"] = {"user_ids": mentions}
        resp = await self.client.room_send(room_id, "m.room.message", content)
        assert isinstance(resp, RoomSendResponse), f"send failed: {resp}"
        return resp.event_id

    async def try_send(self, room_id: str, body: str) -> str | None:
        """Send, returning None if the homeserver refuses (e.g. muted by power levels)."""
        resp = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        if isinstance(resp, RoomSendResponse):
            return resp.event_id
        return None

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        resp = await self.client.room_send(room_id, "m.reaction", {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}})
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def join(self, room_id: str) -> str:
        resp = await self.client.join(room_id)
        assert not isinstance(resp, ErrorResponse), f"join failed: {resp}"
        return str(resp.room_id)

    async def accept_invite_to(
        self, room_id: str, timeout: float = 15,  # noqa: ASYNC109 - a polling deadline, not a cancel scope; callers pass timeout=
    ) -> None:
        await until(lambda: room_id in self.invites, timeout,
                    f"{self.user_id} invited to {room_id}")
        await self.join(room_id)

    # waiting -------------------------------------------------------------------------------
    def messages(self, room_id: str | None = None, sender: str | None = None) -> list[Seen]:
        return [
            s for s in self.seen
            if getattr(s.event, "body", None) is not None
            and (room_id is None or s.room_id == room_id)
            and (sender is None or s.sender == sender)
        ]

    async def wait_for_message(
        self,
        predicate: Callable[[Seen], bool],
        timeout: float = 15.0,  # noqa: ASYNC109 - a polling deadline, not a cancel scope; callers pass timeout=
        what: str = "a message",
    ) -> Seen:
        def find() -> Seen | None:
            for s in self.seen:
                if getattr(s.event, "body", None) is not None and predicate(s):
                    return s
            return None

        return await until(find, timeout, what)

    async def wait_for_reply(self, room_id: str, to_event: str, sender: str,
                             timeout: float = 15.0) -> Seen:  # noqa: ASYNC109 - a polling deadline, not a cancel scope; callers pass timeout=
        return await self.wait_for_message(
            lambda s: s.room_id == room_id and s.sender == sender and s.reply_to == to_event,
            timeout, f"a reply from {sender} to {to_event}",
        )


def bot_config(
    hs: LocalSynapse, bot: Account, db_url: str, *, admins: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Config:
    data: dict[str, Any] = {
        "matrix": {
            "homeserver": hs.base_url,
            "user_id": bot.user_id,
            "access_token": bot.access_token,
            "device_id": bot.device_id,
            "sync_timeout": "1s",
            "request_timeout": "10s",
            "reconnect_max_delay": "2s",
        },
        "database": {"url": db_url},
        "bot": {"admins": admins or [], "tick_interval": "1h", "directory_refresh": "1s"},
        "security": {"data_key": "k" * 43 + "="},
    }
    for section, values in (extra or {}).items():
        data.setdefault(section, {}).update(values)
    return Config.model_validate(data)


async def handled(app: App, event_id: str, timeout: float = 15.0) -> None:  # noqa: ASYNC109
    """Wait until the bot has committed what it decided for ``event_id``. Its effects (a
    reply, a DM) go out just before its unit of work commits: a test that reads the bot's
    database after seeing a reply waits for this first."""
    repo = BotStateRepository(app.db, app.clock)

    async def done() -> bool:
        return event_id in await repo.done_events([event_id])

    await until(done, timeout, f"event {event_id} handled")


async def start_bot(config: Config, clock: Clock | None = None) -> App:
    app = await build_app(config, clock=clock)
    await app.start()
    await until(lambda: app.bot.ready.is_set(), 20, "the bot's first sync")
    return app


def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}"


async def cli(config: Config, *argv: str, lang: str | None = "en") -> list[str]:
    """Run a ``linli`` subcommand in-process against ``config``; returns its output lines.

    The output is English (``linli --lang en``), which the tests read room ids and codes
    from; ``lang=None`` speaks the deployment's language as the plain command does.
    Failures raise, as the real entry point would turn them into one line and exit 1.
    """
    from linli.bot.cli import CliContext, build_parser

    args = build_parser().parse_args(list(argv))
    ctx = CliContext(config_path=None, lang=lang, _config=config)
    lines: list[str] = []
    ctx.out = lines.append  # type: ignore[method-assign]
    try:
        code = await args.func(ctx, args)
    finally:
        await ctx.close()
    assert code == 0, f"linli {' '.join(argv)} exited {code}: {lines}"
    return lines
