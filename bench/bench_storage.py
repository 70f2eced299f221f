"""Storage figures: the at-most-once ledger per sync batch and the directory load, on SQLite."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from common.clock import SystemClock
from storage.db import Database
from storage.repos.botstate import BotStateRepository
from storage.repos.community import CommunityRepository


async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
    await db.upgrade()
    clock = SystemClock()
    state = BotStateRepository(db, clock)
    for batch in (10, 100, 1000):
        started = time.perf_counter()
        rounds = 20
        for r in range(rounds):
            await state.claim_events(f"$b{batch}r{r}e{i}" for i in range(batch))
        per_batch = (time.perf_counter() - started) / rounds
        print(f"claim_events: batch of {batch:>4}: {per_batch * 1000:7.2f} ms "
              f"({per_batch / batch * 1e6:6.1f} µs/event)")

    repo = CommunityRepository(db, clock)
    for s in range(40):
        await repo.create_station(f"s{s}", f"站{s}")
    stations = {s.slug: s for s in await repo.list_stations()}
    started = time.perf_counter()
    for i in range(2000):
        await repo.create_compound(slug=f"c{i}", name=f"小区{i}",
                                   station_id=stations[f"s{i % 40}"].id,
                                   room_id=f"!room{i}:hs")
    print(f"compounds: 2000 created in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    directory = await repo.load_directory()
    print(f"directory: loaded {len(directory.compounds)} compounds in "
          f"{(time.perf_counter() - started) * 1000:.1f} ms (three queries)")
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
