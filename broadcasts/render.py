"""Rendering a bulletin for one room: placeholders, Markdown to Matrix HTML, nested replies.

Placeholders are ``{compound}``, ``{station}``, ``{officer}`` and ``{date}``. They are
filled per room by substitution of whole values (HTML-escaped in the formatted body), never by
gluing sentences. Other braces in a text are left alone; an unknown ``{word}`` is refused when
the bulletin is created, because it is almost always a typo.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markdown_it import MarkdownIt

from linli.broadcasts.model import RenderedMessage, Reply, Text
from linli.common.errors import DomainError
from linli.common.i18n import Translator

PLACEHOLDERS = ("compound", "station", "officer", "date")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_ANY_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# CommonMark without raw HTML: whatever an officer types is escaped, never passed through.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})


@dataclass(frozen=True)
class RoomContext:
    """The values a bulletin's placeholders take in one room."""

    compound: str
    station: str
    officer: str
    when: datetime
    timezone: str

    def values(self) -> dict[str, str]:
        local = self.when.astimezone(ZoneInfo(self.timezone))
        return {
            "compound": self.compound,
            "station": self.station,
            "officer": self.officer,
            "date": local.strftime("%Y-%m-%d"),
        }


def check_placeholders(text: Text) -> None:
    for piece in (text.title, *text.bodies):
        for match in _ANY_PLACEHOLDER.finditer(piece):
            if match.group(1) not in PLACEHOLDERS:
                raise DomainError(
                    "broadcasts.error.unknown_placeholder",
                    name=match.group(0),
                    known=" ".join("{" + p + "}" for p in PLACEHOLDERS),
                )


def fill(template: str, values: Mapping[str, str], escape: bool = False) -> str:
    def _sub(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return html.escape(value) if escape else value

    return _PLACEHOLDER.sub(_sub, template)


def markdown_to_html(source: str) -> str:
    rendered: str = _MARKDOWN.render(source)
    return rendered.strip()


# While Markdown is rendered, a placeholder stands as a plain word: ``{`` and ``}`` are
# punctuation to CommonMark, and ``**{compound}**明天`` would not close its emphasis (a closing
# ``**`` after punctuation must be followed by a space or punctuation, never by CJK text).
_TOKEN = "LinliPlaceholder{index}Q"
_TOKEN_RE = re.compile(r"LinliPlaceholder(\d)Q")


def _markdown_with_values(template: str, values: Mapping[str, str]) -> str:
    protected = _PLACEHOLDER.sub(
        lambda m: _TOKEN.format(index=PLACEHOLDERS.index(m.group(1))), template
    )
    return _TOKEN_RE.sub(
        lambda m: html.escape(values[PLACEHOLDERS[int(m.group(1))]]),
        markdown_to_html(protected),
    )


def render_bulletin(
    title: str, body: str, values: Mapping[str, str], mention_room: bool = False
) -> RenderedMessage:
    """A bulletin as a Matrix message: the Markdown source (filled) as ``body`` and its HTML
    rendering as ``formatted_body``."""
    plain_title = fill(title, values)
    plain_body = fill(body, values)
    html_title = html.escape(plain_title)
    # Render the template first and fill the HTML with escaped values, so a compound name
    # holding Markdown or HTML characters is shown as written.
    html_body = _markdown_with_values(body, values)
    return RenderedMessage(
        body=f"{plain_title}\n\n{plain_body}" if plain_title else plain_body,
        formatted_body=f"<p><strong>{html_title}</strong></p>\n{html_body}"
        if plain_title
        else html_body,
        mention_room=mention_room,
    )


def render_reply(translator: Translator, locale: str, reply: Reply) -> str:
    """Render a Reply whose parameters may be Replies themselves (rendered first, same
    locale)."""
    params = {
        k: render_reply(translator, locale, v) if isinstance(v, Reply) else v
        for k, v in reply.params.items()
    }
    return translator.render(locale, reply.key, **params)


def render_lines(translator: Translator, locale: str, lines: tuple[Reply, ...]) -> str:
    return "\n".join(render_reply(translator, locale, line) for line in lines)
