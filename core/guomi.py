"""The 国密 (ShangMi) primitives Lingpao uses, each from a maintained C implementation.

    SM3       GB/T 32905, hash           `cryptography` (OpenSSL)
    HMAC-SM3  RFC 2104 over SM3          `cryptography` (OpenSSL)
    SM4-GCM   GB/T 32907 in GCM, RFC 8998 `cryptography` (OpenSSL)
    SM2       GB/T 32918 / GM/T 0003 signatures over SM3 with the signer's ID (GM/T 0009),
              verified by `gmssl_pyx`, a C extension over GmSSL 3.2: `cryptography` has no
              SM2. A pure-Python SM2 verification costs ~20 ms here; this one ~1 ms.

Signatures are DER `SEQUENCE { r INTEGER, s INTEGER }` as GM/T 0009 writes them. A public key
is 64 bytes `x || y`; it is checked to lie on the curve when it is loaded, not when used.
tests/unit/test_guomi_vectors.py holds the published vectors each of these must meet.
"""

from __future__ import annotations

import hmac as std_hmac

import gmssl_pyx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# GM/T 0006 names the algorithm; GM/T 0009 gives the default signer ID.
SM2_SIGN_WITH_SM3 = "sm2sign-with-sm3"
SM2_SIGN_WITH_SM3_OID = "1.2.156.10197.1.501"
DEFAULT_SIGNER_ID = b"1234567812345678"
SM4_KEY_BYTES = 16
GCM_NONCE_BYTES = 12
GCM_TAG_BYTES = 16


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


def hmac_sm3_matches(key: bytes, data: bytes, expected: bytes) -> bool:
    return std_hmac.compare_digest(hmac_sm3(key, data), expected)


def sm2_public_key(raw: bytes) -> bytes:
    """`raw` (64 bytes x||y, or 65 with the 04 prefix) as a checked key; ValueError if it
    is not a point of the SM2 curve."""
    try:
        return bytes(gmssl_pyx.normalize_sm2_public_key(raw))
    except gmssl_pyx.InvalidValueError as exc:
        raise ValueError("not an SM2 public key") from exc


def sm2_verify(
    public_key: bytes, message: bytes, signature: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
) -> bool:
    """Whether `signature` (DER) is the holder of `public_key`'s SM2 signature of
    `message`, computed over SM3(Z_A || message) with `signer_id` in Z_A."""
    try:
        return bool(gmssl_pyx.sm2_verify(public_key, message, signature, signer_id))
    except gmssl_pyx.GmsslInnerError:  # a malformed signature or key: not a valid seal
        return False


def sm2_sign(
    private_key: bytes, public_key: bytes, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
) -> bytes:
    """For tests and the mock library: Lingpao itself only verifies."""
    return bytes(gmssl_pyx.sm2_sign(private_key, public_key, message, signer_id))


class Sm4Gcm:
    """SM4 in GCM mode, with the interface of `cryptography`'s AESGCM: the tag follows the
    ciphertext, and a changed byte anywhere raises InvalidTag."""

    def __init__(self, key: bytes) -> None:
        if len(key) != SM4_KEY_BYTES:
            raise ValueError("an SM4 key is 16 bytes")
        self._key = key

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            encryptor.authenticate_additional_data(associated_data)
        return encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < GCM_TAG_BYTES:
            raise InvalidTag()
        sealed, tag = data[:-GCM_TAG_BYTES], data[-GCM_TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        if associated_data:
            decryptor.authenticate_additional_data(associated_data)
        return decryptor.update(sealed) + decryptor.finalize()
