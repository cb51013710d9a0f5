"""HMAC request signing, the gateway's side of it.

    string to sign = METHOD "\\n" PATH[?QUERY] "\\n" TIMESTAMP "\\n" NONCE "\\n" hex(H(body))
    X-Signature    = hex(HMAC-H(app secret, string to sign))

H is SHA-256 (`hmac-sha256`, the default) or SM3 (`hmac-sm3`, MOCK_GATEWAY_SIGNATURE), the
SM3 ones computed by GmSSL (gmssl-pyx), so the shared vectors pit two implementations
against each other.

The backend implements the same rule on its own (it shares no code with this package); the
test vectors in tests/vectors/signing.json keep the two byte-compatible.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque

import gmssl_pyx

WINDOW_SECONDS = 300
HEADERS = ("x-app-key", "x-timestamp", "x-nonce", "x-signature")
SHA256, SM3 = "hmac-sha256", "hmac-sm3"


def string_to_sign(
    method: str, path_qs: str, timestamp: str, nonce: str, body: bytes, algorithm: str = SHA256
) -> bytes:
    if algorithm == SM3:
        digest = bytes(gmssl_pyx.sm3_hash(body)).hex()
    else:
        digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path_qs, timestamp, nonce, digest)).encode()


def sign(
    secret: str,
    method: str,
    path_qs: str,
    timestamp: str,
    nonce: str,
    body: bytes,
    algorithm: str = SHA256,
) -> str:
    message = string_to_sign(method, path_qs, timestamp, nonce, body, algorithm)
    if algorithm == SM3:
        return bytes(gmssl_pyx.sm3_hmac(secret.encode(), message)).hex()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    app_key: str,
    secret: str,
    method: str,
    path_qs: str,
    body: bytes,
    now: float | None = None,
    algorithm: str = SHA256,
) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    return {
        "X-App-Key": app_key,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": sign(secret, method, path_qs, timestamp, nonce, body, algorithm),
    }


class NonceWindow:
    """Nonces seen inside the timestamp window; a second sighting is a replay.

    Nonces leave in the order they came, as they age out of twice the window: once more than
    10,000 were inside it, rebuilding the whole set on every request made the mock's
    throughput collapse under load (found by the benchmark, issue 13)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()

    def first_sighting(self, app_key: str, nonce: str, now: float) -> bool:
        cutoff = now - 2 * WINDOW_SECONDS
        while self._order and self._order[0][0] <= cutoff:
            self._seen.discard(self._order.popleft()[1])
        key = f"{app_key}:{nonce}"
        if key in self._seen:
            return False
        self._seen.add(key)
        self._order.append((now, key))
        return True


class Verifier:
    """Checks a signed request: known app, fresh timestamp, unseen nonce, matching HMAC."""

    def __init__(self, apps: dict[str, str], algorithm: str = SHA256) -> None:
        self.apps = apps
        self.algorithm = algorithm
        self.nonces = NonceWindow()

    def check(
        self, method: str, path_qs: str, headers, body: bytes, now: float | None = None
    ) -> str | None:
        """Returns None when the request is authentic, else the reason it is not."""
        now = time.time() if now is None else now
        app_key, timestamp, nonce, signature = (headers.get(h, "") for h in HEADERS)
        if not (app_key and timestamp and nonce and signature):
            return "missing_signature"
        secret = self.apps.get(app_key)
        if secret is None:
            return "unknown_app"
        if not timestamp.isdigit() or abs(now - int(timestamp)) > WINDOW_SECONDS:
            return "stale_timestamp"
        expected = sign(secret, method, path_qs, timestamp, nonce, body, self.algorithm)
        if not hmac.compare_digest(expected, signature.lower()):
            return "bad_signature"
        if not self.nonces.first_sighting(app_key, nonce, now):
            return "replayed_nonce"
        return None
