"""``linli compound import FILE.csv``: set up a district's compounds in one run.

One compound per row: ``slug, name, station`` and optionally ``mode`` (mute or knock),
``timezone`` and ``locale`` (the deployment's defaults when left out); English or Chinese
column titles, UTF-8 (with or without BOM) or GBK. Every row is checked before anything is
created; with a bad row nothing is created.

Resumable: compounds already in the database are skipped, so the same file can be run again
after an interruption (Ctrl-C, a lost connection, a crash) and creates only what is missing.
A room created just before an interruption, but not yet recorded, is found again by its alias
(``#slug:server``, which the bot made) and used, not created twice.

One start-up, one login and one look-up of the homeserver's room version serve every row, and
a few rooms are created at once (``--parallel``); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from linli.bot.cli import CliContext, CliError
from linli.bot.cli_core import bot_gateway
from linli.bot.features.compounds.cli import check_locale, check_timezone, station_staff
from linli.bot.features.verification.cli import report_line
from linli.common.errors import DomainError
from linli.common.i18n import humanize_duration
from linli.common.ids import parse_slug
from linli.community.model import AdmissionMode

ALIASES = {
    "slug": "slug", "简称": "slug", "代号": "slug", "编号": "slug",
    "name": "name", "名称": "name", "小区": "name", "小区名称": "name", "小区名": "name",
    "station": "station", "派出所": "station", "所属派出所": "station",
    "mode": "mode", "入群方式": "mode", "模式": "mode", "admission": "mode",
    "timezone": "timezone", "时区": "timezone", "tz": "timezone", "time zone": "timezone",
    "locale": "locale", "语言": "locale", "language": "locale",
}
REQUIRED = ("slug", "name", "station")
MODES = {"mute": "mute", "knock": "knock", "验证后发言": "mute", "禁言": "mute",
         "敲门": "knock", "申请加入": "knock"}
MAX_NAME = 100


@dataclass(frozen=True)
class Row:
    line: int
    slug: str
    name: str
    station: str
    mode: str
    timezone: str
    locale: str


@dataclass(frozen=True)
class Problem:
    line: int  # 0: the file
    column: str
    key: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)


def decode(data: bytes, encoding: str | None) -> str:
    for name in [encoding] if encoding else ["utf-8-sig", "gb18030"]:
        assert name is not None
        if name.lower().replace("-", "") in ("gbk", "gb2312", "cp936"):
            name = "gb18030"
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
        except LookupError:
            raise CliError("cli.bulk.encoding", encoding=name[:20]) from None
    raise CliError("cli.bulk.undecodable")


def parse(text: str, default_tz: str, default_locale: str) -> tuple[list[Row], list[Problem]]:
    """Every row checked on its own (the stations are checked against the database later)."""
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""),
                        delimiter="\t" if "\t" in first and "," not in first else ",")
    header = next(reader, None)
    if header is None:
        return [], [Problem(0, "", "cli.bulk.empty_file")]
    columns: dict[str, int] = {}
    problems: list[Problem] = []
    for index, title in enumerate(header):
        cleaned = unicodedata.normalize("NFKC", title).strip().strip("\ufeff").lower()
        key = ALIASES.get(cleaned)
        if key is None:
            if cleaned:
                problems.append(Problem(0, title.strip()[:30], "cli.bulk.unknown_column"))
        elif key in columns:
            problems.append(Problem(0, title.strip()[:30], "cli.bulk.duplicate_column"))
        else:
            columns[key] = index
    problems += [Problem(0, need, "cli.bulk.missing_column") for need in REQUIRED
                 if need not in columns]
    if problems:
        return [], problems

    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            index = columns.get(name)
            if index is None or index >= len(cells):
                return ""
            return unicodedata.normalize("NFKC", cells[index]).strip()

        before = len(problems)
        for need in REQUIRED:
            if not cell(need):
                problems.append(Problem(line, need, "cli.bulk.empty"))
        slug = cell("slug")
        if slug:
            try:
                parse_slug(slug)
            except DomainError as exc:
                problems.append(Problem(line, "slug", exc.key, exc.params))
            else:
                if slug in seen:
                    problems.append(Problem(line, "slug", "cli.bulk.duplicate",
                                            {"first": seen[slug]}))
                seen.setdefault(slug, line)
        if len(cell("name")) > MAX_NAME:
            problems.append(Problem(line, "name", "cli.bulk.too_long", {"max": MAX_NAME}))
        mode = MODES.get(cell("mode").lower() or "mute")
        if mode is None:
            problems.append(Problem(line, "mode", "cli.bulk.mode", {"value": cell("mode")[:20]}))
        tz, locale = cell("timezone") or default_tz, cell("locale") or default_locale
        try:
            tz = check_timezone(tz)
        except CliError:
            problems.append(Problem(line, "timezone", "cli.error.timezone", {"value": tz[:40]}))
        try:
            locale = check_locale(locale)
        except CliError:
            problems.append(Problem(line, "locale", "cli.error.locale", {"value": locale[:20]}))
        if len(problems) == before:
            rows.append(Row(line, slug, cell("name"), cell("station"), mode or "mute", tz,
                            locale))
    return rows, problems


def problem_line(ctx: CliContext, problem: Problem) -> str:
    return report_line(ctx, problem.line, problem.column, ctx.t(problem.key, **problem.params))


class Progress:
    """A bar redrawn in place on a terminal; elsewhere (a log file) a line every tenth."""

    def __init__(self, ctx: CliContext, total: int, stream: TextIO | None = None) -> None:
        self.ctx, self.total = ctx, total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.done = 0
        self.shown_tenth = 0

    def step(self, slug: str) -> None:
        self.done += 1
        tenth = self.done * 10 // max(1, self.total)
        if not self.tty and tenth == self.shown_tenth and self.done < self.total:
            return
        self.shown_tenth = tenth
        elapsed = max(1e-6, time.monotonic() - self.started)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        width = 24
        filled = width * self.done // max(1, self.total)
        text = self.ctx.t("cli.bulk.progress", bar="#" * filled + "-" * (width - filled),
                          done=self.done, total=self.total, rate=f"{rate:.1f}",
                          left=_minutes(self.ctx, left), slug=slug)
        if self.tty:
            print("\r\033[K" + text, end="", file=self.stream, flush=True)
        else:
            print(text, file=self.stream, flush=True)

    def end(self) -> None:
        if self.tty and self.done:
            print(file=self.stream, flush=True)


def _minutes(ctx: CliContext, seconds: float) -> str:
    return humanize_duration(timedelta(seconds=round(seconds)), ctx.locale)


async def import_compounds(ctx: CliContext, args: argparse.Namespace) -> int:
    # The Matrix client (nio, aiohttp) is loaded only for a file whose rows are all good.
    from linli.bot.features.compounds.rooms import compound_room
    from linli.bot.matrix.gateway import MatrixActionError

    path = Path(args.file)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise CliError("cli.error.read", path=str(path), reason=exc.strerror) from None
    rows, problems = parse(decode(data, args.encoding), ctx.config.bot.default_timezone,
                           ctx.config.bot.default_locale)
    repo = (await ctx.services()).community
    directory = await repo.load_directory()
    todo: list[Row] = []
    skipped = 0
    for row in rows:
        station = directory.station_by_slug(row.station)
        existing = directory.compound_by_slug(row.slug)
        if station is None:
            problems.append(Problem(row.line, "station", "cli.bulk.no_station",
                                    {"value": row.station[:40]}))
        elif existing is not None and existing.station_id != station.id:
            problems.append(Problem(row.line, "slug", "cli.bulk.other_station", {
                "slug": row.slug, "station": directory.stations[existing.station_id].slug}))
        elif existing is not None:
            skipped += 1
        else:
            todo.append(row)
    for problem in sorted(problems, key=lambda p: (p.line, p.column)):
        ctx.out(problem_line(ctx, problem))
    if problems:
        ctx.say("cli.bulk.nothing_created", bad=len({p.line for p in problems}))
        return 1
    ctx.say("cli.bulk.checked", rows=len(rows), new=len(todo), existing=skipped)
    if not todo:
        return 0

    created = 0
    failures: list[tuple[Row, str]] = []
    progress = Progress(ctx, len(todo))
    limit = asyncio.Semaphore(max(1, min(args.parallel, 16)))
    staff = {s.id: station_staff(directory, s.id) for s in directory.stations.values()}

    async def create(row: Row, gateway: Any, creator_power: bool) -> None:
        nonlocal created
        station = directory.station_by_slug(row.station)
        assert station is not None
        async with limit:
            try:
                room = await compound_room(
                    gateway, ctx.translator, name=row.name, slug=row.slug, locale=row.locale,
                    mode=AdmissionMode(row.mode), staff=staff[station.id],
                    creator_power=creator_power,
                )
                await repo.create_compound(
                    slug=row.slug, name=row.name, station_id=station.id, room_id=room.room_id,
                    room_alias=room.alias, timezone=row.timezone, locale=row.locale,
                    admission_mode=AdmissionMode(row.mode),
                )
            except (MatrixActionError, DomainError) as exc:
                detail = (ctx.t(exc.key, **exc.params) if isinstance(exc, DomainError)
                          and ctx.translator.has(exc.key) else str(exc))
                failures.append((row, detail))
            except Exception as exc:  # noqa: BLE001 - one row never stops the others
                failures.append((row, type(exc).__name__))
            else:
                created += 1
            progress.step(row.slug)

    started = time.monotonic()
    try:
        async with bot_gateway(ctx) as gateway:
            creator_power = await gateway.default_room_version_gives_creator_power()
            async with asyncio.TaskGroup() as group:
                for row in todo:
                    group.create_task(create(row, gateway, creator_power))
    except asyncio.CancelledError:
        progress.end()
        print(ctx.t("cli.bulk.interrupted", created=created, left=len(todo) - created),
              file=sys.stderr, flush=True)
        raise
    progress.end()
    for row, detail in sorted(failures, key=lambda f: f[0].line):
        ctx.say("cli.bulk.failed", row=row.line, slug=row.slug, detail=detail)
    ctx.say("cli.bulk.done", created=created, skipped=skipped, failed=len(failures),
            elapsed=_minutes(ctx, time.monotonic() - started))
    return 1 if failures else 0
