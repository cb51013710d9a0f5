"""Verifying the provincial identity token.

Pinned to ES256 with keys from the IdP's JWKS, chosen by `kid` alone (`jku`, `x5u` and
`jwk` headers are never followed). The JWKS is cached, refetched on an unknown `kid` at
most once per `refetch_interval`, and the cached keys keep working while the IdP is down.
Each token logs in once: its `jti` is kept until the token's expiry.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import jwt
from jwt.algorithms import ECAlgorithm

from auth import identity
from core.errors import IdentityProviderUnavailable, InvalidIdentityToken

log = logging.getLogger("lingpao.auth.idtoken")

ALGORITHM = "ES256"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "id_number", "name", "assurance"]


class JtiStore(Protocol):
    async def first_use(self, jti: str, expires_at: int) -> bool: ...


@dataclass(frozen=True)
class Identity:
    subject: str
    id_number: str
    name: str
    assurance: str
    jti: str
    expires_at: int


class JwksCache:
    def __init__(self, fetch: Callable[[], Awaitable[dict]], ttl: float = 300.0,
                 refetch_interval: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self._clock = clock
        self._keys: dict[str, object] = {}
        self._fetched_at: float | None = None
        self._unknown_kid_at: float | None = None
        self.fetches = 0

    async def key(self, kid: str):
        now = self._clock()
        last_unknown = self._unknown_kid_at
        if self._fetched_at is None or now - self._fetched_at > self.ttl:
            await self._refresh(now)
        elif kid not in self._keys and (
                last_unknown is None or now - last_unknown >= self.refetch_interval):
            # A rotation at the IdP shows up as an unknown kid; a flood of made-up kids must
            # not become a flood of fetches, hence at most one such refetch per interval.
            self._unknown_kid_at = now
            await self._refresh(now)
        if not self._keys:
            raise IdentityProviderUnavailable(reason="no_idp_keys")
        return self._keys.get(kid)

    async def _refresh(self, now: float) -> None:
        self.fetches += 1
        try:
            document = await self._fetch()
        except Exception as exc:  # noqa: BLE001 - any failure: keep serving what we have
            log.warning("IdP JWKS could not be fetched (%s); keeping %d cached keys",
                        type(exc).__name__, len(self._keys))
            return
        keys = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
                continue  # only keys that can verify ES256 are admitted
            try:
                keys[str(jwk["kid"])] = ECAlgorithm.from_jwk(json.dumps(jwk))
            except (KeyError, ValueError, jwt.InvalidKeyError):
                continue
        if keys:
            self._keys = keys
            self._fetched_at = now


class IdentityTokenVerifier:
    def __init__(self, jwks: JwksCache, issuer: str, audience: str, jtis: JtiStore,
                 leeway_seconds: int = 30) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.jtis = jtis
        self.leeway = leeway_seconds

    async def verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidIdentityToken(reason="malformed") from exc
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
                token, key, algorithms=[ALGORITHM], audience=self.audience, issuer=self.issuer,
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
        if not await self.jtis.first_use(str(claims["jti"]), int(claims["exp"])):
            raise InvalidIdentityToken(reason="replayed_jti")
        return Identity(str(claims["sub"]), id_number, str(claims["name"]),
                        str(claims["assurance"]), str(claims["jti"]), int(claims["exp"]))
