"""The IdP key cache: refetch on an unknown kid at most once per interval; survive outages."""

from __future__ import annotations

import pytest

from auth.idtoken import JwksCache
from core.errors import IdentityProviderUnavailable
from tests.fakes import FakeClock

JWK = {
    "kty": "EC",
    "crv": "P-256",
    "kid": "k1",
    "alg": "ES256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}


class Idp:
    def __init__(self) -> None:
        self.calls = 0
        self.down = False

    async def __call__(self) -> dict:
        self.calls += 1
        if self.down:
            raise ConnectionError("down")
        return {"keys": [JWK, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]}


async def test_unknown_kids_refetch_at_most_once_per_interval():
    idp, clock = Idp(), FakeClock()
    cache = JwksCache(idp, refetch_interval=5, clock=clock)
    assert await cache.key("k1") is not None
    for _ in range(10):
        assert await cache.key("forged") is None
    assert idp.calls == 2
    clock.advance(5)
    await cache.key("forged")
    assert idp.calls == 3


async def test_only_p256_keys_are_admitted():
    cache = JwksCache(Idp(), clock=FakeClock())
    assert await cache.key("hmac") is None


async def test_cached_keys_survive_an_outage_and_none_at_all_is_unavailable():
    idp, clock = Idp(), FakeClock()
    cache = JwksCache(idp, ttl=10, clock=clock)
    await cache.key("k1")
    idp.down = True
    clock.advance(60)
    assert await cache.key("k1") is not None
    empty = JwksCache(idp, clock=FakeClock())
    with pytest.raises(IdentityProviderUnavailable):
        await empty.key("k1")
