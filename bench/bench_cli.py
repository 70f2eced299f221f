"""Command-line figures: how long ``linli`` takes to start, and how many compounds a minute
``linli compound create`` and the bulk ``linli compound import`` set up on a local Synapse.

The commands run as an operator runs them: the installed ``linli`` in a fresh process each
time; start-up and ``compound create`` figures are medians of five runs, the bulk run is one
run of ``BENCH_CLI_COMPOUNDS`` compounds (default 100), then the same file again.

Measured on the development machine (2 cores, loaded by other test runs: load average about
3.5, so read the ratios more than the seconds), at the commit before issue 13 and after it
(lazy imports, no Alembic run on a database at the newest migration, the bulk form), one run
each, a few seconds apart:

==========================================  ==========  ==========
                                            before      after
==========================================  ==========  ==========
imports before a command runs               1.15 s      0.08 s
``linli --help``                            1.75 s      0.13 s
``linli compound list``                     1.99 s      0.59 s
``linli compound create``, each             2.17 s      1.16 s
``linli compound import``, per compound     (none)      0.11 s
2,000 compounds                             ~72 min     ~4 min
==========================================  ==========  ==========

(2,000 compounds before: 2,000 ``compound create`` at 2.17 s; after: the bulk form at 9.1
compounds a second, ``--parallel 4``; 1, 2, 4 and 8 at once measured 10.8 to 12.0 a second:
the homeserver is the bound.) What is left of ``compound create`` is mostly importing nio and
aiohttp (0.76 s of 1.34 s under cProfile) and the homeserver's work.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINLI = Path(sys.executable).parent / "linli"


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-500:]}")
    return took, proc.stdout


def median_of(runs: int, argv: list[str], env: dict[str, str] | None = None) -> float:
    return statistics.median(timed(argv, env)[0] for _ in range(runs))


def import_time() -> float:
    """Seconds of imports behind ``build_parser()`` (what every command pays before it runs),
    summed over the top-level imports that ``-X importtime`` reports."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "import linli.bot.cli as c; c.build_parser()"],
        capture_output=True, text=True, check=True, cwd=HERE.parent,
    )
    total = 0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            total += int(parts[1])
    return total / 1e6


def main() -> None:
    from linli.bot.devserver import LocalSynapse

    count = int(os.environ.get("BENCH_CLI_COMPOUNDS", "100"))
    tmp = Path(tempfile.mkdtemp(prefix="linli-bench-cli-"))
    hs = LocalSynapse(tmp / "synapse")
    hs.start()
    try:
        admin = hs.register("benchadmin", admin=True)
        bot = hs.register("linli")
        hs.exempt_from_rate_limits(admin.access_token, bot.user_id)
        config = tmp / "config.yaml"
        config.write_text(
            f"matrix:\n  homeserver: {hs.base_url}\n  user_id: \"{bot.user_id}\"\n"
            f"database:\n  url: sqlite:///{tmp / 'linli.db'}\n", encoding="utf-8",
        )
        env = dict(os.environ, LINLI_MATRIX__ACCESS_TOKEN=bot.access_token,
                   LINLI_SECURITY__DATA_KEY="k" * 43 + "=")
        base = [str(LINLI), "--config", str(config)]
        timed([*base, "db", "upgrade"], env)
        timed([*base, "station", "create", "bench", "--name", "测试派出所"], env)

        print(f"imports before a command runs: {import_time():6.2f} s")
        print(f"linli --help:                 {median_of(5, [str(LINLI), '--help']):6.2f} s")
        listing = median_of(5, [*base, "compound", "list"], env)
        print(f"linli compound list:          {listing:6.2f} s")
        singles = []
        for i in range(5):
            took, _ = timed([*base, "compound", "create", f"single{i}", "--name", f"单个{i}",
                             "--station", "bench"], env)
            singles.append(took)
        print(f"linli compound create (each): {statistics.median(singles):6.2f} s")

        help_text = subprocess.run([*base, "compound", "--help"], capture_output=True,
                                   text=True, env=env, check=False).stdout
        if not re.search(r"\bimport\b", help_text):
            print("bulk compound import:         (not available)")
            return
        csv = tmp / "compounds.csv"
        rows = ["slug,name,station,mode,timezone"]
        rows += [f"bulk{i},小区{i},bench,{'knock' if i % 5 == 0 else 'mute'},Asia/Shanghai"
                 for i in range(count)]
        csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        took, _ = timed([*base, "compound", "import", str(csv)], env)
        print(f"bulk compound import:         {count} compounds in {took:.1f} s "
              f"({took / count:.2f} s each, {count / took:.1f}/s, "
              f"2,000 in about {2000 * took / count / 60:.0f} min)")
        again, _ = timed([*base, "compound", "import", str(csv)], env)
        print(f"the same file again:          {again:.1f} s (every row skipped)")
    finally:
        hs.stop()


if __name__ == "__main__":
    main()
