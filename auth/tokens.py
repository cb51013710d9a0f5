"""Our own access tokens: ES256 JWTs with a `kid`, checked cheaply on every request.

Verifying ES256 costs more than the rest of a request, so a verified token's claims are
kept in a bounded cache until the token expires. The cache holds only what the signature
already proved; revocation is checked against the shared store on every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from core.errors import InvalidToken

ISSUER = "lingpao"
ACCESS = "access"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the access token proves it."""

    user_id: str
    name: str
    id_number_masked: str
    roles: tuple[str, ...]
    assurance: str
    family_id: str
    jti: str
    expires_at: int


def _kid(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).rstrip(b"=").decode()


class AccessTokens:
    def __init__(
        self,
        private_key_pem: bytes,
        ttl_seconds: int = 900,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the token-signing key must be an EC P-256 private key")
        self.private_key = key
        self.public_key = key.public_key()
        self.kid = _kid(self.public_key)
        self.ttl = ttl_seconds
        self._clock = clock
        self._cache: OrderedDict[str, Principal] = OrderedDict()
        self._cache_size = cache_size

    def jwks(self) -> dict:
        jwk = json.loads(ECAlgorithm.to_jwk(self.public_key))
        jwk.update({"kid": self.kid, "alg": "ES256", "use": "sig"})
        return {"keys": [jwk]}

    def issue(
        self,
        user_id: str,
        name: str,
        id_number_masked: str,
        roles: list[str],
        assurance: str,
        family_id: str,
    ) -> tuple[str, Principal]:
        now = int(self._clock())
        principal = Principal(
            user_id,
            name,
            id_number_masked,
            tuple(roles),
            assurance,
            family_id,
            uuid.uuid4().hex,
            now + self.ttl,
        )
        claims = {
            "iss": ISSUER,
            "sub": user_id,
            "typ": ACCESS,
            "iat": now,
            "exp": principal.expires_at,
            "jti": principal.jti,
            "fam": family_id,
            "roles": list(roles),
            "amr": assurance,
            "name": name,
            "idm": id_number_masked,
        }
        token = jwt.encode(
            claims, self.private_key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"}
        )
        return token, principal

    def verify(self, token: str) -> Principal:
        now = self._clock()
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at > now:
                return cached
            self._cache.pop(token, None)
        principal = self._verify_signature(token)
        self._cache[token] = principal
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    def _verify_signature(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "ES256" or header.get("kid") != self.kid:
                raise InvalidToken(reason="header")
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["ES256"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "sub", "typ", "fam"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(reason=type(exc).__name__) from exc
        if claims.get("typ") != ACCESS:
            raise InvalidToken(reason="not_an_access_token")
        if int(claims["exp"]) <= self._clock():
            raise InvalidToken(reason="expired")
        return Principal(
            str(claims["sub"]),
            str(claims.get("name", "")),
            str(claims.get("idm", "")),
            tuple(claims.get("roles", [])),
            str(claims.get("amr", "")),
            str(claims["fam"]),
            str(claims["jti"]),
            int(claims["exp"]),
        )
