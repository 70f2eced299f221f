"""The district benchmark (issue 11): ``make bench-district``.

Part 1 (bench/district_real.py) runs a local Synapse, the real ``linli run`` process and real
clients: rooms created through the bot, then a storm of joins, codes, questions and an urgent
notice to every room. Part 2 (bench/district_synthetic.py) feeds the bot's real sync processing
with generated sync responses of a district (2,000 rooms, 300,000 members), on SQLite and, with
``--pg``, on PostgreSQL. The figures go to bench/results/district.json and a table is printed.

    python bench/district.py [--rooms 2000] [--residents 200] [--members 300000] [--pg]
                             [--db sqlite|pg] [--processes N] [--skip-real] [--skip-synthetic]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
RESULTS = HERE / "results" / "district.json"

# The goals: (key, description, test).
GOALS: list[tuple[str, str, Any]] = [
    ("join_prompt_ms.p95", "join → prompt p95 ≤ 300 ms", lambda v: v <= 300),
    ("code_speak_ms.p95", "code → can post p95 ≤ 200 ms", lambda v: v <= 200),
    ("fanout_ratio", "fan-out ≥ 0.9 × bare client", lambda v: v >= 0.9),
    ("flag_late_s_max", "flag lateness ≤ 2 s", lambda v: v <= 2),
    ("synthetic.sqlite.rss_mib_peak", "peak RSS < 1 GiB with 300,000 members",
     lambda v: v < 1024),
    ("synthetic.sqlite.handle_to_parse_ratio", "per-event handling ≤ 1.5 × nio parse",
     lambda v: v <= 1.5),
]


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def dig(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)  # type: ignore[assignment]
    return data


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"{one:.1f}/{five:.1f}"
    except OSError:
        return "?"


def synthetic(args: argparse.Namespace, db: str) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE / "district_synthetic.py"), "--rooms", str(args.synth_rooms),
           "--members", str(args.members), "--events", str(args.events), "--db", db]
    log(f"part 2 ({db}): {args.synth_rooms} rooms, {args.members} members, "
        f"{args.events} events")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=HERE.parent)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def table(r: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []

    def add(label: str, value: Any, unit: str = "") -> None:
        if value is not None:
            rows.append((label, f"{value}{unit}"))

    if "rooms" in r:
        add("rooms (part 1)", r["rooms"])
        add("database (part 1)", r.get("db", "sqlite"))
        add("bot processes (part 1)", r.get("processes", 1))
        add("rooms created per second", r.get("rooms_created_per_s"))
        add("residents in the storm", r.get("residents"))
        for key, label in (("join_prompt_ms", "join → DM prompt"),
                           ("code_speak_ms", "code → can post")):
            p = r.get(key) or {}
            if p.get("p50") is not None:
                add(f"{label} p50/p95/p99", f"{p['p50']:.0f} / {p['p95']:.0f} / {p['p99']:.0f}",
                    " ms")
        add("flag lateness after the deadline (max)", r.get("flag_late_s_max"), " s")
        add("notice in the storm: command → acknowledged", r.get("notice_ack_s"), " s")
        add("notice in the storm, rooms per second", r.get("notice_rooms_per_s"))
        add("notice alone, rooms per second", r.get("notice_quiet_rooms_per_s"))
        add("bare nio client alone, rooms per second", r.get("bare_rooms_per_s"))
        add("fan-out ratio (notice alone / bare)", r.get("fanout_ratio"))
        add("fan-out ratio (notice in the storm / bare)", r.get("fanout_ratio_storm"))
        p = r.get("dm_floor_ms") or {}
        if p.get("p50") is not None:
            add("floor: bare client opens every DM at once, to each prompt p50/p95/p99",
                f"{p['p50']:.0f} / {p['p95']:.0f} / {p['p99']:.0f}", " ms")
            add("floor: all the storm's DMs by the bare client", r.get("dm_floor_s"), " s")
        add("bot peak RSS (part 1)", r.get("rss_mib_peak"), " MiB")
        add("bot CPU seconds (whole run / storm)",
            f"{r.get('bot_cpu_s')} / {r.get('bot_cpu_s_storm')}")
        add("Synapse CPU seconds in the storm (storm wall time)",
            f"{r.get('synapse_cpu_s_storm')} ({r.get('storm_s')} s)")
        add("failures in the storm", r.get("failures_total"))
    for db, s in (r.get("synthetic") or {}).items():
        add(f"part 2 [{db}] rooms / members / events",
            f"{s['rooms']} / {s['members']} / {s['events']}")
        add(f"part 2 [{db}] CPU per event", s["cpu_ms_per_event"], " ms")
        add(f"part 2 [{db}] events per second", s["events_per_s"])
        add(f"part 2 [{db}] nio parse per event", s["parse_ms_per_event"], " ms")
        add(f"part 2 [{db}] handling / parse", s["handle_to_parse_ratio"], "×")
        add(f"part 2 [{db}] peak RSS", s["rss_mib_peak"], " MiB")
    width = max(len(a) for a, _ in rows)
    lines = [f"| {'figure':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {a:<{width}} | {b} |" for a, b in rows]
    lines.append("")
    for key, text, ok in GOALS:
        value = dig(r, key)
        if value is not None:
            lines.append(f"- goal {text}: {value} — {'met' if ok(value) else 'MISSED'}")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rooms", type=int, default=2000, help="compound rooms in part 1")
    p.add_argument("--stations", type=int, default=4)
    p.add_argument("--residents", type=int, default=200, help="residents in the storm")
    p.add_argument("--questions", type=int, default=50, help="of them, how many ask")
    p.add_argument("--deadline", type=int, default=20, help="question deadline, seconds")
    p.add_argument("--tick", type=int, default=1, help="the bot's tick interval, seconds")
    p.add_argument("--parallel", type=int, default=8, help="compound import --parallel")
    p.add_argument("--spread", type=float, default=2.0,
                   help="seconds over which the storm's joins start")
    p.add_argument("--wait", type=float, default=600.0, help="seconds to wait for an outcome")
    p.add_argument("--synth-rooms", type=int, default=2000)
    p.add_argument("--members", type=int, default=300_000)
    p.add_argument("--events", type=int, default=4000, help="timeline events in part 2")
    p.add_argument("--pg", action="store_true", help="part 2 on PostgreSQL too")
    p.add_argument("--db", choices=["sqlite", "pg"], default="sqlite",
                   help="the bot's database in part 1")
    p.add_argument("--processes", type=int, default=1,
                   help="bot processes in part 1 (more than one: on PostgreSQL)")
    p.add_argument("--skip-real", action="store_true")
    p.add_argument("--skip-synthetic", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the working folder")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()

    started = time.monotonic()
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_at_start": load()},
    }
    work = Path(tempfile.mkdtemp(prefix="linli-district-"))
    try:
        if not args.skip_real:
            from bench.district_real import run

            log(f"part 1: {args.rooms} rooms, {args.residents} residents")
            result.update(asyncio.run(run(args, work, log)))
        if not args.skip_synthetic:
            result["synthetic"] = {"sqlite": synthetic(args, "sqlite")}
            if args.pg:
                pg_bin = list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
                if pg_bin:
                    result["synthetic"]["postgresql"] = synthetic(args, "pg")
                else:
                    log("--pg: PostgreSQL binaries not found; skipped")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    result["machine"]["load_at_end"] = load()
    result["total_s"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(table(result))
    print(f"\n{args.out} written; {result['total_s']:.0f} s, load {result['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
