"""Personal data at rest under either suite: every ciphertext names its algorithm and key,
old ones stay readable after the suite or the key changes, and the lookup hash follows."""

from __future__ import annotations

import base64
import os

import gmssl_pyx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.crypto import (
    GUOMI,
    STANDARD,
    SUITE_AES256_GCM_64K,
    SUITE_SM4_GCM_64K,
    BlobCipher,
    PiiCipher,
    PiiKeys,
)
from core.errors import StoredDataCorrupt

ID = "330402199001011230"
OLD, NEW = os.urandom(32), os.urandom(32)


def legacy_token(master: bytes, value: str) -> str:
    """A ciphertext as Lingpao wrote them before they named their algorithm and key."""
    key = HKDF(hashes.SHA256(), 32, None, b"lingpao pii encryption v1").derive(master)
    nonce = os.urandom(12)
    return base64.b64encode(
        nonce + AESGCM(key).encrypt(nonce, value.encode(), b"id_number")
    ).decode()


def test_each_suite_names_its_algorithm_and_key_in_every_id_number_ciphertext():
    standard, guomi = PiiCipher(PiiKeys(OLD, STANDARD)), PiiCipher(PiiKeys(OLD, GUOMI))
    a, g = standard.encrypt(ID), guomi.encrypt(ID)
    assert a.startswith("a256gcm:") and g.startswith("sm4gcm:")
    assert a.split(":")[1] == g.split(":")[1]  # one key, two suites
    assert ID not in a and ID not in g
    # Either cipher reads both: the suite can change while old rows remain.
    assert standard.decrypt(g) == guomi.decrypt(a) == ID


def test_a_ciphertext_from_before_the_prefixes_still_reads_under_either_suite():
    token = legacy_token(OLD, ID)
    assert PiiCipher(PiiKeys(OLD, GUOMI)).decrypt(token) == ID
    assert PiiCipher(PiiKeys(NEW, GUOMI, (OLD,))).decrypt(token) == ID


def test_a_retired_key_reads_until_it_is_dropped_from_the_previous_keys():
    token = PiiCipher(PiiKeys(OLD, STANDARD)).encrypt(ID)
    assert PiiCipher(PiiKeys(NEW, GUOMI, (OLD,))).decrypt(token) == ID
    with pytest.raises(StoredDataCorrupt) as refused:
        PiiCipher(PiiKeys(NEW, GUOMI)).decrypt(token)
    assert refused.value.reason == "pii_key_unknown"


def test_a_changed_id_number_ciphertext_is_refused_under_either_suite():
    for suite in (STANDARD, GUOMI):
        cipher = PiiCipher(PiiKeys(OLD, suite))
        token = cipher.encrypt(ID)
        prefix, body = token.rsplit(":", 1)
        raw = bytearray(base64.b64decode(body))
        raw[-1] ^= 1
        with pytest.raises(StoredDataCorrupt):
            cipher.decrypt(f"{prefix}:{base64.b64encode(raw).decode()}")


def test_the_lookup_hash_follows_the_suite_and_every_old_hash_is_still_a_candidate():
    standard = PiiCipher(PiiKeys(OLD, STANDARD))
    rotated = PiiCipher(PiiKeys(NEW, GUOMI, (OLD,)))
    assert rotated.lookup_hash(ID) != standard.lookup_hash(ID)
    candidates = rotated.lookup_hashes(ID)
    assert candidates[0] == rotated.lookup_hash(ID)
    assert standard.lookup_hash(ID) in candidates
    assert len(candidates) == len(set(candidates)) == 4  # two keys, two suites


def test_only_ciphertexts_under_the_current_suite_and_key_count_as_current():
    rotated = PiiCipher(PiiKeys(NEW, GUOMI, (OLD,)))
    assert rotated.is_current(rotated.encrypt(ID))
    assert not rotated.is_current(PiiCipher(PiiKeys(NEW, STANDARD)).encrypt(ID))
    assert not rotated.is_current(PiiCipher(PiiKeys(OLD, GUOMI)).encrypt(ID))
    assert not rotated.is_current(legacy_token(NEW, ID))


def test_files_sealed_under_the_guomi_suite_name_sm4_and_open_after_the_suite_changes_back():
    guomi, standard = BlobCipher(PiiKeys(OLD, GUOMI)), BlobCipher(PiiKeys(OLD, STANDARD))
    blob = guomi.encrypt(b"\x89PNG photo" * 10_000, b"u1")
    assert blob[3] == SUITE_SM4_GCM_64K and b"PNG" not in blob
    assert standard.decrypt(blob, b"u1") == b"\x89PNG photo" * 10_000
    assert standard.encrypt(b"x", b"u1")[3] == SUITE_AES256_GCM_64K
    assert guomi.is_current(blob) and not standard.is_current(blob)


def test_a_file_under_a_retired_key_opens_only_while_the_key_is_listed():
    blob = BlobCipher(PiiKeys(OLD, STANDARD)).encrypt(b"scan", b"u1")
    assert BlobCipher(PiiKeys(NEW, GUOMI, (OLD,))).decrypt(blob, b"u1") == b"scan"
    with pytest.raises(StoredDataCorrupt):
        BlobCipher(PiiKeys(NEW, GUOMI)).decrypt(blob, b"u1")


def test_a_changed_byte_of_an_sm4_sealed_file_is_refused():
    cipher = BlobCipher(PiiKeys(OLD, GUOMI))
    blob = bytearray(cipher.encrypt(b"scan" * 1000, b"u1"))
    blob[-5] ^= 1
    with pytest.raises(StoredDataCorrupt):
        cipher.decrypt(bytes(blob), b"u1")


def test_a_malformed_previous_pii_key_is_named_before_anything_starts(tmp_path):
    from core.errors import ConfigError
    from tests.conftest import make_settings

    with pytest.raises(ConfigError, match="PII_PREVIOUS_KEYS entry 2"):
        make_settings(tmp_path, pii_previous_keys=f"{base64.b64encode(OLD).decode()},bm90IDMy")
    with pytest.raises(ConfigError, match="CRYPTO_SUITE"):
        make_settings(tmp_path, crypto_suite="sm4")


# Read back with GmSSL (gmssl_pyx), not with the OpenSSL primitives core.crypto uses: a
# "sm4gcm" label over AES, or HMAC-SHA256 under the guomi name, would fail these.
def sm3_hkdf(master: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(hashes.SM3(), 32, salt, info).derive(master)


def test_a_guomi_id_number_ciphertext_is_sm4_gcm_that_an_independent_library_opens():
    token = PiiCipher(PiiKeys(OLD, GUOMI)).encrypt(ID)
    raw = base64.b64decode(token.split(":", 2)[2])
    nonce, sealed = raw[:12], raw[12:]
    key = sm3_hkdf(OLD, b"lingpao pii sm4 v1")[:16]
    opened = gmssl_pyx.sm4_gcm_decrypt(key, nonce, b"id_number", sealed[:-16], sealed[-16:])
    assert opened == ID.encode()


def test_the_guomi_lookup_hash_is_hmac_sm3_as_gmssl_computes_it():
    key = sm3_hkdf(OLD, b"lingpao pii lookup sm3 v1")
    expected = gmssl_pyx.sm3_hmac(key, ID.encode()).hex()
    assert PiiCipher(PiiKeys(OLD, GUOMI)).lookup_hash(ID) == expected
    assert PiiCipher(PiiKeys(OLD, STANDARD)).lookup_hash(ID) != expected


def test_a_guomi_upload_is_sm4_gcm_segments_that_an_independent_library_opens():
    context = b"upload:1"
    blob = BlobCipher(PiiKeys(OLD, GUOMI)).encrypt(b"scan of an ID card", context)
    header, sealed = blob[:28], blob[28:]
    assert header[:4] == b"LPB" + bytes([SUITE_SM4_GCM_64K])
    salt = header[-16:]
    upload_key = sm3_hkdf(OLD, b"lingpao upload sm4 v1")
    key = sm3_hkdf(upload_key, b"lingpao blob key v1|" + context, salt)[:16]
    last_segment_nonce = (0).to_bytes(11, "big") + b"\x01"
    opened = gmssl_pyx.sm4_gcm_decrypt(key, last_segment_nonce, header, sealed[:-16], sealed[-16:])
    assert opened == b"scan of an ID card"
