"""Protection of residents' personal data: encryption at rest and keyed look-up hashes.

A data key is 32 random bytes, written as url-safe base64. From it two kinds of sub-keys are
derived with HKDF-SHA256, one per purpose, so no raw key is used twice:

- an AES-256-GCM key encrypts names, phones and notes. Each ciphertext starts with a version
  byte and a 4-byte key id, so values written under an older key still decrypt while that
  key is listed among the previous keys.
- an HMAC-SHA256 key per *purpose* ("person-name", "person-phone", "enrolment-code") gives
  keyed hashes: equal inputs give equal hashes, so the database can be searched by them,
  but without the key nobody can test a guessed name against the table.

Rotation: a new current key is configured and the old one moves to the previous keys;
``linli keys rotate`` then re-encrypts every value and recomputes every keyed hash it can
(names and phones, whose plaintext it can decrypt). Enrolment codes exist only as keyed
hashes and cannot be recomputed; look-ups therefore try the hashes under every configured
key (:meth:`DataProtector.keyed_hashes`), so printed cards keep working while their old key
stays among the previous keys. Codes still bound to an old key are counted by the rotate
command; drop that key only after those codes have expired or been re-issued.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE = 12
_KID = 4


class DataKeyError(ValueError):
    """A data key is missing or malformed; the message says what to do (never the key)."""


class DecryptError(Exception):
    """A stored value cannot be decrypted: its key is not configured, or it was altered."""


def generate_key() -> str:
    """A fresh data key, url-safe base64 of 32 random bytes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def parse_key(text: str, name: str = "security.data_key") -> bytes:
    """Decode a data key; the error names the setting, never its value."""
    value = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", value):
        raise DataKeyError(
            f"{name} is not url-safe base64; create one with `linli keys generate`"
        )
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise DataKeyError(
            f"{name} is not url-safe base64; create one with `linli keys generate`"
        ) from None
    if len(raw) != 32:
        raise DataKeyError(
            f"{name} must decode to 32 bytes (it has {len(raw)}); "
            "create one with `linli keys generate`"
        )
    return raw


def _derive(key: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(key)


class _Key:
    __slots__ = ("aead", "hash_keys", "kid", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.kid = hmac.new(raw, b"linli/key-id", hashlib.sha256).digest()[:_KID]
        self.aead = AESGCM(_derive(raw, "linli/encrypt/v1"))
        self.hash_keys: dict[str, bytes] = {}

    def hash_key(self, purpose: str) -> bytes:
        key = self.hash_keys.get(purpose)
        if key is None:
            key = self.hash_keys[purpose] = _derive(self.raw, f"linli/keyed-hash/v1/{purpose}")
        return key


class DataProtector:
    """Encrypts and hashes personal data with the current key; decrypts with any known key."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        self._current = _Key(current)
        self._keys = [self._current]
        for raw in previous:
            if raw != current:
                self._keys.append(_Key(raw))
        self._by_kid = {k.kid: k for k in reversed(self._keys)}

    def __repr__(self) -> str:
        return f"DataProtector(key_id={self.key_id}, previous={len(self._keys) - 1})"

    @classmethod
    def from_strings(cls, current: str | None, previous: Iterable[str] = ()) -> DataProtector:
        if not current:
            raise DataKeyError(
                "no data key: set LINLI_SECURITY__DATA_KEY or security.data_key_file "
                "(create one with `linli keys generate`)"
            )
        return cls(
            parse_key(current),
            [parse_key(p, f"security.previous_data_keys[{i}]") for i, p in enumerate(previous)],
        )

    @property
    def key_id(self) -> str:
        """Short public id of the current key (hex); stored next to code hashes."""
        return self._current.kid.hex()

    @property
    def key_ids(self) -> list[str]:
        return [k.kid.hex() for k in self._keys]

    # encryption ---------------------------------------------------------------------------
    def encrypt(self, text: str) -> bytes:
        nonce = os.urandom(_NONCE)
        header = _VERSION + self._current.kid
        sealed = self._current.aead.encrypt(nonce, text.encode("utf-8"), header)
        return header + nonce + sealed

    def decrypt(self, blob: bytes) -> str:
        blob = bytes(blob)
        if len(blob) < 1 + _KID + _NONCE + 16 or blob[:1] != _VERSION:
            raise DecryptError("not a Linli ciphertext")
        header = blob[:1 + _KID]
        nonce = blob[1 + _KID:1 + _KID + _NONCE]
        sealed = blob[1 + _KID + _NONCE:]
        key = self._by_kid.get(header[1:])
        if key is None:
            raise DecryptError(
                f"value was written under key {header[1:].hex()}, which is not configured"
            )
        try:
            return key.aead.decrypt(nonce, sealed, header).decode("utf-8")
        except InvalidTag:
            raise DecryptError("value does not authenticate (altered or wrong key)") from None

    def encrypt_optional(self, text: str | None) -> bytes | None:
        return None if text is None else self.encrypt(text)

    def decrypt_optional(self, blob: bytes | None) -> str | None:
        return None if blob is None else self.decrypt(blob)

    def is_current(self, blob: bytes) -> bool:
        """Whether ``blob`` is already encrypted under the current key."""
        return bytes(blob[1:1 + _KID]) == self._current.kid

    # keyed hashes -------------------------------------------------------------------------
    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 (hex) of ``value`` under the current key's sub-key for ``purpose``."""
        return _hmac(self._current.hash_key(purpose), value)

    def keyed_hashes(self, purpose: str, value: str) -> list[str]:
        """The hash under every configured key, current first (look-ups during rotation)."""
        return [_hmac(k.hash_key(purpose), value) for k in self._keys]


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
