"""Printable contact cards (联系卡): one per household, several per A4 page.

Each card carries the compound and flat, the household's enrolment code, a QR code that opens
the room (a matrix.to link) with the room's address printed under it (``#alias:server``, for
those who cannot scan), the officer's name and phone and the compound's emergency and
utility numbers (``settings["emergency_numbers"]``: a list of ``{label, number}``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import qrcode
import qrcode.image.svg

from linli.common.i18n import Translator, format_local_time
from linli.community.model import Compound
from linli.verification.codes import format_code
from linli.verification.model import CodeIssue

DEFAULT_NUMBERS: tuple[tuple[str, str], ...] = (("报警 Police", "110"), ("火警 Fire", "119"),
                                                ("急救 Ambulance", "120"))


@dataclass(frozen=True)
class CardOfficer:
    name: str
    phone: str


def room_link(compound: Compound) -> str | None:
    """The matrix.to link of the compound's room: its alias if it has one, else its id."""
    target = compound.room_alias or compound.room_id
    if not target:
        return None
    return "https://matrix.to/#/" + quote(target, safe="@:!#")


def room_address(compound: Compound) -> str | None:
    """The room's address as people type it into a client (``#meiyuan:server``), printed
    under the QR code for residents who cannot scan; the room id if it has no alias."""
    return compound.room_alias or compound.room_id or None


def qr_svg(data: str) -> str:
    """An inline SVG QR code (no file, no network)."""
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    image = qr.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    svg: str = image.to_string(encoding="unicode")
    # Size by CSS, not by the millimetres qrcode writes into the element.
    return svg.replace('width="', 'data-w="', 1).replace('height="', 'data-h="', 1)


def emergency_numbers(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    raw = settings.get("emergency_numbers")
    if not isinstance(raw, list) or not raw:
        return list(DEFAULT_NUMBERS)
    out = []
    for item in raw:
        if isinstance(item, Mapping) and item.get("number"):
            out.append((str(item.get("label", "")), str(item["number"])))
    return out or list(DEFAULT_NUMBERS)


_CSS = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
       "Microsoft YaHei", sans-serif; margin: 0; color: #111; }
.sheet { display: grid; grid-template-columns: 1fr 1fr; gap: 6mm;
         page-break-after: always; break-after: page; }
.sheet:last-child { page-break-after: auto; break-after: auto; }
.card { border: 1px dashed #666; border-radius: 3mm; padding: 5mm; height: 86mm;
        display: flex; flex-direction: column; gap: 2mm; break-inside: avoid; }
.card h1 { font-size: 13pt; margin: 0; }
.flat { font-size: 15pt; font-weight: bold; }
.row { display: flex; gap: 4mm; align-items: center; }
.qr svg { width: 30mm; height: 30mm; display: block; }
.address { font-size: 7.5pt; line-height: 1.25; margin-top: -1mm; color: #333; }
.address span { font-family: "DejaVu Sans Mono", "Consolas", monospace; font-size: 8pt;
                color: #111; overflow-wrap: anywhere; }
.code-label { font-size: 9pt; color: #444; }
.code { font-family: "DejaVu Sans Mono", "Consolas", monospace; font-size: 20pt;
        letter-spacing: 1.5pt; font-weight: bold; }
.how { font-size: 8pt; line-height: 1.35; margin: 0; }
.contacts { font-size: 9pt; margin-top: auto; }
.contacts ul { margin: 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap;
               gap: 1mm 4mm; }
@media screen { body { background: #eee; } .sheet { background: #fff; width: 210mm;
                margin: 5mm auto; padding: 10mm; } }
"""


def render_cards(
    compound: Compound,
    issues: Sequence[CodeIssue],
    translator: Translator,
    officer: CardOfficer | None = None,
    per_page: int = 6,
) -> str:
    """The whole printable HTML document."""
    loc = compound.locale
    esc = html.escape
    link = room_link(compound)
    qr = qr_svg(link) if link else ""
    address = room_address(compound)
    address_html = (
        f'<div class="address">{esc(translator.render(loc, "cards.address"))} '
        f"<span>{esc(address)}</span></div>" if address else ""
    )
    numbers = emergency_numbers(compound.settings)
    number_items = "".join(
        f"<li>{esc(label)} <b>{esc(number)}</b></li>" for label, number in numbers
    )
    officer_html = ""
    if officer is not None:
        officer_html = (
            f"<div>{esc(translator.render(loc, 'cards.officer'))}: "
            f"{esc(officer.name)} <b>{esc(officer.phone)}</b></div>"
        )
    title = esc(translator.render(loc, "cards.title", compound=compound.name))
    cards = []
    for issue in issues:
        how = translator.render(loc, "cards.how", expires=format_local_time(
            issue.expires_at, compound.timezone, loc)[:10])
        cards.append(
            '<section class="card">'
            f"<h1>{title}</h1>"
            f'<div class="flat">{esc(issue.household.label(loc))}</div>'
            '<div class="row">'
            f'<div class="qr">{qr}</div>'
            "<div>"
            f'<div class="code-label">{esc(translator.render(loc, "cards.code"))}</div>'
            f'<div class="code">{esc(format_code(issue.code))}</div>'
            "</div></div>"
            f"{address_html}"
            f'<p class="how">{esc(how)}</p>'
            f'<div class="contacts">{officer_html}'
            f"<div>{esc(translator.render(loc, 'cards.numbers'))}:</div>"
            f"<ul>{number_items}</ul></div>"
            "</section>"
        )
    sheets = [
        '<div class="sheet">' + "".join(cards[i:i + per_page]) + "</div>"
        for i in range(0, len(cards), per_page)
    ]
    page_title = esc(translator.render(loc, "cards.page_title", compound=compound.name,
                                       count=len(cards)))
    lang = "zh-CN" if loc == "zh-CN" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{page_title}</title><style>{_CSS}</style></head><body>"
        + "".join(sheets)
        + "</body></html>\n"
    )
