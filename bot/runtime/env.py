"""Where an event happened (the directory snapshot and the compound, station or direct room
it belongs to), and what a feature offers the runtime."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from linli.bot.commands.router import Command
from linli.common.events import ChatEvent
from linli.common.ids import UserID
from linli.community.model import Compound, Directory, Station
from linli.storage.repos.community import CommunityRepository


@dataclass(frozen=True)
class EventEnv:
    """Where an event happened, resolved once from the directory snapshot."""

    directory: Directory
    compound: Compound | None = None
    station: Station | None = None  # set for events in a station's officers' room
    dm_user: UserID | None = None  # set for events in the bot's DM with this person


class Feature(Protocol):
    name: str

    def commands(self) -> Iterable[Command]: ...

    async def start(self) -> None: ...

    async def on_event(self, event: ChatEvent, env: EventEnv) -> None: ...

    async def tick(self, now: datetime) -> None:
        """The feature's time-dependent work. A feature whose work is per compound sets
        ``divided_tick = True`` and takes ``tick(now, scope)``: the compounds this process
        owns (``linli.common.ports.CompoundScope``); the others' ticks run in one process
        (see bot/runtime/periodic.py)."""
        ...


class DirectoryHolder:
    """The current Directory snapshot. ``refresh`` reloads it when the directory version
    (raised by database triggers on every change) moved: one single-row read per call."""

    def __init__(self, repo: CommunityRepository, admins: Iterable[str]) -> None:
        self.repo = repo
        self.admins = list(admins)
        self.current = Directory([], [], [], self.admins)
        self.version: int | None = None

    async def reload(self) -> Directory:
        version = await self.repo.directory_version()  # read first: a later change reloads
        self.current = await self.repo.load_directory(self.admins)
        self.version = version
        return self.current

    async def refresh(self) -> bool:
        """Reload if anyone changed stations, compounds or staff since the last load."""
        if await self.repo.directory_version() == self.version:
            return False
        await self.reload()
        return True
