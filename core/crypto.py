"""Personal data at rest: ID numbers (`PiiCipher`) and uploaded files (`BlobCipher`).

Every key is derived from the one configured PII key with HKDF, each under its own info
string, so the lookup hash, the ID-number ciphertexts and the uploads never share a key.

A `BlobCipher` ciphertext is a short header and then sealed segments:

    header  = b"LPB" | suite (1 byte) | key id (8 bytes) | salt (16 bytes)
    segment = AES-256-GCM(blob key, nonce = index (11 bytes) | last (1 byte), aad = header)

The suite byte names the algorithm (1: AES-256-GCM in 64 KiB segments) and the key id names
the key, so a later suite (SM4-GCM under the 国密 suite) or a rotated key can be told from
this one. The blob key is derived from the upload key, the random salt and the caller's
`context` (an upload id), so one stored file cannot be swapped for another. The index and
the last flag in the nonce make reordered, dropped or truncated segments fail to decrypt.
Segments let a file be sealed and opened in pieces, never whole in memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import StoredDataCorrupt

MAGIC = b"LPB"
SUITE_AES256_GCM_64K = 1
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
KEY_ID_BYTES = 8
SALT_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1 + KEY_ID_BYTES + SALT_BYTES


def _derive(master: bytes, info: bytes, length: int = 32, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(master)


def _check_master(master_key: bytes) -> None:
    if len(master_key) != 32:
        raise ValueError("the PII key must be 32 bytes")


class PiiCipher:
    def __init__(self, master_key: bytes) -> None:
        _check_master(master_key)
        self._aead = AESGCM(_derive(master_key, b"lingpao pii encryption v1"))
        self._mac_key = _derive(master_key, b"lingpao pii lookup v1")

    def encrypt(self, value: str, context: bytes = b"id_number") -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), context)
        return base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, context: bytes = b"id_number") -> str:
        raw = base64.b64decode(token)
        return self._aead.decrypt(raw[:12], raw[12:], context).decode()

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class BlobCipher:
    """Authenticated encryption of files and byte strings, sealed and opened in segments."""

    suite = SUITE_AES256_GCM_64K

    def __init__(self, master_key: bytes) -> None:
        _check_master(master_key)
        self._key = _derive(master_key, b"lingpao upload encryption v1")
        # A fingerprint, not the key: it names the key in every header.
        self.key_id = _derive(master_key, b"lingpao upload key id v1", KEY_ID_BYTES)

    def _aead(self, salt: bytes, context: bytes) -> AESGCM:
        return AESGCM(_derive(self._key, b"lingpao blob key v1|" + context, salt=salt))

    def encrypt_stream(self, source: BinaryIO, sink: BinaryIO, context: bytes) -> None:
        header = MAGIC + bytes([self.suite]) + self.key_id + os.urandom(SALT_BYTES)
        aead = self._aead(header[-SALT_BYTES:], context)
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
        self._check_header(header)
        aead = self._aead(header[-SALT_BYTES:], context)
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

    def _check_header(self, header: bytes) -> None:
        if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
            raise StoredDataCorrupt(reason="blob_header_unreadable")
        if header[len(MAGIC)] != self.suite:
            raise StoredDataCorrupt(reason=f"blob_suite_unknown:{header[len(MAGIC)]}")
        if header[len(MAGIC) + 1 : len(MAGIC) + 1 + KEY_ID_BYTES] != self.key_id:
            raise StoredDataCorrupt(reason="blob_key_unknown")
