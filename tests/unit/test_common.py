from __future__ import annotations

from datetime import timedelta

import pytest

from linli.common.durations import format_duration, parse_duration
from linli.common.errors import DomainError
from linli.common.i18n import Translator, catalogue, humanize_duration
from linli.common.ids import parse_user_id


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("72h", 259200), ("7d", 604800), ("1h30m", 5400),
     ("2w", 1209600), (" 48H ", 172800), ("2小时", 7200), ("3天", 259200)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10", "h", "-5m", "5x", "0s", "1h junk", "abc"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_duration(text)
    assert info.value.key == "error.invalid_duration"


def test_format_duration_round_trips() -> None:
    for text in ("90s", "30m", "72h", "7d", "1h30m"):
        assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_user_ids() -> None:
    assert parse_user_id(" @a:example.org ") == "@a:example.org"
    for bad in ("a:example.org", "@a", "@:x", "@a b:x"):
        with pytest.raises(DomainError):
            parse_user_id(bad)


def test_translator_renders_both_locales_and_checks_fields() -> None:
    t = Translator([catalogue("common")])
    assert t.problems() == []
    assert "90x" in t.render("en", "error.invalid_duration", value="90x")
    assert "时长" in t.render("zh-CN", "error.invalid_duration", value="90x")
    broken = Translator([{"k": {"zh-CN": "{a}", "en": "{b}"}}])
    assert broken.problems() == ["k: fields differ between locales"]


def test_humanize_duration() -> None:
    assert humanize_duration(timedelta(minutes=90), "zh-CN") == "1小时30分钟"
    assert humanize_duration(timedelta(minutes=90), "en") == "1 hr 30 min"  # CLDR short units
    assert humanize_duration(timedelta(days=2, hours=3, minutes=4), "zh-CN") == "2天3小时"
    assert humanize_duration(timedelta(seconds=0), "zh-CN") == "0秒"
    assert humanize_duration(timedelta(hours=1), "en") == "1 hr"
