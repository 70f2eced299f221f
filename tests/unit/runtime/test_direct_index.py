"""The bot's m.direct: rooms added by read-modify-write, merged with what is there, written
only when something is missing; a homeserver refusal never holds a direct message back."""

from __future__ import annotations

import asyncio
from typing import Any

from linli.bot.matrix.gateway import MatrixActionError
from linli.bot.runtime.direct_index import M_DIRECT, DirectIndex


class FakeGateway:
    def __init__(self, content: dict[str, Any] | None = None, fail: bool = False) -> None:
        self.content = content or {}
        self.writes = 0
        self.fail = fail

    async def account_data(self, event_type: str) -> dict[str, Any]:
        assert event_type == M_DIRECT
        await asyncio.sleep(0)  # a request: other tasks run meanwhile
        if self.fail:
            raise MatrixActionError("read m.direct", "M_FORBIDDEN", "no")
        return {k: list(v) for k, v in self.content.items()}

    async def put_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        assert event_type == M_DIRECT
        self.writes += 1
        self.content = content


async def test_rooms_are_merged_with_what_is_there_and_written_once() -> None:
    gateway = FakeGateway({"@a:x": ["!old:x"], "@b:x": ["!b:x"]})
    index = DirectIndex(gateway)  # type: ignore[arg-type]
    await index.add("@a:x", "!new:x")
    await index.add("@a:x", "!new:x")
    await index.add("@b:x", "!b:x")  # listed already: nothing written
    await index.add("@c:x", "!c:x")
    assert gateway.content == {"@a:x": ["!old:x", "!new:x"], "@b:x": ["!b:x"],
                               "@c:x": ["!c:x"]}
    assert gateway.writes == 2


async def test_a_refusal_is_logged_not_raised() -> None:
    index = DirectIndex(FakeGateway(fail=True))  # type: ignore[arg-type]
    await index.add("@a:x", "!a:x")


async def test_rooms_added_at_once_are_written_together() -> None:
    """A storm of joins: the rooms added while one write is on its way go in the next one,
    so a hundred rooms cost two writes and no prompt waits for a hundred writes."""
    gateway = FakeGateway({"@old:x": ["!old:x"]})
    index = DirectIndex(gateway)  # type: ignore[arg-type]
    await asyncio.gather(*(index.add(f"@r{i}:x", f"!r{i}:x") for i in range(100)))
    assert gateway.writes <= 2
    assert len(gateway.content) == 101 and gateway.content["@old:x"] == ["!old:x"]
    assert all(gateway.content[f"@r{i}:x"] == [f"!r{i}:x"] for i in range(100))
