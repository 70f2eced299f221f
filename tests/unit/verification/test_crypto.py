"""Personal-data protection: encryption round trips, keyed hashes, rotation."""

from __future__ import annotations

import pytest

from linli.common.crypto import DataKeyError, DataProtector, DecryptError, generate_key, parse_key

A = b"a" * 32
B = b"b" * 32


@pytest.mark.parametrize("text", ["张伟", "叶西·卓玛", "", "x" * 1000, "13812345678"])
def test_round_trip(text: str) -> None:
    p = DataProtector(A)
    blob = p.encrypt(text)
    assert text.encode() not in blob or text == ""
    assert p.decrypt(blob) == text
    assert p.encrypt(text) != blob  # a fresh nonce every time


def test_keyed_hashes_are_stable_per_purpose_and_key() -> None:
    p = DataProtector(A)
    assert p.keyed_hash("person-name", "张伟") == p.keyed_hash("person-name", "张伟")
    assert p.keyed_hash("person-name", "张伟") != p.keyed_hash("person-phone", "张伟")
    other = DataProtector(B)
    assert p.keyed_hash("person-name", "张伟") != other.keyed_hash("person-name", "张伟")
    assert len(p.keyed_hash("x", "y")) == 64


def test_rotation_decrypts_old_values_and_looks_up_under_every_key() -> None:
    old = DataProtector(A)
    blob = old.encrypt("张伟")
    code_hash = old.keyed_hash("enrolment-code", "7K3M9QXZ")
    new = DataProtector(B, previous=[A])
    assert new.decrypt(blob) == "张伟"
    assert not new.is_current(blob)
    assert new.is_current(new.encrypt("张伟"))
    assert code_hash in new.keyed_hashes("enrolment-code", "7K3M9QXZ")
    assert new.keyed_hashes("enrolment-code", "7K3M9QXZ")[0] == new.keyed_hash(
        "enrolment-code", "7K3M9QXZ")
    with pytest.raises(DecryptError):
        DataProtector(B).decrypt(blob)  # the old key dropped: no longer readable


def test_tampering_is_detected() -> None:
    p = DataProtector(A)
    blob = bytearray(p.encrypt("张伟"))
    blob[-1] ^= 1
    with pytest.raises(DecryptError):
        p.decrypt(bytes(blob))
    with pytest.raises(DecryptError):
        p.decrypt(b"short")


def test_keys_are_parsed_and_generated() -> None:
    key = generate_key()
    assert len(parse_key(key)) == 32
    p = DataProtector.from_strings(key, [generate_key()])
    assert len(p.key_ids) == 2
    for bad in ("", "not base64!!", "c2hvcnQ="):
        with pytest.raises(DataKeyError) as info:
            parse_key(bad)
        assert bad not in str(info.value) or bad == ""
    with pytest.raises(DataKeyError):
        DataProtector.from_strings(None)
    assert "a" * 10 not in repr(DataProtector(A))
