"""Contact cards print the room's address as text under the QR code, for residents who
cannot scan it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from linli.bot.messages import all_catalogs
from linli.common.i18n import Translator
from linli.common.ids import CompoundId, HouseholdId, RoomID, StationId
from linli.community.model import Compound
from linli.verification.cards import render_cards, room_address
from linli.verification.model import CodeIssue, Household

T = Translator(all_catalogs())


def compound(alias: str | None, locale: str = "zh-CN") -> Compound:
    return Compound(id=CompoundId(1), slug="meiyuan", name="梅园小区", station_id=StationId(1),
                    room_id=RoomID("!abc:linli.example"), room_alias=alias, locale=locale)


ISSUES = [CodeIssue(Household(HouseholdId(n), CompoundId(1), "3", "2", f"30{n}"),
                    "ABCDEFGH", datetime(2027, 1, 1, tzinfo=UTC)) for n in (1, 2)]


@pytest.mark.parametrize(("alias", "shown"), [
    ("#meiyuan:linli.example", "#meiyuan:linli.example"),
    (None, "!abc:linli.example"),   # no alias: the room id still lets a client find it
    ("#<b>x</b>:hs", "#&lt;b&gt;x&lt;/b&gt;:hs"),
])
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_address_is_printed_under_the_qr_code(
    alias: str | None, shown: str, locale: str
) -> None:
    html = render_cards(compound(alias, locale), ISSUES, T)
    cards = html.split('<section class="card">')[1:]
    assert len(cards) == 2
    label = "无法扫码" if locale == "zh-CN" else "Cannot scan"
    for card in cards:
        qr_then_address = re.search(  # the next block after the QR code's row
            r'class="qr"><svg.*?</svg></div><div>.*?</div></div>'
            r'<div class="address">([^<]*)<span[^>]*>([^<]+)</span>', card, re.S)
        assert qr_then_address is not None, card
        assert label in qr_then_address.group(1)
        assert qr_then_address.group(2) == shown
    assert ".address" in html  # styled to fit under the code


def test_room_address_prefers_the_alias() -> None:
    assert room_address(compound("#meiyuan:hs")) == "#meiyuan:hs"
    assert room_address(compound(None)) == "!abc:linli.example"
