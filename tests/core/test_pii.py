"""SM3/SM4 against the standards' own vectors; the PII keyring; masks; validators."""

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.pii import PiiKeyError, PiiKeyring, mask_account, mask_id_card, mask_phone, sm3_hex
from core.validators import id_card_check_digit, is_id_card, is_mobile, normalise_phone

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()


def test_sm3_matches_gbt_32905_appendix_a():
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_hex(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm4_matches_gbt_32907_appendix_a():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - one-block KAT
    assert (encryptor.update(key) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_round_trip_names_the_key_and_hides_the_value():
    ring = PiiKeyring(KEY_A)
    stored = ring.encrypt("13812345678", "phone")
    assert stored.startswith(f"sm4gcm:{ring.current.key_id}:")
    assert "5678" not in stored and "13812345678" not in stored
    assert ring.decrypt(stored, "phone") == "13812345678"
    assert ring.encrypt("13812345678", "phone") != stored  # fresh nonce each time


def test_wrong_key_fails_loudly():
    stored = PiiKeyring(KEY_A).encrypt("13812345678", "phone")
    with pytest.raises(PiiKeyError, match="no PII key"):
        PiiKeyring(KEY_B).decrypt(stored, "phone")


def test_tampering_or_a_swapped_column_fails_loudly():
    ring = PiiKeyring(KEY_A)
    stored = ring.encrypt("13812345678", "phone")
    with pytest.raises(PiiKeyError, match="authentication"):
        ring.decrypt(stored, "id_card")
    prefix, key_id, blob = stored.split(":")
    raw = bytearray(base64.b64decode(blob))
    raw[14] ^= 1
    with pytest.raises(PiiKeyError):
        ring.decrypt(f"{prefix}:{key_id}:{base64.b64encode(bytes(raw)).decode()}", "phone")


def test_previous_keys_still_decrypt_after_rotation():
    old = PiiKeyring(KEY_A).encrypt("13812345678", "phone")
    rotated = PiiKeyring(KEY_B, [KEY_A])
    assert rotated.decrypt(old, "phone") == "13812345678"
    assert rotated.key_id_of(rotated.encrypt("x", "phone")) == rotated.current.key_id


def test_digests_are_keyed_and_stable():
    ring = PiiKeyring(KEY_A)
    assert ring.digest("13812345678", "phone") == ring.digest("13812345678", "phone")
    assert ring.digest("13812345678", "phone") != PiiKeyring(KEY_B).digest("13812345678", "phone")
    assert ring.digest("13812345678", "phone") != ring.digest("13812345678", "account")


def test_keys_must_be_32_bytes():
    with pytest.raises(PiiKeyError):
        PiiKeyring(base64.b64encode(b"short").decode())


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_card("430225199001011234") == "4302**********1234"
    assert mask_account("lixiuying@example.com") == "l***@example.com"
    assert mask_account("13812345678") == "138****5678"


def test_id_card_check_digit_matches_gb_11643_example():
    assert id_card_check_digit("11010519491231002") == "X"
    assert is_id_card("11010519491231002X")
    assert is_id_card("11010519491231002x")
    assert not is_id_card("110105194912310021")
    assert not is_id_card("11010519491331002X")  # month 13
    assert not is_id_card("1101051949123100")


@pytest.mark.parametrize(
    ("raw", "ok"),
    [("13812345678", True), ("+86 138 1234 5678", True), ("12812345678", False), ("1381234567", False)],
)
def test_mobile_numbers(raw, ok):
    assert is_mobile(normalise_phone(raw)) is ok
