"""Tables of values shared by ``linli report``, the dashboard, its CSV export and its JSON API.

A :class:`Table` has machine column names (the JSON keys) and rows of plain values; headers
and cell texts for people come from the message catalogs (``table.<name>.<column>``), so one
table renders the same in a terminal, a web page and a CSV file, in zh-CN or English.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from linli.common.i18n import Translator, format_local_time, humanize_duration

Cell = str | int | float | bool | None | datetime | date | timedelta | tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """One table: ``name`` picks its header keys; ``rows`` hold values in column order."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        """The rows as JSON objects: datetimes in ISO 8601 UTC, durations in seconds."""
        return [
            {col: json_value(value) for col, value in zip(self.columns, row, strict=True)}
            for row in self.rows
        ]


def json_value(value: Cell) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return round(value.total_seconds(), 3)
    if isinstance(value, tuple):
        return list(value)
    return value


class Formatter:
    """Turns cells into text for people, in one locale and time zone."""

    def __init__(self, translator: Translator, locale: str, timezone: str) -> None:
        self.t = translator
        self.locale = locale
        self.timezone = timezone

    def header(self, table: Table) -> list[str]:
        return [self.t.render(self.locale, f"table.{table.name}.{col}") for col in table.columns]

    def cell(self, value: Cell) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return self.t.render(self.locale, "table.yes" if value else "table.no")
        if isinstance(value, datetime):
            return format_local_time(value, self.timezone, self.locale)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, timedelta):
            return humanize_duration(value, self.locale)
        if isinstance(value, float):
            return f"{value:.1f}"
        if isinstance(value, tuple):
            return " ".join(value)
        return str(value)

    def texts(self, table: Table) -> list[list[str]]:
        return [[self.cell(v) for v in row] for row in table.rows]


# ---- terminal and CSV ---------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Terminal columns: wide and full-width (CJK) characters take two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def terminal_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                   numeric: Sequence[bool] | None = None) -> list[str]:
    """Columns aligned by display width; numeric columns right-aligned."""
    numeric = list(numeric or [False] * len(header))
    widths = [max(display_width(c) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            pad(c, w, right=n) for c, w, n in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def numeric_columns(table: Table) -> list[bool]:
    return [
        bool(table.rows) and all(
            isinstance(row[i], int | float) and not isinstance(row[i], bool) or row[i] is None
            for row in table.rows
        )
        for i in range(len(table.columns))
    ]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A Matrix user id (grammar of the spec: no brackets, bars or spaces that a formula needs) is
# left as it is, so exported account names stay usable.
_MATRIX_ID = re.compile(r"@[a-z0-9._=/+\-]+:[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


def _csv_safe(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; a leading ' keeps them text."""
    if not text.startswith(_FORMULA_START) or _MATRIX_ID.fullmatch(text):
        return text
    return "'" + text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_safe(h) for h in header])
    for row in rows:
        writer.writerow([_csv_safe(c) for c in row])
    return out.getvalue()


def render_csv(table: Table, fmt: Formatter) -> str:
    return csv_text(fmt.header(table), (_csv_cells(row, fmt) for row in table.rows))


def _csv_cells(row: Sequence[Cell], fmt: Formatter) -> list[str]:
    # Numbers stay machine-readable in CSV (no "—" for a missing one, no rounding to text).
    out = []
    for v in row:
        if v is None:
            out.append("")
        elif isinstance(v, float):
            out.append(f"{v:.1f}")
        else:
            out.append(fmt.cell(v))
    return out


def localise_column(table: Table, fmt: Formatter, column: str, prefix: str) -> Table:
    """Machine words of one column (states, topics) through the catalog, as ``prefix.word``;
    JSON keeps the machine values, people read these."""
    i = table.columns.index(column)

    def word(value: Cell) -> Cell:
        key = f"{prefix}.{value}"
        if value is None or not fmt.t.has(key):
            return value
        return fmt.t.render(fmt.locale, key)

    rows = [(*row[:i], word(row[i]), *row[i + 1:]) for row in table.rows]
    return Table(table.name, table.columns, rows)
