"""The bot's Matrix client: log-in, and the actions the domain asks for (send, edit, power
levels, kick, ban, invite, redact, create rooms), with nio's error responses turned into
exceptions and nio's retries bounded."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError
from nio import (
    Api,
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomPreset,
    RoomSendResponse,
    RoomVisibility,
    WhoamiResponse,
)
from nio.events import Event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from linli.bot.config import MatrixConfig
from linli.common.ids import EventID, RoomID, UserID

log = logging.getLogger(__name__)

BOT_POWER = 100
STAFF_POWER = 50
VERIFIED_POWER = 1  # members who may post in a room whose events_default is 1
MUTED_POWER = -1
POWER_LEVELS = "m.room.power_levels"


class MatrixActionError(Exception):
    """The homeserver refused or could not be reached for an action."""

    def __init__(self, action: str, errcode: str | None, message: str, status: str | None = None):
        super().__init__(f"{action}: {errcode or status or 'error'}: {message}")
        self.action = action
        self.errcode = errcode
        self.status = status
        self.message = message

    @property
    def permanent(self) -> bool:
        """Forbidden, unknown room, not joined, too large: retrying will not help.

        ``M_UNKNOWN`` is not among them: Synapse answers a passing 500 with it."""
        return self.errcode in ("M_FORBIDDEN", "M_NOT_FOUND", "M_BAD_JSON", "M_TOO_LARGE",
                                "M_INVALID_PARAM", "M_UNSUPPORTED_ROOM_VERSION")


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may go away by itself (homeserver or database unreachable, a 5xx,
    rate limits, every database connection busy): the work that met it is rolled back and
    tried again, never dropped."""
    if isinstance(exc, MatrixActionError):
        return exc.errcode in (None, "M_LIMIT_EXCEEDED", "M_UNKNOWN")
    if isinstance(exc, IntegrityError):
        return False
    return isinstance(exc, (DBAPIError, OSError, TimeoutError, ClientError, PoolTimeout))


@dataclass
class _Cause:
    key: str
    task: asyncio.Task[Any] | None
    sent: dict[str, int] = field(default_factory=dict)


_cause: ContextVar[_Cause | None] = ContextVar("linli_effect_cause", default=None)


@contextmanager
def effect_cause(key: str) -> Iterator[None]:
    """Derive the transaction id of every message and redaction sent in this block from
    ``key`` (an event id, or a periodic job's item such as ``unmute:42``) and the order of
    sends to each room. Work done again after a crash or a failure sends the same
    transaction ids, and the homeserver returns the first event instead of posting twice."""
    token = _cause.set(_Cause(key, asyncio.current_task()))
    try:
        yield
    finally:
        _cause.reset(token)


def current_cause() -> str | None:
    """The key of the cause this task's sends derive their transaction ids from, if any."""
    cause = _cause.get()
    if cause is None or cause.task is not asyncio.current_task():
        return None
    return cause.key


def txn_id_for(room_id: str) -> str:
    """The next transaction id for a send to ``room_id``: derived from the current cause,
    random outside one."""
    cause = _cause.get()
    if cause is None or cause.task is not asyncio.current_task():
        return secrets.token_hex(12)
    n = cause.sent.get(room_id, 0)
    cause.sent[room_id] = n + 1
    digest = hashlib.sha256(f"{cause.key}\x00{room_id}\x00{n}".encode()).hexdigest()
    return "linli" + digest[:32]


class RateLimited(MatrixActionError):
    def __init__(self, action: str, retry_after_ms: int | None, message: str) -> None:
        super().__init__(action, "M_LIMIT_EXCEEDED", message)
        self.retry_after_ms = retry_after_ms or 5000


class Unreachable(MatrixActionError):
    """The homeserver could not be reached (refused, reset, timed out): a passing failure
    the work that met it waits out (``is_transient``)."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(action, None, message, "unreachable")


CONNECTION_ERRORS = (ClientError, OSError, TimeoutError)
"""What aiohttp and the socket raise when the homeserver is away, wrapped into ``Unreachable``
by ``reaching``."""


@contextmanager
def reaching(action: str) -> Iterator[None]:
    """The one place a connection failure becomes ``Unreachable``: features and the runtime
    see a Matrix failure they know (and log in one line), never aiohttp's or the socket's."""
    try:
        yield
    except CONNECTION_ERRORS as exc:
        raise Unreachable(action, str(exc) or type(exc).__name__) from exc


class _Client(AsyncClient):
    """nio's client, every request of which (sync included) goes through ``_send``: a
    connection failure left after nio's own retries is raised as ``Unreachable``."""

    async def _send(self, response_class: type, method: str, path: str,
                    *args: Any, **kwargs: Any) -> Any:
        with reaching(f"{method} {path.split('?', 1)[0]}"):
            return await super()._send(response_class, method, path, *args, **kwargs)


def _check(action: str, resp: Any) -> Any:
    if isinstance(resp, ErrorResponse):
        if resp.status_code == "M_LIMIT_EXCEEDED":
            raise RateLimited(action, getattr(resp, "retry_after_ms", None), resp.message)
        raise MatrixActionError(action, resp.status_code, resp.message)
    return resp


def creators_of(create_event: dict[str, Any]) -> set[str]:
    """Room creators with unlimited power (room version 12 and later, MSC4289)."""
    content = create_event.get("content", {})
    version = str(content.get("room_version", "1"))
    if not creators_have_power(version):
        return set()
    creators = {create_event.get("sender", "")}
    creators.update(content.get("additional_creators", []) or [])
    return {c for c in creators if c}


def creators_have_power(room_version: str) -> bool:
    if room_version.startswith("org.matrix.hydra"):
        return True
    try:
        return int(room_version) >= 12
    except ValueError:
        return False


@dataclass
class RoomInfo:
    room_id: RoomID
    version: str
    creators: set[str]


class PowerLevelsEdit:
    """One read of a room's ``m.room.power_levels`` to change: ``content`` (any key) and
    ``users`` (its users map) may be changed in place; ``set`` changes one user's level."""

    def __init__(self, content: dict[str, Any], creators: set[str]) -> None:
        self.content = copy.deepcopy(content)
        self.content["users"] = dict(content.get("users") or {})
        self.creators = creators
        self.previous_users: dict[str, Any] = dict(self.content["users"])
        self._before = copy.deepcopy(self.content)
        self._had_users = "users" in content

    @property
    def users(self) -> dict[str, Any]:
        users: dict[str, Any] = self.content["users"]
        return users

    def set(self, user_id: str, level: int | None) -> None:
        """Set a user's level, or with None remove it. Creators of version 12+ rooms must
        not appear in ``users`` and are left out."""
        if user_id in self.creators:
            return
        if level is None:
            self.users.pop(user_id, None)
        else:
            self.users[user_id] = level

    @property
    def changed(self) -> bool:
        return self.content != self._before


class PowerLevelsEdits:
    """The one read-modify-write of ``m.room.power_levels``, under the room's lock, written
    only when something changed (the same change made again, after a crash or a failure,
    writes nothing). Needs ``power_levels_lock``, ``room_info``, ``state_event`` and
    ``put_state`` from the class it is mixed into."""

    power_levels_lock: Callable[[str], asyncio.Lock]
    room_info: Callable[[str], Awaitable[RoomInfo]]
    state_event: Callable[..., Awaitable[dict[str, Any]]]
    put_state: Callable[..., Awaitable[None]]

    async def edit_power_levels(
        self, room_id: str, edit: Callable[[PowerLevelsEdit], Awaitable[None]]
    ) -> PowerLevelsEdit:
        """Read the room's power levels, let ``edit`` change them, write them if changed.
        ``edit`` runs under the room's lock: no other change in this process comes between
        the read and the write. Returns the edit (``changed``, ``previous_users``)."""
        async with self.power_levels_lock(room_id):
            info = await self.room_info(room_id)
            levels = PowerLevelsEdit(await self.state_event(room_id, POWER_LEVELS),
                                     info.creators)
            await edit(levels)
            if levels.changed:
                await self.put_state(room_id, POWER_LEVELS, levels.content)
            return levels

    async def set_power_levels(
        self, room_id: str, changes: dict[str, int | None]
    ) -> dict[str, Any]:
        """Set (or with None, remove) users' levels in one power-levels event.

        Creators of version 12+ rooms must not appear in ``users`` and are left out.
        Returns the previous users map so a caller can restore what it changed.
        """

        async def change(levels: PowerLevelsEdit) -> None:
            for user, level in changes.items():
                levels.set(user, level)

        return (await self.edit_power_levels(room_id, change)).previous_users


class MatrixGateway(PowerLevelsEdits):
    """One nio AsyncClient with bounded retries, plus the actions the features need."""

    def __init__(self, config: MatrixConfig, store_path: str | None = None) -> None:
        self.config = config
        client_config = AsyncClientConfig(
            max_limit_exceeded=config.max_rate_limit_retries,
            max_timeouts=config.max_connection_retries,
            request_timeout=config.request_timeout.total_seconds(),
            max_timeout_retry_wait_time=10,
            store_sync_tokens=False,
            encryption_enabled=False,
        )
        self.client = _Client(
            config.homeserver, config.user_id, config=client_config, store_path=store_path or ""
        )
        self._room_info: dict[str, RoomInfo] = {}
        self._power_locks: dict[str, asyncio.Lock] = {}

    def power_levels_lock(self, room_id: str) -> asyncio.Lock:
        """One lock per room for every read-modify-write of ``m.room.power_levels`` in this
        process, so verification and moderation never overwrite each other's change."""
        return self._power_locks.setdefault(room_id, asyncio.Lock())

    @property
    def user_id(self) -> UserID:
        return UserID(self.client.user_id)

    # log-in --------------------------------------------------------------------------------
    async def login(
        self, stored_device_id: str | None, stored_token: str | None
    ) -> tuple[str, str]:
        """Log in with the access token or password; reuse the stored device id.

        Returns (device_id, access_token) for the caller to persist.
        """
        cfg = self.config
        if cfg.access_token is not None:
            token = cfg.access_token.get_secret_value()
            self.client.restore_login(cfg.user_id, cfg.device_id or stored_device_id or "", token)
            who = _check("whoami", await self.client.whoami())
            assert isinstance(who, WhoamiResponse)
            if who.user_id != cfg.user_id:
                raise MatrixActionError(
                    "login", "M_FORBIDDEN",
                    f"the access token belongs to {who.user_id}, not matrix.user_id",
                )
            device = who.device_id or cfg.device_id or stored_device_id or ""
            self.client.device_id = device
            return device, token
        if stored_token:
            self.client.restore_login(cfg.user_id, stored_device_id or "", stored_token)
            who = await self.client.whoami()
            if isinstance(who, WhoamiResponse) and who.user_id == cfg.user_id:
                return stored_device_id or who.device_id or "", stored_token
        assert cfg.password is not None
        resp = await self.client.login(
            cfg.password.get_secret_value(),
            device_name=cfg.device_name,
        ) if not (cfg.device_id or stored_device_id) else await self._login_with_device(
            cfg.device_id or stored_device_id or ""
        )
        resp = _check("login", resp)
        assert isinstance(resp, LoginResponse)
        return resp.device_id, resp.access_token

    async def _login_with_device(self, device_id: str) -> Any:
        self.client.device_id = device_id
        assert self.config.password is not None
        return await self.client.login(
            self.config.password.get_secret_value(), device_name=self.config.device_name
        )

    async def close(self) -> None:
        await self.client.close()

    # messages ------------------------------------------------------------------------------
    async def send(
        self, room_id: str, content: dict[str, Any], txn_id: str | None = None,
        event_type: str = "m.room.message",
    ) -> EventID:
        resp = await self.client.room_send(
            room_id, event_type, content, tx_id=txn_id or txn_id_for(room_id),
            ignore_unverified_devices=True,
        )
        resp = _check(f"send to {room_id}", resp)
        assert isinstance(resp, RoomSendResponse)
        return EventID(resp.event_id)

    async def send_text(
        self, room_id: str, body: str, html: str | None = None, *, notice: bool = True,
        reply_to: str | None = None, mentions: list[str] | None = None,
        txn_id: str | None = None,
    ) -> EventID:
        content = message_content(body, html, notice=notice, reply_to=reply_to, mentions=mentions)
        return await self.send(room_id, content, txn_id=txn_id)

    async def edit_text(
        self, room_id: str, event_id: str, body: str, html: str | None = None
    ) -> EventID:
        new = message_content(body, html, notice=True)
        content = dict(new)
        content["body"] = "* " + body
        if html:
            content["formatted_body"] = "* " + html
        content["m.new_content"] = new
        content["m.relates_to"] = {"rel_type": "m.replace", "event_id": event_id}
        return await self.send(room_id, content)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> None:
        _check("redact", await self.client.room_redact(room_id, event_id, reason,
                                                       tx_id=txn_id_for(room_id)))

    # membership ------------------------------------------------------------------------------
    async def join(self, room_id: str) -> RoomID:
        resp = _check(f"join {room_id}", await self.client.join(room_id))
        return RoomID(resp.room_id)

    async def leave(self, room_id: str) -> None:
        _check("leave", await self.client.room_leave(room_id))

    async def invite(self, room_id: str, user_id: str) -> None:
        _check("invite", await self.client.room_invite(room_id, user_id))

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        _check("kick", await self.client.room_kick(room_id, user_id, reason))

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        _check("ban", await self.client.room_ban(room_id, user_id, reason))

    async def unban(self, room_id: str, user_id: str) -> None:
        _check("unban", await self.client.room_unban(room_id, user_id))

    async def joined_members(self, room_id: str) -> list[UserID]:
        resp = _check("members", await self.client.joined_members(room_id))
        return [UserID(m.user_id) for m in resp.members]

    # state ------------------------------------------------------------------------------------
    async def state_event(
        self, room_id: str, event_type: str, state_key: str = ""
    ) -> dict[str, Any]:
        resp = _check(
            f"read {event_type}",
            await self.client.room_get_state_event(room_id, event_type, state_key),
        )
        assert isinstance(resp, RoomGetStateEventResponse)
        return dict(resp.content)

    async def put_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> None:
        _check(
            f"write {event_type}",
            await self.client.room_put_state(room_id, event_type, content, state_key),
        )

    async def room_info(self, room_id: str) -> RoomInfo:
        info = self._room_info.get(room_id)
        if info is None:
            create = await self._create_event(room_id)
            version = str(create.get("content", {}).get("room_version", "1"))
            info = RoomInfo(RoomID(room_id), version, creators_of(create))
            self._room_info[room_id] = info
        return info

    async def _create_event(self, room_id: str) -> dict[str, Any]:
        """The room's ``m.room.create`` event, sender included (the creator has unlimited
        power in version 12 rooms): one state event with ``format=event``, not the room's
        whole state; servers that ignore ``format`` get the whole state read instead."""
        path = Api._build_path(
            ["rooms", room_id, "state", "m.room.create", ""],
            {"access_token": self.client.access_token, "format": "event"},
        )
        resp = _check("read m.room.create", await self.client._send(
            RoomGetStateEventResponse, "GET", path,
            response_data=("m.room.create", "", room_id),
        ))
        event = dict(resp.content)
        if "sender" in event and isinstance(event.get("content"), dict):
            return event
        full = _check("read room state", await self.client.room_get_state(room_id))
        found: dict[str, Any] = next(
            (e for e in full.events if e.get("type") == "m.room.create"), {}
        )
        return found

    async def power_level_of(self, room_id: str, user_id: str) -> float:
        """A user's power level; room creators in version 12+ rooms have unlimited power."""
        info = await self.room_info(room_id)
        if user_id in info.creators:
            return float("inf")
        pl = await self.state_event(room_id, POWER_LEVELS)
        return float(pl.get("users", {}).get(user_id, pl.get("users_default", 0)))

    # events ----------------------------------------------------------------------------------
    async def room_event(self, room_id: str, event_id: str) -> Event | None:
        """One event of a room, or None if the homeserver answers with an error (not found,
        not allowed); a network failure raises."""
        return event_of(await self.client.room_get_event(room_id, event_id))

    async def default_room_version_gives_creator_power(self) -> bool:
        """Whether rooms this homeserver creates by default give creators unlimited power."""
        with reaching("read capabilities"):
            resp = await self.client.send(
                "GET", "/_matrix/client/v3/capabilities",
                headers={"Authorization": f"Bearer {self.client.access_token}"},
            )
            data = await resp.json()
        version = str(
            data.get("capabilities", {}).get("m.room_versions", {}).get("default", "10")
        )
        return creators_have_power(version)

    async def room_creator(self, room_id: str) -> str | None:
        """The sender of the room's ``m.room.create`` event read from the room's whole state,
        or None if the bot cannot read the room's state."""
        resp = await self.client.room_get_state(room_id)
        events = getattr(resp, "events", None)
        if not isinstance(events, list):
            return None
        create: dict[str, Any] = next(
            (e for e in events if isinstance(e, dict) and e.get("type") == "m.room.create"), {}
        )
        sender = create.get("sender")
        return sender if isinstance(sender, str) else None

    # rooms ---------------------------------------------------------------------------------
    async def create_room(
        self, *, name: str, topic: str, alias_localpart: str | None, power_levels: dict[str, Any],
        knock: bool = False, invite: list[str] | None = None,
    ) -> RoomID:
        initial_state: list[dict[str, Any]] = [
            {"type": "m.room.history_visibility", "state_key": "",
             "content": {"history_visibility": "shared"}},
            {"type": "m.room.guest_access", "state_key": "",
             "content": {"guest_access": "forbidden"}},
        ]
        if knock:
            initial_state.append({"type": "m.room.join_rules", "state_key": "",
                                  "content": {"join_rule": "knock"}})
        resp = await self.client.room_create(
            visibility=RoomVisibility.private,
            alias=alias_localpart,
            name=name,
            topic=topic,
            federate=True,
            preset=RoomPreset.private_chat if knock else RoomPreset.public_chat,
            invite=invite or [],
            initial_state=initial_state,
            power_level_override=power_levels,
        )
        resp = _check("create room", resp)
        assert isinstance(resp, RoomCreateResponse)
        return RoomID(resp.room_id)

    async def create_dm(
        self, user_id: str, marker: tuple[str, str] | None = None,
        alias_localpart: str | None = None,
    ) -> RoomID:
        """A direct room with a person. ``private_chat`` (not ``trusted_private_chat``) keeps the
        invitee from becoming a co-creator in version 12 rooms. ``marker`` (event type, user)
        adds a state event naming the person, by which the room is recognised later.

        ``alias_localpart`` makes the creation idempotent: a room created with it before (by a
        process killed before it could record the room) holds the alias, the homeserver refuses
        a second one (``M_ROOM_IN_USE``), and that room is returned instead."""
        initial_state = []
        if marker is not None:
            initial_state.append({"type": marker[0], "state_key": "",
                                  "content": {"user_id": marker[1]}})
        resp = await self.client.room_create(
            visibility=RoomVisibility.private,
            alias=alias_localpart,
            is_direct=True,
            preset=RoomPreset.private_chat,
            invite=[user_id],
            initial_state=initial_state,
        )
        if (alias_localpart and isinstance(resp, ErrorResponse)
                and resp.status_code == "M_ROOM_IN_USE"):
            server = self.user_id.split(":", 1)[1]
            room = await self.resolve_alias(f"#{alias_localpart}:{server}")
            log.info("the direct room %s with %s existed already", room, user_id)
            return room
        resp = _check("create direct room", resp)
        return RoomID(resp.room_id)

    async def delete_alias(self, alias: str) -> None:
        """Remove an alias the bot set (a direct room given up for a fresh one)."""
        _check("delete alias", await self.client.room_delete_alias(alias))

    async def resolve_alias(self, alias: str) -> RoomID:
        resp = _check("resolve alias", await self.client.room_resolve_alias(alias))
        return RoomID(resp.room_id)

    async def account_data(self, event_type: str) -> dict[str, Any]:
        """The bot's global account data of ``event_type``; empty when it has none."""
        method, path = "GET", self._account_data_path(event_type)
        try:
            resp = await self.client.send(method, path)
            body = await resp.json(content_type=None)
        except (ClientError, OSError, TimeoutError) as exc:
            raise Unreachable(f"read {event_type}", str(exc)) from exc
        if resp.status == 404:
            return {}
        if resp.status >= 400:
            raise MatrixActionError(f"read {event_type}", body.get("errcode"),
                                    body.get("error", ""), str(resp.status))
        return dict(body) if isinstance(body, dict) else {}

    async def put_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        """Replace the bot's global account data of ``event_type`` (idempotent)."""
        try:
            resp = await self.client.send("PUT", self._account_data_path(event_type),
                                          json.dumps(content),
                                          headers={"Content-Type": "application/json"})
            body = await resp.json(content_type=None)
        except (ClientError, OSError, TimeoutError) as exc:
            raise Unreachable(f"write {event_type}", str(exc)) from exc
        if resp.status >= 400:
            raise MatrixActionError(f"write {event_type}", (body or {}).get("errcode"),
                                    (body or {}).get("error", ""), str(resp.status))

    def _account_data_path(self, event_type: str) -> str:
        return Api._build_path(["user", self.user_id, "account_data", event_type],
                               {"access_token": self.client.access_token})


def event_of(resp: Any) -> Event | None:
    """The event of a ``room_get_event`` answer; None for an error answer."""
    return resp.event if isinstance(resp, RoomGetEventResponse) else None


def message_content(
    body: str, html: str | None = None, *, notice: bool = True, reply_to: str | None = None,
    mentions: list[str] | None = None,
) -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": "m.notice" if notice else "m.text", "body": body}
    if html:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = html
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    content["m.mentions"] = {"user_ids": list(mentions)} if mentions else {}
    return content
