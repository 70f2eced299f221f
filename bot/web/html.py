"""Server-side HTML for the dashboard: small builders that escape every value they are given.

Nothing here trusts its input: text goes through :func:`esc`, URLs are built from quoted
parts, and no inline script or style is produced (the pages are served with a strict
Content-Security-Policy).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from urllib.parse import quote, urlencode

from linli.bot.tables import Formatter, Table, numeric_columns

MATRIX_TO = "https://matrix.to/#/"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def url(path: str, **query: str | None) -> str:
    """A local URL with query parameters (None values left out), escaped for an attribute."""
    params = {k: v for k, v in query.items() if v is not None}
    return esc(path + ("?" + urlencode(params) if params else ""))


def seg(text: str) -> str:
    """One path segment."""
    return quote(text, safe="")


def meter(percent: float) -> str:
    """A coverage bar: the native <meter> element needs no script and no inline style."""
    value = max(0.0, min(100.0, percent))
    return (f'<span class="bar"><meter min="0" max="100" low="50" high="80" optimum="100" '
            f'value="{value:.1f}">{value:.1f}%</meter> <span class="pct">{value:.1f}%</span>'
            f"</span>")


def table(
    t: Table, fmt: Formatter, *, csv_href: str | None = None, csv_label: str = "CSV",
    empty: str = "", caption: str | None = None, links: Mapping[str, Sequence[str]] | None = None,
    bars: Iterable[str] = (),
) -> str:
    """A table with localised headers. ``links`` maps a column to one href per row (already
    built with :func:`url`); ``bars`` names percent columns drawn as coverage bars; a value in
    the ``link`` column that is a matrix.to permalink becomes a link."""
    links = links or {}
    bar_columns = set(bars)
    numeric = numeric_columns(t)
    parts = ['<div class="table">']
    if caption or csv_href:
        parts.append('<div class="table-head">')
        if caption:
            parts.append(f"<h3>{esc(caption)}</h3>")
        if csv_href:
            parts.append(f'<a class="csv" href="{csv_href}" download>{esc(csv_label)}</a>')
        parts.append("</div>")
    if not t.rows:
        parts.append(f'<p class="empty">{esc(empty)}</p></div>')
        return "".join(parts)
    parts.append(f'<table class="data" data-table="{esc(t.name)}"><thead><tr>')
    for head, num in zip(fmt.header(t), numeric, strict=True):
        parts.append(f'<th{" class=num" if num else ""}>{esc(head)}</th>')
    parts.append("</tr></thead><tbody>")
    for i, row in enumerate(t.rows):
        parts.append("<tr>")
        for col, value, num in zip(t.columns, row, numeric, strict=True):
            text = fmt.cell(value)
            if col in bar_columns and isinstance(value, int | float):
                inner = meter(float(value))
            elif col in links:
                inner = f'<a href="{links[col][i]}">{esc(text)}</a>'
            elif col == "link" and isinstance(value, str) and value.startswith(MATRIX_TO):
                inner = f'<a href="{esc(value)}" rel="noopener noreferrer">{esc(fmt.t.render(fmt.locale, "dash.open_message"))}</a>'  # noqa: E501
            else:
                inner = esc(text)
            parts.append(f'<td{" class=num" if num else ""}>{inner}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def coverage_chart(points: Sequence[tuple[date, float]], label: str) -> str:
    """Coverage over time as an inline SVG line (0 to 100 %), oldest day on the left."""
    if not points:
        return ""
    width, height, margin = 600, 160, 24
    span = max(1, (points[-1][0] - points[0][0]).days)

    def xy(day: date, pct: float) -> str:
        x = margin + (width - 2 * margin) * ((day - points[0][0]).days / span)
        y = height - margin - (height - 2 * margin) * max(0.0, min(100.0, pct)) / 100
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(d, p) for d, p in points)
    dots = "".join(
        f'<circle cx="{xy(d, p).split(",")[0]}" cy="{xy(d, p).split(",")[1]}" r="2.5">'
        f"<title>{esc(d.isoformat())}: {p:.1f}%</title></circle>"
        for d, p in points
    )
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}">'
        f'<line class="axis" x1="{margin}" y1="{height - margin}" x2="{width - margin}" '
        f'y2="{height - margin}"/>'
        f'<line class="axis" x1="{margin}" y1="{margin}" x2="{width - margin}" y2="{margin}"/>'
        f'<text x="2" y="{margin + 4}">100%</text><text x="2" y="{height - margin + 4}">0%</text>'
        f'<polyline points="{line}"/>{dots}'
        f'<text x="{margin}" y="{height - 4}">{esc(points[0][0].isoformat())}</text>'
        f'<text x="{width - margin}" y="{height - 4}" text-anchor="end">'
        f"{esc(points[-1][0].isoformat())}</text></svg>"
    )
