"""ID numbers at rest: AES-GCM for the value, a keyed hash for look-ups.

Both keys are derived from the one configured PII key with HKDF, so the lookup hash and
the ciphertext never share a key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


class PiiCipher:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the PII key must be 32 bytes")
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
