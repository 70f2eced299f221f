"""Storage figures, on SQLite: what the event path costs per sync batch and per event (the
done-events look-up, one unit of work per event with its done-mark, the directory version
read), and the directory load."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from linli.common.clock import SystemClock
from linli.storage.db import Database
from linli.storage.repos.botstate import BotStateRepository
from linli.storage.repos.community import CommunityRepository


async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
    await db.upgrade()
    clock = SystemClock()
    state = BotStateRepository(db, clock)
    for batch in (10, 100, 1000):
        ids = [f"$b{batch}e{i}" for i in range(batch)]
        started = time.perf_counter()
        await state.done_events(ids)
        lookup = time.perf_counter() - started
        started = time.perf_counter()
        for event_id in ids:
            async with db.unit_of_work():
                await state.mark_done(event_id)
        per_event = (time.perf_counter() - started) / batch
        print(f"batch of {batch:>4}: done-events look-up {lookup * 1000:7.2f} ms; "
              f"unit of work with done-mark {per_event * 1e3:6.2f} ms/event")

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
    started = time.perf_counter()
    for _ in range(1000):
        await repo.directory_version()
    print(f"directory version: {(time.perf_counter() - started):.3f} ms per read "
          "(once per sync batch)")
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
