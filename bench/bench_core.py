"""Figures for the pure core at a district's scale: directory look-ups per message and
question detection per message. Prints one line per figure."""

from __future__ import annotations

import random
import statistics
import time

from linli.common.ids import CompoundId, RoomID, StationId, UserID
from linli.community.model import Compound, Directory, Role, StaffGrant, Station
from linli.questions.detect import detect, topic_of
from linli.questions.settings import QuestionSettings

ROOMS = 2000
STATIONS = 40


def build_directory() -> Directory:
    stations = [Station(StationId(i), f"s{i}", f"站{i}", officers_room_id=RoomID(f"!off{i}:hs"))
                for i in range(STATIONS)]
    compounds = [Compound(CompoundId(i), f"c{i}", f"小区{i}", StationId(i % STATIONS),
                          RoomID(f"!room{i}:hs")) for i in range(ROOMS)]
    grants = []
    for i in range(STATIONS):
        grants += [StaffGrant(UserID(f"@officer{i}_{k}:hs"), Role.OFFICER, station_id=StationId(i))
                   for k in range(5)]
    for i in range(ROOMS):
        grants.append(StaffGrant(UserID(f"@wuye{i}:hs"), Role.PROPERTY, compound_id=CompoundId(i)))
    return Directory(stations, compounds, grants, ["@root:hs"])


def per_op(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for i in range(n):
            fn(i)
        runs.append((time.perf_counter() - started) / n)
    return statistics.median(runs)


def main() -> None:
    started = time.perf_counter()
    directory = build_directory()
    print(f"directory: built for {ROOMS} rooms, {len(directory.grants)} grants in "
          f"{(time.perf_counter() - started) * 1000:.1f} ms")

    def lookup(i: int) -> None:
        compound = directory.compound_by_room(f"!room{i % ROOMS}:hs")
        assert compound is not None
        directory.is_staff_in_compound(f"@resident{i}:hs", compound)

    print(
        f"directory: room -> compound -> is staff: {per_op(lookup, 100_000) * 1e6:.2f} µs/message"
    )

    settings = QuestionSettings()
    samples = ["请问身份证在哪里办？", "早上好", "楼下噪音太大了怎么办", "thanks!",
               "Is there a fire drill this week?", "哈哈哈哈", "有没有人知道物业电话",
               "我家狗走丢了"]
    rng = random.Random(1)
    texts = [rng.choice(samples) for _ in range(10_000)]

    def classify(i: int) -> None:
        detect(texts[i % len(texts)], settings)
        topic_of(texts[i % len(texts)], settings)

    print(f"questions: detect + topic: {per_op(classify, 20_000) * 1e6:.1f} µs/message")


if __name__ == "__main__":
    main()
