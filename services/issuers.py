"""Issuer signatures on certificates, checked against the issuers' published keys.

The keys are fetched through the gateway client and cached; an unknown issuer triggers one
refetch (at most every `refetch_interval` seconds, so a flood of forged kids cannot turn into
a flood of calls). A certificate whose signature does not verify is reported as such.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Awaitable, Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from core.errors import GatewayError, GatewayUnavailable

log = logging.getLogger("lingpao.issuers")


def canonical(document: dict) -> bytes:
    """The signed form: every member but `signature`, keys sorted, no spaces, UTF-8."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_jwk(jwk: dict):
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return Ed25519PublicKey.from_public_bytes(_b64url(jwk["x"]))
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_b64url(jwk["x"]), "big"), int.from_bytes(_b64url(jwk["y"]), "big"),
            ec.SECP256R1())
        return numbers.public_key()
    raise ValueError("unsupported issuer key type")


def _verify(key, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, message)
        else:  # JWS-style raw r||s for P-256
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                       int.from_bytes(signature[32:], "big"))
            key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


class IssuerKeys:
    def __init__(self, fetch: Callable[[], Awaitable[list[dict]]], ttl: float = 3600.0,
                 refetch_interval: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self._clock = clock
        self._keys: dict[str, object] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self.fetches = 0

    async def _refresh(self, now: float) -> None:
        self._attempted_at = now
        self.fetches += 1
        keys = {}
        for issuer in await self._fetch():
            jwk = issuer.get("jwk") or {}
            try:
                keys[jwk.get("kid") or issuer["code"]] = _load_jwk(jwk)
            except (KeyError, ValueError, TypeError):
                log.warning("issuer key for %s could not be loaded", issuer.get("code"))
        self._keys = keys
        self._fetched_at = now

    async def _key_for(self, kid: str):
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > self.ttl
        due = self._attempted_at is None or now - self._attempted_at >= self.refetch_interval
        if (stale or kid not in self._keys) and due:
            try:
                await self._refresh(now)
            except GatewayError:
                # Keep what we had: a gateway hiccup must not make valid certificates invalid.
                if not self._keys:
                    raise
                log.warning("issuer keys could not be refreshed; using the cached ones")
        if not self._keys:
            raise GatewayUnavailable()
        return self._keys.get(kid)

    async def verify(self, document: dict) -> bool:
        sig = document.get("signature")
        if not isinstance(sig, dict) or not isinstance(sig.get("value"), str):
            return False
        key = await self._key_for(str(sig.get("kid") or document.get("issuer_code", "")))
        if key is None:
            return False
        try:
            signature = _b64url(sig["value"])
        except ValueError:
            return False
        return _verify(key, signature, canonical(document))
