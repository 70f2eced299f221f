"""How the dashboard answers: JSON, CSV (with a BOM for Excel), HTML, refusals, and the
security headers every answer carries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from linli.bot.features.enrolment.dashboard.access import Refused
from linli.bot.tables import Formatter, Table, render_csv
from linli.common.i18n import Translator

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


R = TypeVar("R", bound=web.StreamResponse)


@dataclass(frozen=True)
class Csv:
    filename: str
    table: Table


def respond(resp: R) -> R:
    resp.headers.update(SECURITY_HEADERS)
    return resp


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_body(result: Any) -> web.Response:
    return respond(web.json_response(result, dumps=dumps))


def csv_file(result: Csv, fmt: Formatter) -> web.Response:
    body = "\ufeff" + render_csv(result.table, fmt)  # the BOM lets Excel read UTF-8
    resp = web.Response(text=body, content_type="text/csv", charset="utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return respond(resp)


def html(text: str, status: int = 200) -> web.Response:
    return respond(web.Response(text=text, content_type="text/html", charset="utf-8",
                                status=status))


def stylesheet(css: str) -> web.Response:
    resp = web.Response(text=css, content_type="text/css", charset="utf-8")
    resp.headers.update(SECURITY_HEADERS)
    resp.headers["Cache-Control"] = "max-age=3600"
    return resp


def redirect(location: str) -> web.Response:
    return respond(web.Response(status=303, headers={"Location": location}))


def message(t: Translator, refused: Refused, locale: str) -> str:
    if t.has(refused.key):
        return t.render(locale, refused.key, **refused.params)
    return refused.key


def json_error(t: Translator, refused: Refused, locale: str) -> web.Response:
    resp = web.json_response(
        {"errcode": refused.errcode, "error": message(t, refused, locale)},
        status=refused.status,
    )
    if refused.status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="linli"'
    return respond(resp)
