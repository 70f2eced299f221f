"""A TCP proxy on 127.0.0.1 that a test controls, to give one client a homeserver outage.

The bot is configured to reach Synapse through the proxy while everybody else talks to Synapse
directly. ``cut()`` is the outage as the bot sees it: every open connection is dropped at once
(requests in flight fail half-way) and new connections are accepted and closed at once until
``restore()``. ``cut_on_answer_to(pattern)`` cuts at a chosen moment: the first request whose
bytes hold ``pattern`` is forwarded, and when the homeserver's answer to it comes back the
answer is thrown away and everything is cut, so the homeserver has carried the request out
while the client never learns it did (what transaction ids are for).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

CHUNK = 65536


@dataclass(eq=False)
class _Link:
    """One client connection and its connection to the homeserver."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    marked: bool = False  # carried the request whose answer is to be lost
    tail: bytes = b""  # the end of the last chunk, for a pattern split between chunks

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            with contextlib.suppress(Exception):
                writer.transport.abort()


class Proxy:
    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        assert parts.hostname and parts.port, target_url
        self.target_host, self.target_port = parts.hostname, parts.port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._down = False
        self._pattern: bytes | None = None
        self.tripped = asyncio.Event()
        self.tripped_request = ""  # the request line whose answer was lost
        self.cut_at: float | None = None  # time.monotonic() of the last cut
        # what happened, for the test's report
        self.connections = 0
        self.refused = 0
        self.dropped = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def down(self) -> bool:
        return self._down

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._down = True
        for link in list(self._links):
            link.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # control ------------------------------------------------------------------------------
    def cut(self) -> None:
        """The outage begins: drop every open connection; refuse new ones until restore()."""
        self._down = True
        self._pattern = None
        self.cut_at = time.monotonic()
        self.dropped += len(self._links)
        log.info("proxy: cut (%d open connections dropped)", len(self._links))
        for link in list(self._links):
            link.abort()

    def restore(self) -> None:
        self._down = False
        log.info("proxy: restored (%d connections refused while cut)", self.refused)

    def cut_on_answer_to(self, pattern: bytes) -> None:
        """Forward the first request holding ``pattern``, then lose its answer and cut."""
        self.tripped.clear()
        self._pattern = pattern

    # forwarding ---------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host,
                                                                 self.target_port)
        except OSError:
            writer.transport.abort()
            return
        link = _Link(writer, up_writer)
        if self._down:  # cut while connecting
            self.refused += 1
            link.abort()
            return
        self.connections += 1
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, link, upstream=True)),
            asyncio.create_task(self._pump(up_reader, writer, link, upstream=False)),
        ]
        try:
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # One side ended: HTTP needs no half-closed connections, so end both.
            link.abort()
            for t in link.tasks:
                t.cancel()
            for t in link.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            self._links.discard(link)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: _Link,
                    upstream: bool) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                data = await src.read(CHUNK)
                if not data or self._down:
                    return
                if upstream:
                    pattern = self._pattern
                    if pattern is not None and not link.marked:
                        window = link.tail + data
                        if pattern in window:
                            link.marked = True
                            self._pattern = None
                            self.tripped_request = data.split(b"\r\n", 1)[0].decode(
                                "latin-1")[:200]
                        link.tail = window[-len(pattern):]
                elif link.marked:
                    # The homeserver has carried the request out; its answer is lost.
                    log.info("proxy: answer to %r lost; cutting", self.tripped_request)
                    self.cut()
                    self.tripped.set()
                    return
                dst.write(data)
                await dst.drain()
