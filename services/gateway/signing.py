"""HMAC signing of gateway requests and verification of the gateway's callbacks.

    string to sign = METHOD "\\n" PATH[?QUERY] "\\n" TIMESTAMP "\\n" NONCE "\\n" hex(H(body))
    X-Signature    = hex(HMAC-H(app secret, string to sign))

H is SHA-256 (`hmac-sha256`) or SM3 (`hmac-sm3`), as the gateway is configured: both sides
are told (GATEWAY_SIGNATURE here), never the request, so no request can choose a weaker one.
Written independently of the mock gateway's copy; tests/vectors/signing.json holds both
to the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from core import guomi
from core.numbers import plain_int

WINDOW_SECONDS = 300
HMAC_SHA256, HMAC_SM3 = "hmac-sha256", "hmac-sm3"
ALGORITHMS = (HMAC_SHA256, HMAC_SM3)


def string_to_sign(
    method: str,
    path_qs: str,
    timestamp: str,
    nonce: str,
    body: bytes,
    algorithm: str = HMAC_SHA256,
) -> bytes:
    body_digest = (
        guomi.sm3(body).hex() if algorithm == HMAC_SM3 else hashlib.sha256(body).hexdigest()
    )
    return f"{method.upper()}\n{path_qs}\n{timestamp}\n{nonce}\n{body_digest}".encode()


def signature(
    secret: str,
    method: str,
    path_qs: str,
    timestamp: str,
    nonce: str,
    body: bytes,
    algorithm: str = HMAC_SHA256,
) -> str:
    message = string_to_sign(method, path_qs, timestamp, nonce, body, algorithm)
    if algorithm == HMAC_SM3:
        return guomi.hmac_sm3(secret.encode(), message).hex()
    if algorithm != HMAC_SHA256:
        raise ValueError(f"unknown signature algorithm {algorithm!r}")
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_headers(
    app_key: str,
    secret: str,
    method: str,
    path_qs: str,
    body: bytes,
    now: float,
    algorithm: str = HMAC_SHA256,
) -> dict[str, str]:
    timestamp = str(int(now))
    nonce = secrets.token_hex(16)
    return {
        "X-App-Key": app_key,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": signature(secret, method, path_qs, timestamp, nonce, body, algorithm),
    }


def verify_headers(
    app_key: str,
    secret: str,
    method: str,
    path_qs: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
    algorithm: str = HMAC_SHA256,
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
    expected = signature(secret, method, path_qs, timestamp, nonce, body, algorithm)
    if not hmac.compare_digest(expected, sent.lower()):
        return "bad_signature"
    return None
