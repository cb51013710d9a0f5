"""Issuer seals on certificates, checked against the issuers' published keys.

Two families sit side by side, chosen by the issuer's published key, never by the document:

    {"kty": "OKP", "crv": "Ed25519"}  →  "EdDSA"             Ed25519 over the canonical JSON
    {"kty": "EC",  "crv": "P-256"}    →  "ES256"             ECDSA P-256 / SHA-256, raw r||s
    {"kty": "EC",  "crv": "SM2"}      →  "sm2sign-with-sm3"  SM2 over SM3 with the signer ID
                                         (GM/T 0003, 0009; OID 1.2.156.10197.1.501), DER r,s

A seal whose `alg` names another algorithm than its key's is not a seal. The keys are fetched
through the gateway client and held in a `core.keyset.KeySetCache` (an unknown issuer
triggers at most one refetch per interval). A seal that verified is remembered in a bounded
`VerifiedSeals` by the SM3 digest of the canonical document, with the key and the signature,
so reading the same certificate again costs a digest, not a verification; one that failed
is never remembered.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core import guomi
from core.errors import GatewayUnavailable, LingpaoError
from core.keyset import KeySetCache

log = logging.getLogger("lingpao.issuers")

EDDSA, ES256, SM2 = "EdDSA", "ES256", guomi.SM2_SIGN_WITH_SM3
VERIFIED_SEALS_KEPT = 20_000


def canonical(document: dict) -> bytes:
    """The signed form: every member but `signature`, keys sorted, no spaces, UTF-8."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SealKey:
    """One issuer's published key: its algorithm, the key, and the bytes that name it."""

    alg: str
    key: Any  # Ed25519PublicKey, ec.EllipticCurvePublicKey or 64 bytes of SM2 point
    fingerprint: bytes

    def verify(self, signature: bytes, message: bytes) -> bool:
        if self.alg == SM2:
            return guomi.sm2_verify(self.key, message, signature)
        try:
            if self.alg == EDDSA:
                self.key.verify(signature, message)
            else:  # JWS-style raw r||s for P-256
                if len(signature) != 64:
                    return False
                r, s = signature[:32], signature[32:]
                der = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
                self.key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def _load_jwk(jwk: dict) -> SealKey:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        raw = _b64url(jwk["x"])
        return SealKey(EDDSA, Ed25519PublicKey.from_public_bytes(raw), raw)
    if kty == "EC" and crv == "P-256":
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_b64url(jwk["x"]), "big"),
            int.from_bytes(_b64url(jwk["y"]), "big"),
            ec.SECP256R1(),
        )
        key = numbers.public_key()
        return SealKey(ES256, key, key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint))
    if kty == "EC" and crv == "SM2":
        x, y = _b64url(jwk["x"]), _b64url(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("an SM2 coordinate is 32 bytes")
        point = guomi.sm2_public_key(x + y)
        return SealKey(SM2, point, point)
    raise ValueError("unsupported issuer key type")


def issuer_keys(issuers: list[dict]) -> dict[str, SealKey]:
    """The published issuer keys by kid (the issuer code when no kid); bad ones left out."""
    keys: dict[str, SealKey] = {}
    for issuer in issuers:
        jwk = issuer.get("jwk") or {}
        try:
            keys[jwk.get("kid") or issuer["code"]] = _load_jwk(jwk)
        except (KeyError, ValueError, TypeError, AttributeError):
            log.warning("issuer key for %s could not be loaded", issuer.get("code"))
    return keys


def issuer_key_cache(
    fetch_issuers: Callable[[], Awaitable[list[dict]]], **options: Any
) -> KeySetCache[SealKey]:
    async def fetch() -> dict[str, SealKey]:
        return issuer_keys(await fetch_issuers())

    options = {"ttl": 3600.0, "refetch_interval": 30.0, **options}
    return KeySetCache(fetch, unavailable=_why_unavailable, name="issuer keys", **options)


def _why_unavailable(error: LingpaoError | None) -> LingpaoError:
    # The gateway's own failure says more than "unavailable": a timeout, a refusal.
    return error if error is not None else GatewayUnavailable()


class VerifiedSeals:
    """Seals that verified, least recently used dropped first. Only a success is ever
    added: a failure is checked again each time, so it can never come back as valid."""

    def __init__(self, kept: int = VERIFIED_SEALS_KEPT) -> None:
        self.kept = kept
        self._seen: OrderedDict[tuple[bytes, bytes, bytes], None] = OrderedDict()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._seen)

    def holds(self, entry: tuple[bytes, bytes, bytes]) -> bool:
        if entry not in self._seen:
            return False
        self._seen.move_to_end(entry)
        self.hits += 1
        return True

    def remember(self, entry: tuple[bytes, bytes, bytes]) -> None:
        self._seen[entry] = None
        self._seen.move_to_end(entry)
        while len(self._seen) > self.kept:
            self._seen.popitem(last=False)


class IssuerSeals:
    """Checks the issuer's seal on a certificate document."""

    def __init__(self, keys: KeySetCache[SealKey], verified: VerifiedSeals | None = None) -> None:
        self.keys = keys
        self.verified = verified if verified is not None else VerifiedSeals()
        self.verifications = 0  # signature checks actually run, for tests and metrics

    async def verify(self, document: dict) -> bool:
        sig = document.get("signature")
        if not isinstance(sig, dict) or not isinstance(sig.get("value"), str):
            return False
        key = await self.keys.key(str(sig.get("kid") or document.get("issuer_code", "")))
        if key is None:
            return False
        if sig.get("alg") is not None and sig.get("alg") != key.alg:
            return False  # an algorithm the issuer's key is not for: no downgrade, no mix-up
        try:
            signature = _b64url(sig["value"])
        except ValueError:
            return False
        message = canonical(document)
        # The same content under the same key and signature verified once: it still does.
        entry = (guomi.sm3(message), key.fingerprint, signature)
        if self.verified.holds(entry):
            return True
        self.verifications += 1
        if not key.verify(signature, message):
            return False
        self.verified.remember(entry)
        return True
