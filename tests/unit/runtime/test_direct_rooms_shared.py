"""Two processes record the same person's direct room at once (one created it, the other
found it by its marker in its sync): neither fails. The failure lost a verification prompt in
the three-process test: the process that created the room hit the other's row on insert."""

from __future__ import annotations

import asyncio

from linli.common.clock import FakeClock
from linli.storage.db import Database
from linli.storage.repos.botstate import DirectRoomRepository
from tests.pg import PostgresServer


async def test_the_same_room_recorded_by_two_processes_at_once(
    postgres: PostgresServer, clock: FakeClock
) -> None:
    url = postgres.create_database("linli_test_direct_rooms_race")
    first, second = Database(url), Database(url)
    await first.upgrade()
    try:
        a, b = DirectRoomRepository(first, clock), DirectRoomRepository(second, clock)
        for n in range(40):
            user, room = f"@r{n}:hs", f"!dm{n}:hs"
            await asyncio.gather(a.set(user, room), b.set(user, room), a.set(user, room))
        rooms = await a.all()
        assert rooms == {f"@r{n}:hs": f"!dm{n}:hs" for n in range(40)}
        await b.set("@r0:hs", "!new:hs")  # a new room for the person replaces the old one
        assert (await a.all())["@r0:hs"] == "!new:hs"
    finally:
        await first.close()
        await second.close()
