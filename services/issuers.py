"""Issuer signatures on certificates, checked against the issuers' published keys.

The keys are fetched through the gateway client and held in a `core.keyset.KeySetCache`
(an unknown issuer triggers at most one refetch per interval). A certificate whose signature
does not verify is reported as such.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from core.errors import GatewayUnavailable, LingpaoError
from core.keyset import KeySetCache

log = logging.getLogger("lingpao.issuers")


def canonical(document: dict) -> bytes:
    """The signed form: every member but `signature`, keys sorted, no spaces, UTF-8."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_jwk(jwk: dict) -> Ed25519PublicKey | ec.EllipticCurvePublicKey:
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return Ed25519PublicKey.from_public_bytes(_b64url(jwk["x"]))
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_b64url(jwk["x"]), "big"),
            int.from_bytes(_b64url(jwk["y"]), "big"),
            ec.SECP256R1(),
        )
        return numbers.public_key()
    raise ValueError("unsupported issuer key type")


def _verify(
    key: Ed25519PublicKey | ec.EllipticCurvePublicKey, signature: bytes, message: bytes
) -> bool:
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, message)
        else:  # JWS-style raw r||s for P-256
            if len(signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def issuer_keys(issuers: list[dict]) -> dict[str, Any]:
    """The published issuer keys by kid (the issuer code when no kid); bad ones left out."""
    keys: dict[str, Any] = {}
    for issuer in issuers:
        jwk = issuer.get("jwk") or {}
        try:
            keys[jwk.get("kid") or issuer["code"]] = _load_jwk(jwk)
        except (KeyError, ValueError, TypeError):
            log.warning("issuer key for %s could not be loaded", issuer.get("code"))
    return keys


def issuer_key_cache(
    fetch_issuers: Callable[[], Awaitable[list[dict]]], **options: Any
) -> KeySetCache[Any]:
    async def fetch() -> dict[str, Any]:
        return issuer_keys(await fetch_issuers())

    options = {"ttl": 3600.0, "refetch_interval": 30.0, **options}
    return KeySetCache(fetch, unavailable=_why_unavailable, name="issuer keys", **options)


def _why_unavailable(error: LingpaoError | None) -> LingpaoError:
    # The gateway's own failure says more than "unavailable": a timeout, a refusal.
    return error if error is not None else GatewayUnavailable()


class IssuerSeals:
    """Checks the issuer's seal on a certificate document."""

    def __init__(self, keys: KeySetCache[Any]) -> None:
        self.keys = keys

    async def verify(self, document: dict) -> bool:
        sig = document.get("signature")
        if not isinstance(sig, dict) or not isinstance(sig.get("value"), str):
            return False
        key = await self.keys.key(str(sig.get("kid") or document.get("issuer_code", "")))
        if key is None:
            return False
        try:
            signature = _b64url(sig["value"])
        except ValueError:
            return False
        return _verify(key, signature, canonical(document))
