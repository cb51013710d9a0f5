"""Verifying the provincial identity token.

Pinned to ES256 with keys from the IdP's JWKS, chosen by `kid` alone (`jku`, `x5u` and
`jwk` headers are never followed). The JWKS is held in a `core.keyset.KeySetCache`: refetched
on an unknown `kid` at most once per interval, and kept working while the IdP is down.
Each token logs in once: the login records its `jti`'s first use with its other writes
(auth.records.LoginRecords), kept until the token's expiry.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from jwt.algorithms import ECAlgorithm
from jwt.utils import base64url_decode

from auth import identity
from auth.records import JTI_MAX
from core.errors import IdentityProviderUnavailable, InvalidIdentityToken
from core.keyset import KeySetCache

ALGORITHM = "ES256"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "id_number", "name", "assurance"]


@dataclass(frozen=True)
class Identity:
    subject: str
    id_number: str
    name: str
    assurance: str
    jti: str
    expires_at: int


def es256_keys(document: object) -> dict[str, Any]:
    """The keys of a JWKS document that can verify ES256; everything else is left out."""
    keys: dict[str, Any] = {}
    for jwk in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            continue
        try:
            keys[str(jwk["kid"])] = ECAlgorithm.from_jwk(json.dumps(jwk))
        except (KeyError, ValueError, jwt.InvalidKeyError):
            continue
    return keys


def idp_key_cache(fetch_jwks: Callable[[], Awaitable[object]], **options: Any) -> KeySetCache[Any]:
    """The IdP's keys, fetched through whatever `fetch_jwks` is (the one gateway client)."""

    async def fetch() -> dict[str, Any]:
        return es256_keys(await fetch_jwks())

    return KeySetCache(
        fetch,
        unavailable=lambda error: IdentityProviderUnavailable(reason="no_idp_keys"),
        name="IdP JWKS",
        **options,
    )


class IdentityTokenVerifier:
    def __init__(
        self,
        jwks: KeySetCache[Any],
        issuer: str,
        audience: str,
        leeway_seconds: int = 30,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds

    async def verify(self, token: str) -> Identity:
        """The identity the token proves, with its `jti`: whether that was used before is
        the login's to record."""
        header = _header_of(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidIdentityToken(reason="algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidIdentityToken(reason="no_kid")
        key = await self.jwks.key(kid)
        if key is None:
            raise InvalidIdentityToken(reason="unknown_kid")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS, "verify_iat": True, "verify_nbf": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidIdentityToken(reason="expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidIdentityToken(reason="not_yet_valid") from exc
        except jwt.PyJWTError as exc:
            raise InvalidIdentityToken(reason=type(exc).__name__) from exc
        id_number = identity.normalize(str(claims["id_number"]))
        if not identity.is_valid(id_number):
            raise InvalidIdentityToken(reason="id_number_check_digit")
        if claims["assurance"] not in ("face", "sms"):
            raise InvalidIdentityToken(reason="assurance")
        if not 0 < len(str(claims["jti"])) <= JTI_MAX:
            raise InvalidIdentityToken(reason="jti")  # not one we could keep as used
        return Identity(
            str(claims["sub"]),
            id_number,
            str(claims["name"]),
            str(claims["assurance"]),
            str(claims["jti"]),
            int(claims["exp"]),
        )


def _header_of(token: str) -> dict:
    """The token's header, read only to choose the key: `jwt.decode` then checks the whole
    token strictly, against the algorithm pinned above. pyjwt's own reader
    (`get_unverified_header`) decoded and checked every segment character by character,
    and `decode` does it again: ~5% of a login."""
    if token.count(".") != 2:
        raise InvalidIdentityToken(reason="malformed")  # not a compact JWS: no key looked up
    segment = token.partition(".")[0]
    try:
        header = orjson.loads(base64url_decode(segment))
    except (ValueError, TypeError, UnicodeError) as exc:  # binascii.Error is a ValueError
        raise InvalidIdentityToken(reason="malformed") from exc
    if not isinstance(header, dict):
        raise InvalidIdentityToken(reason="malformed")
    return header
