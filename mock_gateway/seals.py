"""Issuer seal keys of the mock library, derived from the seed: two starts, same bytes.

`ed25519` issuers sign with Ed25519 (`EdDSA`); `sm2` issuers with SM2 over SM3 and the
GM/T 0009 default signer ID (`sm2sign-with-sm3`, OID 1.2.156.10197.1.501), the signature
DER-encoded. Each issuer's published JWK says which: `{"kty": "OKP", "crv": "Ed25519"}` or
`{"kty": "EC", "crv": "SM2", "x", "y"}`.

gmssl-pyx signs but cannot derive a public key from a private one, and a seeded key needs
exactly that: `_sm2_public` does the one scalar multiplication per issuer at start (a few
milliseconds in Python); signing itself is GmSSL's. Its whole-message `sm2_sign` costs
3.5 ms here against 0.3 ms for signing the digest, so the digest e = SM3(Z_A || M) is made
here with Z_A computed once per key (GB/T 32918.2 §5.5): the library's start stays quick.
"""

from __future__ import annotations

import base64
import hashlib

import gmssl_pyx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519, SM2 = "ed25519", "sm2"
FAMILIES = (ED25519, SM2)
SM2_ALG = "sm2sign-with-sm3"

# GM/T 0003.5 recommended curve sm2p256v1.
_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = _P - 3
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_G = (
    0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)
SIGNER_ID = b"1234567812345678"  # GM/T 0009's default


def _z(public: bytes, signer_id: bytes = SIGNER_ID) -> bytes:
    """Z_A = SM3(ENTL || ID || a || b || x_G || y_G || x_A || y_A)."""
    curve = b"".join(n.to_bytes(32, "big") for n in (_A, _B, *_G))
    entl = (len(signer_id) * 8).to_bytes(2, "big")
    return bytes(gmssl_pyx.sm3_hash(entl + signer_id + curve + public))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _add(p: tuple[int, int] | None, q: tuple[int, int] | None) -> tuple[int, int] | None:
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % _P == 0:
        return None
    if p == q:
        slope = (3 * p[0] * p[0] + _A) * pow(2 * p[1], -1, _P) % _P
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, _P) % _P
    x = (slope * slope - p[0] - q[0]) % _P
    return x, (slope * (p[0] - x) - p[1]) % _P


def _sm2_public(d: int) -> bytes:
    point, addend = None, _G
    while d:
        if d & 1:
            point = _add(point, addend)
        addend = _add(addend, addend)  # type: ignore[assignment]
        d >>= 1
    assert point is not None
    return point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


class SealKey:
    """One issuer's key: signs a message and publishes itself as a JWK."""

    def __init__(self, family: str, secret: bytes, kid: str) -> None:
        self.family, self.kid = family, kid
        if family == SM2:
            d = int.from_bytes(secret, "big") % (_N - 2) + 1  # in [1, n-2]
            self._private, self._public = d.to_bytes(32, "big"), _sm2_public(d)
            self._z = _z(self._public)
        else:
            self._ed25519 = Ed25519PrivateKey.from_private_bytes(secret)

    @property
    def alg(self) -> str:
        return SM2_ALG if self.family == SM2 else "EdDSA"

    def sign(self, message: bytes) -> bytes:
        if self.family == SM2:
            digest = bytes(gmssl_pyx.sm3_hash(self._z + message))
            return bytes(gmssl_pyx.sm2_sign_sm3_digest(self._private, digest))
        return self._ed25519.sign(message)

    def jwk(self) -> dict:
        if self.family == SM2:
            x, y = self._public[:32], self._public[32:]
            return {"kty": "EC", "crv": "SM2", "kid": self.kid, "alg": self.alg} | {
                "x": _b64url(x),
                "y": _b64url(y),
            }
        raw = self._ed25519.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "alg": self.alg, "x": _b64url(raw)}


def derive(seed: int, code: str, family: str) -> SealKey:
    secret = hashlib.sha256(f"issuer:{seed}:{code}".encode()).digest()
    return SealKey(family, secret, code)
