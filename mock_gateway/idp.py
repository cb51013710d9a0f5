"""The identity provider: ES256 identity tokens and the JWKS that verifies them."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from mock_gateway.population import Person

TOKEN_LIFETIME_SECONDS = 300
# A retired key stays published this long, so tokens it signed still verify.
RETIRED_KEY_GRACE_SECONDS = 600


def _derive_key(seed: int, generation: int) -> ec.EllipticCurvePrivateKey:
    digest = hashlib.sha256(f"idp:{seed}:{generation}".encode()).digest()
    scalar = int.from_bytes(digest, "big") % (2**255) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


class IdentityProvider:
    def __init__(self, issuer: str, seed: int) -> None:
        self.issuer = issuer
        self.seed = seed
        self.generation = 0
        self._keys: list[tuple[str, ec.EllipticCurvePrivateKey, float | None]] = []
        self._add_key()

    def _add_key(self) -> None:
        key = _derive_key(self.seed, self.generation)
        kid = f"idp-{self.seed}-{self.generation}"
        self._keys.append((kid, key, None))

    @property
    def current(self) -> tuple[str, ec.EllipticCurvePrivateKey]:
        kid, key, _ = self._keys[-1]
        return kid, key

    def rotate(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        kid, key, _ = self._keys[-1]
        self._keys[-1] = (kid, key, now + RETIRED_KEY_GRACE_SECONDS)
        self.generation += 1
        self._add_key()
        return self.current[0]

    def jwks(self, now: float | None = None) -> dict:
        now = time.time() if now is None else now
        self._keys = [k for k in self._keys if k[2] is None or k[2] > now]
        keys = []
        for kid, key, _ in self._keys:
            jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
            jwk.update({"kid": kid, "alg": "ES256", "use": "sig"})
            keys.append(jwk)
        return {"keys": keys}

    def issue(self, person: Person, assurance: str, audience: str, now: float | None = None) -> str:
        now = int(time.time() if now is None else now)
        kid, key = self.current
        claims = {
            "iss": self.issuer,
            "aud": audience,
            # Stable and pseudonymous: the same person always gets the same sub.
            "sub": hashlib.sha256(f"sub:{self.seed}:{person.id_number}".encode()).hexdigest()[:32],
            "id_number": person.id_number,
            "name": person.name,
            "assurance": assurance,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
