"""The bot's m.direct: rooms added by read-modify-write, merged with what is there, written
only when something is missing; a homeserver refusal never holds a direct message back."""

from __future__ import annotations

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
