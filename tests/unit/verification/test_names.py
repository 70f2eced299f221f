"""Normalisation of names, phones, flats and enrolment codes: tables of cases."""

from __future__ import annotations

import math
import re

import pytest

from linli.common.errors import DomainError
from linli.verification.codes import (
    ALPHABET,
    BITS,
    format_code,
    new_code,
    parse_code,
    split_reply,
)
from linli.verification.names import (
    FlatRef,
    mask_name,
    mask_phone,
    names_match,
    normalise_name,
    normalise_phone,
    parse_flat_ref,
)


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("叶西·卓玛", "叶西·卓玛"),
        ("叶西•卓玛", "叶西·卓玛"),        # bullet
        ("叶西・卓玛", "叶西·卓玛"),       # katakana middle dot
        ("叶西･卓玛", "叶西·卓玛"),        # half-width katakana middle dot
        ("叶西‧卓玛", "叶西·卓玛"),        # hyphenation point
        ("叶西.卓玛", "叶西·卓玛"),        # a full stop when the keyboard has no dot
        ("叶西．卓玛", "叶西·卓玛"),       # full-width full stop
        ("叶西 · 卓玛", "叶西·卓玛"),      # spaces around the dot
        ("叶西卓玛", "叶西卓玛"),
        ("叶西卓玛", "叶西·卓玛"),         # phone keyboards have no middle dot
        (" 张 伟 ", "张伟"),               # surrounding and inner spaces
        ("张\u3000伟", "张伟"),            # ideographic space
        ("张伟\u200b", "张伟"),            # zero-width space from copy and paste
        ("ＡＮＮＡ　ＢＥＲＧ", "Anna Berg"),  # full-width Latin
        ("anna berg", "Anna Berg"),        # Latin case
        ("ANNA BERG", "anna  berg"),
        ("Straße", "STRASSE"),             # casefold, not lower
    ],
)
def test_names_that_match(typed: str, registered: str) -> None:
    assert names_match(typed, registered)


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("张卫", "张伟"),
        ("", ""),                           # nothing is never a match
        ("·", "·"),
        ("Anna", "Anna Berg"),
    ],
)
def test_names_that_do_not_match(typed: str, registered: str) -> None:
    assert not names_match(typed, registered)


def test_normal_form() -> None:
    assert normalise_name(" 叶西•卓玛 ") == "叶西·卓玛"
    assert normalise_name("·叶西·卓玛·") == "叶西·卓玛"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张伟", "张*"), ("欧阳娜娜", "欧*"), ("叶西·卓玛", "叶*"), ("Anna Berg", "A*"), ("", "*")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),   # full-width digits
        ("0891-6812345", "08916812345"),         # 4-digit area code, 7-digit number
        ("(0571) 8888 9999", "057188889999"),    # 4-digit area code, 8-digit number
        ("010-6512 3456", "01065123456"),        # Beijing
        ("021 5555 0110", "02155550110"),        # Shanghai
        ("０２１－５５５５０１１０", "02155550110"),  # full width
        ("+86 571 8888 9999", "057188889999"),   # a landline written internationally
        ("0086-10-65123456", "01065123456"),
        ("19912345678", "19912345678"),
        ("+852 9123 4567", "+85291234567"),      # Hong Kong, Macau, abroad: with + or 00
        ("00852 9123 4567", "+85291234567"),
        ("+1 (415) 555-0100", "+14155550100"),
    ],
)
def test_phones(typed: str, phone: str) -> None:
    assert normalise_phone(typed) == phone


@pytest.mark.parametrize("typed", [
    "", "1234", "138abc45678", "1" * 16, "电话",
    "12345",            # the 市民热线: no one's own phone
    "95588",            # a bank's service number
    "110",
    "12812345678",      # mobile numbers start 13-19
    "1381234567",       # one digit short
    "138123456789",     # one digit too many
    "88889999",         # a landline without its area code
    "0571-0888999",     # a local number cannot start with 0
    "0571-888999",      # too short
    "0571-888899991",   # too long
    "05718888999912",
    "+86 12345",
    "+8613812345",      # +86 but not a mainland number
    "+123",             # too short for any country
    "+1234567890123456",  # longer than E.164 allows
    "0571-88889999-123",  # an extension: put it in the note
])
def test_bad_phones(typed: str) -> None:
    with pytest.raises(DomainError) as info:
        normalise_phone(typed)
    assert info.value.key == "error.invalid_phone"


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("057188889999") == "057*****9999"
    assert mask_phone("+85291234567") == "+85*****4567"


@pytest.mark.parametrize(
    ("typed", "ref"),
    [
        ("3-2-301", FlatRef("3", "2", "301")),
        ("3/2/301", FlatRef("3", "2", "301")),
        ("3栋2单元301", FlatRef("3", "2", "301")),
        ("3栋2单元301室", FlatRef("3", "2", "301")),
        ("3号楼2单元301", FlatRef("3", "2", "301")),
        ("３－２－３０１", FlatRef("3", "2", "301")),
        ("3-301", FlatRef("3", "", "301")),
        ("3栋301", FlatRef("3", "", "301")),
        ("a座1单元1201", FlatRef("A", "1", "1201")),
    ],
)
def test_flat_refs(typed: str, ref: FlatRef) -> None:
    assert parse_flat_ref(typed) == ref


@pytest.mark.parametrize("typed", ["", "301", "3--301", "三栋", "3-2-301-4"])
def test_bad_flat_refs(typed: str) -> None:
    with pytest.raises(DomainError):
        parse_flat_ref(typed)


# codes ------------------------------------------------------------------------------------------
def test_alphabet_has_no_look_alikes_and_codes_carry_40_bits() -> None:
    assert len(set(ALPHABET)) == len(ALPHABET) == 32
    assert not set("ILOU") & set(ALPHABET)
    assert BITS >= 40
    assert math.log2(len(ALPHABET)) * 8 >= 40


def test_new_codes_are_random_and_well_formed() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == 8 and set(code) <= set(ALPHABET)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", format_code(code))
    # every symbol turns up: the draw uses the whole alphabet
    assert set("".join(codes)) == set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("7K3M-9QXZ", "7K3M9QXZ"),
        ("7k3m9qxz", "7K3M9QXZ"),
        (" 7k3m 9qxz ", "7K3M9QXZ"),
        ("７Ｋ３Ｍ－９ＱＸＺ", "7K3M9QXZ"),   # full width
        ("7K3M—9QXZ", "7K3M9QXZ"),            # em dash from a Chinese keyboard
        ("OI1L-0000", "0111" + "0000"),        # look-alikes read as digits
        ("ABCD-EFGU", "ABCDEFGV"),
    ],
)
def test_parse_code(typed: str, code: str) -> None:
    assert parse_code(typed) == code


@pytest.mark.parametrize("typed", ["", "7K3M-9QX", "7K3M-9QXZZ", "7K3M-9Q*Z", "验证码"])
def test_parse_code_refuses(typed: str) -> None:
    assert parse_code(typed) is None


@pytest.mark.parametrize(
    ("text", "code", "rest"),
    [
        ("7K3M-9QXZ 张伟", "7K3M9QXZ", "张伟"),
        ("张伟 7k3m9qxz", "7K3M9QXZ", "张伟"),
        ("张伟\n7K3M-9QXZ", "7K3M9QXZ", "张伟"),
        ("我的码是7K3M-9QXZ，张伟", "7K3M9QXZ", "我的码是 张伟"),
        ("Anna Berg 7K3M-9QXZ", "7K3M9QXZ", "Anna Berg"),
        ("你好", None, "你好"),
    ],
)
def test_split_reply(text: str, code: str | None, rest: str) -> None:
    assert split_reply(text) == (code, rest)
