"""Personal data at rest: SM4-GCM encryption, keyed SM3 digests, masking.

Values are stored as ``sm4gcm:<key id>:<base64(nonce | ciphertext | tag)>`` so
the key that wrote each value is named beside it and keys can rotate: the
current key (``PII_KEY``) encrypts, any key in ``PII_PREVIOUS_KEYS`` still
decrypts, and ``flask pii rotate-key`` re-encrypts everything under the
current key. Exact-match lookups use an HMAC-SM3 digest column, never the
plaintext. The SM4 and HMAC keys are derived from the 32-byte ``PII_KEY``
with HKDF-SM3, each for its own purpose.
"""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "sm4gcm"
_NONCE = 12
_TAG = 16


class PiiKeyError(RuntimeError):
    """A stored value cannot be decrypted: unknown key or tampered ciphertext."""


def _derive(key: bytes, purpose: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SM3(), length=length, salt=None, info=purpose).derive(key)


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


@dataclass(frozen=True)
class PiiKey:
    key_id: str
    sm4_key: bytes
    mac_key: bytes

    @classmethod
    def from_base64(cls, encoded: str) -> "PiiKey":
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except ValueError as exc:
            raise PiiKeyError("PII key is not valid base64") from exc
        if len(raw) != 32:
            raise PiiKeyError("PII key must be 32 bytes (base64-encoded)")
        return cls(
            key_id=sm3_hex(b"pii-key-id" + raw)[:8],
            sm4_key=_derive(raw, b"zhuzhou pii sm4-gcm", 16),
            mac_key=_derive(raw, b"zhuzhou pii hmac-sm3", 32),
        )


def _hmac_sm3(key: PiiKey, value: str, purpose: str) -> str:
    mac = crypto_hmac.HMAC(key.mac_key, hashes.SM3())
    mac.update(f"{purpose}\x00{value}".encode())
    return mac.finalize().hex()


class PiiKeyring:
    """The current key and any previous ones still accepted for decryption."""

    def __init__(self, current: str, previous: list[str] | tuple[str, ...] = ()):
        self.current = PiiKey.from_base64(current)
        self.keys = {self.current.key_id: self.current}
        for encoded in previous:
            key = PiiKey.from_base64(encoded)
            self.keys.setdefault(key.key_id, key)

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(_NONCE)
        encryptor = Cipher(algorithms.SM4(self.current.sm4_key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(purpose.encode())
        body = encryptor.update(plaintext.encode()) + encryptor.finalize()
        blob = base64.b64encode(nonce + body + encryptor.tag).decode()
        return f"{PREFIX}:{self.current.key_id}:{blob}"

    def decrypt(self, stored: str, purpose: str) -> str:
        try:
            prefix, key_id, blob = stored.split(":", 2)
            raw = base64.b64decode(blob, validate=True)
        except ValueError as exc:
            raise PiiKeyError("stored personal data is not an SM4-GCM envelope") from exc
        key = self.keys.get(key_id)
        if prefix != PREFIX or key is None:
            raise PiiKeyError(f"no PII key with id {key_id!r} is configured")
        nonce, body, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
        decryptor = Cipher(algorithms.SM4(key.sm4_key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(purpose.encode())
        try:
            return (decryptor.update(body) + decryptor.finalize()).decode()
        except InvalidTag as exc:
            raise PiiKeyError(f"personal data under key {key_id} failed authentication") from exc

    def key_id_of(self, stored: str) -> str:
        return stored.split(":", 2)[1]

    def digest(self, value: str, purpose: str) -> str:
        """HMAC-SM3 of a normalised value under the current key, for exact-match lookups."""
        return _hmac_sm3(self.current, value, purpose)

    def digests(self, value: str, purpose: str) -> list[str]:
        """The digest under every configured key (finds values from before a rotation)."""
        return [_hmac_sm3(key, value, purpose) for key in self.keys.values()]


def keyring() -> PiiKeyring:
    """The keyring configured for the current app (built once per app)."""
    ring = current_app.extensions.get("pii_keyring")
    if ring is None:
        previous = [k for k in (current_app.config.get("PII_PREVIOUS_KEYS") or "").split(",") if k.strip()]
        ring = PiiKeyring(current_app.config["PII_KEY"], previous)
        current_app.extensions["pii_keyring"] = ring
    return ring


def digest(value: str, purpose: str) -> str:
    return keyring().digest(value, purpose)


def digest_candidates(value: str, purpose: str) -> list[str]:
    return keyring().digests(value, purpose)


class Encrypted(sa.types.TypeDecorator):
    """A text column stored SM4-GCM encrypted; ``purpose`` is bound in as AAD."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        return None if value is None else keyring().encrypt(value, self.purpose)

    def process_result_value(self, value, dialect):
        return None if value is None else keyring().decrypt(value, self.purpose)


def mask_phone(phone: str | None) -> str | None:
    """138****5678."""
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "*" * len(phone)


def mask_id_card(number: str | None) -> str | None:
    """4302**********1234."""
    if not number:
        return number
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if len(number) > 8 else "*" * len(number)


def mask_account(account: str | None) -> str | None:
    """An Alipay account: a phone, or an e-mail as a***@example.com."""
    if not account:
        return account
    if "@" in account:
        name, _, domain = account.partition("@")
        return f"{name[:1]}***@{domain}"
    return mask_phone(account)


def mask_bank_account(number: str | None) -> str | None:
    """6222 **** **** 1234: the first and last four digits, as a bank receipt shows them."""
    if not number:
        return number
    return f"{number[:4]} **** **** {number[-4:]}" if len(number) > 8 else "*" * len(number)


def mask_middle(value: str | None) -> str | None:
    """Keep the first and last 2 characters (household numbers and the like)."""
    if not value:
        return value
    return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:] if len(value) > 4 else "*" * len(value)


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
