"""Personal data at rest: ID numbers (`PiiCipher`) and uploaded files (`BlobCipher`), under
one of two suites, every ciphertext naming its algorithm and key.

    suite      ID numbers, files       lookup hash    key derivation
    standard   AES-256-GCM             HMAC-SHA256    HKDF-SHA256
    guomi      SM4-GCM (GB/T 32907)    HMAC-SM3       HKDF-SM3

`PiiKeys` holds the configured PII key (`PII_KEY`), the suite new ciphertexts are made
under (`CRYPTO_SUITE`) and the keys being retired (`PII_PREVIOUS_KEYS`). Every key is
derived from one of these master keys with HKDF, each under its own info string, so the
lookup hash, the ID-number ciphertexts and the uploads never share a key. A key id is a
fingerprint of the master key, never the key.

An ID-number ciphertext is `alg:kid:base64(nonce | sealed)`, alg `a256gcm` or `sm4gcm` and
kid 8 hex digits; one without the two prefixes is from before them (AES-256-GCM) and is
tried under each known key. A `BlobCipher` ciphertext is a short header and then sealed
segments:

    header  = b"LPB" | suite (1 byte) | key id (8 bytes) | salt (16 bytes)
    segment = AEAD(blob key, nonce = index (11 bytes) | last (1 byte), aad = header)

suite 1: AES-256-GCM, 2: SM4-GCM, in 64 KiB segments. The blob key is derived from the
upload key, the random salt and the caller's `context` (an upload id), so one stored file
cannot be swapped for another. The index and the last flag in the nonce make reordered,
dropped or truncated segments fail to decrypt. Segments let a file be sealed and opened in
pieces, never whole in memory. Reads accept any known suite and key, so the suite and the
key can change while old rows are still being rewritten (`python -m server rotate-pii`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import os
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core import guomi
from core.errors import StoredDataCorrupt

STANDARD, GUOMI = "standard", "guomi"
SUITES = (STANDARD, GUOMI)
ALG_OF_SUITE = {STANDARD: "a256gcm", GUOMI: "sm4gcm"}
SUITE_OF_ALG = {alg: suite for suite, alg in ALG_OF_SUITE.items()}

MAGIC = b"LPB"
SUITE_AES256_GCM_64K = 1
SUITE_SM4_GCM_64K = 2
BLOB_SUITE = {STANDARD: SUITE_AES256_GCM_64K, GUOMI: SUITE_SM4_GCM_64K}
SUITE_OF_BLOB = {number: suite for suite, number in BLOB_SUITE.items()}
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
KEY_ID_BYTES = 8
SALT_BYTES = 16
NONCE_BYTES = 12
HEADER_BYTES = len(MAGIC) + 1 + KEY_ID_BYTES + SALT_BYTES


class Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


def _derive(
    master: bytes, info: bytes, length: int = 32, salt: bytes | None = None, suite: str = STANDARD
) -> bytes:
    algorithm = hashes.SM3() if suite == GUOMI else hashes.SHA256()
    return HKDF(algorithm=algorithm, length=length, salt=salt, info=info).derive(master)


def _aead(suite: str, key_material: bytes) -> Aead:
    # The suite's own key size: AES-256 takes 32 bytes, SM4 16.
    if suite == GUOMI:
        return guomi.Sm4Gcm(key_material[: guomi.SM4_KEY_BYTES])
    return AESGCM(key_material)


def _check_master(master_key: bytes) -> None:
    if len(master_key) != 32:
        raise ValueError("the PII key must be 32 bytes")


@dataclass(frozen=True)
class PiiKeys:
    """The master key new data is sealed under, its suite, and the keys still read."""

    current: bytes
    suite: str = STANDARD
    previous: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.suite not in SUITES:
            raise ValueError(f"unknown crypto suite {self.suite!r}")
        for key in (self.current, *self.previous):
            _check_master(key)

    @property
    def all(self) -> tuple[bytes, ...]:
        return (self.current, *(k for k in self.previous if k != self.current))


def _as_keys(keys: PiiKeys | bytes) -> PiiKeys:
    return keys if isinstance(keys, PiiKeys) else PiiKeys(keys)


def pii_key_id(master: bytes) -> str:
    return _derive(master, b"lingpao pii key id v1", 4).hex()


class PiiCipher:
    def __init__(self, keys: PiiKeys | bytes) -> None:
        self.keys = _as_keys(keys)
        self.suite = self.keys.suite
        self._by_kid = {pii_key_id(k): k for k in self.keys.all}
        self.prefix = f"{ALG_OF_SUITE[self.suite]}:{pii_key_id(self.keys.current)}:"
        self._aeads: dict[tuple[str, str], Aead] = {}
        self._mac_keys: dict[tuple[str, bytes], bytes] = {}

    def _aead_for(self, suite: str, kid: str) -> Aead:
        if (suite, kid) not in self._aeads:
            master = self._by_kid[kid]
            info = b"lingpao pii encryption v1" if suite == STANDARD else b"lingpao pii sm4 v1"
            self._aeads[suite, kid] = _aead(suite, _derive(master, info, suite=suite))
        return self._aeads[suite, kid]

    def encrypt(self, value: str, context: bytes = b"id_number") -> str:
        nonce = os.urandom(NONCE_BYTES)
        aead = self._aead_for(self.suite, pii_key_id(self.keys.current))
        sealed = aead.encrypt(nonce, value.encode(), context)
        return self.prefix + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, context: bytes = b"id_number") -> str:
        alg, kid, body = token.split(":", 2) if token.count(":") >= 2 else ("", "", token)
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise StoredDataCorrupt(reason="pii_unreadable") from None
        if not alg:  # from before ciphertexts named their key: AES-256-GCM, any known key
            candidates = [self._aead_for(STANDARD, kid) for kid in self._by_kid]
        elif alg not in SUITE_OF_ALG:
            raise StoredDataCorrupt(reason=f"pii_algorithm_unknown:{alg[:16]}")
        elif kid not in self._by_kid:
            raise StoredDataCorrupt(reason="pii_key_unknown")
        else:
            candidates = [self._aead_for(SUITE_OF_ALG[alg], kid)]
        for aead in candidates:
            try:
                return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context).decode()
            except InvalidTag:
                continue
        raise StoredDataCorrupt(reason="pii_authentication_failed")

    def is_current(self, token: str) -> bool:
        """Whether `token` is sealed under the current suite and key (rotation skips it)."""
        return token.startswith(self.prefix)

    def _mac(self, suite: str, master: bytes, value: str) -> str:
        if (suite, master) not in self._mac_keys:
            info = b"lingpao pii lookup v1" if suite == STANDARD else b"lingpao pii lookup sm3 v1"
            self._mac_keys[suite, master] = _derive(master, info, suite=suite)
        key = self._mac_keys[suite, master]
        if suite == GUOMI:
            return guomi.hmac_sm3(key, value.encode()).hex()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def lookup_hash(self, value: str) -> str:
        """The keyed hash rows are found by, under the current suite and key."""
        return self._mac(self.suite, self.keys.current, value)

    def lookup_hashes(self, value: str) -> list[str]:
        """Every hash a row of `value` may still carry, the current one first: rows not yet
        rotated keep the hash of the suite and key they were written under."""
        found = [self.lookup_hash(value)]
        for master in self.keys.all:
            for suite in SUITES:
                mac = self._mac(suite, master, value)
                if mac not in found:
                    found.append(mac)
        return found


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class BlobCipher:
    """Authenticated encryption of files and byte strings, sealed and opened in segments."""

    def __init__(self, keys: PiiKeys | bytes) -> None:
        self.keys = _as_keys(keys)
        self.suite = BLOB_SUITE[self.keys.suite]
        self.key_id = self._key_id(self.keys.current)
        self._by_id = {self._key_id(k): k for k in self.keys.all}

    @staticmethod
    def _key_id(master: bytes) -> bytes:
        # A fingerprint, not the key: it names the key in every header.
        return _derive(master, b"lingpao upload key id v1", KEY_ID_BYTES)

    def _blob_aead(self, suite_number: int, key_id: bytes, salt: bytes, context: bytes) -> Aead:
        suite = SUITE_OF_BLOB[suite_number]
        info = b"lingpao upload encryption v1" if suite == STANDARD else b"lingpao upload sm4 v1"
        upload_key = _derive(self._by_id[key_id], info, suite=suite)
        return _aead(
            suite, _derive(upload_key, b"lingpao blob key v1|" + context, salt=salt, suite=suite)
        )

    def encrypt_stream(self, source: BinaryIO, sink: BinaryIO, context: bytes) -> None:
        header = MAGIC + bytes([self.suite]) + self.key_id + os.urandom(SALT_BYTES)
        aead = self._blob_aead(self.suite, self.key_id, header[-SALT_BYTES:], context)
        sink.write(header)
        index, chunk = 0, source.read(SEGMENT_BYTES)
        while True:
            following = source.read(SEGMENT_BYTES) if chunk else b""
            last = not following
            sink.write(aead.encrypt(_nonce(index, last), chunk, header))
            if last:
                return
            index, chunk = index + 1, following

    def decrypt_stream(self, source: BinaryIO, sink: BinaryIO, context: bytes) -> None:
        """Writes each segment once it is verified; raises StoredDataCorrupt on any change."""
        header = source.read(HEADER_BYTES)
        suite_number, key_id = self._check_header(header)
        aead = self._blob_aead(suite_number, key_id, header[-SALT_BYTES:], context)
        full = SEGMENT_BYTES + TAG_BYTES
        index, sealed = 0, source.read(full)
        while True:
            following = source.read(full) if len(sealed) == full else b""
            last = not following
            try:
                sink.write(aead.decrypt(_nonce(index, last), sealed, header))
            except InvalidTag:
                raise StoredDataCorrupt(reason="blob_authentication_failed") from None
            if last:
                return
            index, sealed = index + 1, following

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        sink = io.BytesIO()
        self.encrypt_stream(io.BytesIO(data), sink, context)
        return sink.getvalue()

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        sink = io.BytesIO()
        self.decrypt_stream(io.BytesIO(blob), sink, context)
        return sink.getvalue()

    def is_current(self, header: bytes) -> bool:
        """Whether a blob starting with `header` is sealed under the current suite and key."""
        return header[: len(MAGIC) + 1 + KEY_ID_BYTES] == MAGIC + bytes([self.suite]) + self.key_id

    def _check_header(self, header: bytes) -> tuple[int, bytes]:
        if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
            raise StoredDataCorrupt(reason="blob_header_unreadable")
        suite_number = header[len(MAGIC)]
        if suite_number not in SUITE_OF_BLOB:
            raise StoredDataCorrupt(reason=f"blob_suite_unknown:{suite_number}")
        key_id = header[len(MAGIC) + 1 : len(MAGIC) + 1 + KEY_ID_BYTES]
        if key_id not in self._by_id:
            raise StoredDataCorrupt(reason="blob_key_unknown")
        return suite_number, key_id
