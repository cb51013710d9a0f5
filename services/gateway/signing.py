"""HMAC signing of gateway requests and verification of the gateway's callbacks.

    string to sign = METHOD "\\n" PATH[?QUERY] "\\n" TIMESTAMP "\\n" NONCE "\\n" hex(SHA-256(body))
    X-Signature    = hex(HMAC-SHA256(app secret, string to sign))

Written independently of the mock gateway's copy; tests/vectors/signing.json holds both
to the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from core.numbers import plain_int

WINDOW_SECONDS = 300


def string_to_sign(method: str, path_qs: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    body_digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path_qs}\n{timestamp}\n{nonce}\n{body_digest}".encode()


def signature(
    secret: str, method: str, path_qs: str, timestamp: str, nonce: str, body: bytes
) -> str:
    return hmac.new(
        secret.encode(), string_to_sign(method, path_qs, timestamp, nonce, body), hashlib.sha256
    ).hexdigest()


def sign_headers(
    app_key: str, secret: str, method: str, path_qs: str, body: bytes, now: float
) -> dict[str, str]:
    timestamp = str(int(now))
    nonce = secrets.token_hex(16)
    return {
        "X-App-Key": app_key,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": signature(secret, method, path_qs, timestamp, nonce, body),
    }


def verify_headers(
    app_key: str,
    secret: str,
    method: str,
    path_qs: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
) -> str | None:
    """None when the request is authentic, else a short reason (for our logs only).

    The nonce is not checked here: replay refusal needs shared state (Redis), which the
    caller owns.
    """
    now = time.time() if now is None else now
    sent_key = headers.get("x-app-key", "")
    timestamp = headers.get("x-timestamp", "")
    nonce = headers.get("x-nonce", "")
    sent = headers.get("x-signature", "")
    if not (sent_key and timestamp and nonce and sent):
        return "missing_signature"
    if not hmac.compare_digest(sent_key, app_key):
        return "unknown_app"
    sent_at = plain_int(timestamp)
    if sent_at is None or abs(now - sent_at) > WINDOW_SECONDS:
        return "stale_timestamp"
    expected = signature(secret, method, path_qs, timestamp, nonce, body)
    if not hmac.compare_digest(expected, sent.lower()):
        return "bad_signature"
    return None
