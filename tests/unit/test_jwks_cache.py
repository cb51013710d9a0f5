"""The IdP key cache: refetch on an unknown kid at most once per interval; survive outages."""

from __future__ import annotations

import asyncio

import pytest

from auth.idtoken import idp_key_cache
from core.errors import GatewayUnavailable, IdentityProviderUnavailable
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
        self.delay = 0.0

    async def __call__(self) -> dict:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.down:
            raise GatewayUnavailable()
        return {"keys": [JWK, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]}


async def test_unknown_kids_refetch_at_most_once_per_interval():
    idp, clock = Idp(), FakeClock()
    cache = idp_key_cache(idp, refetch_interval=5, clock=clock)
    assert await cache.key("k1") is not None
    for _ in range(10):
        assert await cache.key("forged") is None
    assert idp.calls == 2
    clock.advance(5)
    await cache.key("forged")
    assert idp.calls == 3


async def test_only_p256_keys_are_admitted():
    cache = idp_key_cache(Idp(), clock=FakeClock())
    assert await cache.key("hmac") is None


async def test_cached_keys_survive_an_outage_and_none_at_all_is_unavailable():
    idp, clock = Idp(), FakeClock()
    cache = idp_key_cache(idp, ttl=10, clock=clock)
    await cache.key("k1")
    idp.down = True
    clock.advance(60)
    assert await cache.key("k1") is not None
    empty = idp_key_cache(idp, clock=FakeClock())
    with pytest.raises(IdentityProviderUnavailable):
        await empty.key("k1")


async def test_a_stale_cache_during_an_outage_asks_the_idp_once_per_interval_not_per_login():
    idp, clock = Idp(), FakeClock()
    cache = idp_key_cache(idp, ttl=10, refetch_interval=5, clock=clock)
    await cache.key("k1")
    idp.down = True
    clock.advance(60)
    for _ in range(20):
        assert await cache.key("k1") is not None
    await asyncio.sleep(0.01)  # the refresh runs beside the callers
    assert idp.calls == 2


async def test_concurrent_first_logins_share_one_fetch():
    idp = Idp()
    idp.delay = 0.05
    cache = idp_key_cache(idp, clock=FakeClock())
    keys = await asyncio.gather(*(cache.key("k1") for _ in range(6)))
    assert all(k is not None for k in keys)
    assert idp.calls == 1


async def test_a_due_refresh_while_the_idp_hangs_does_not_hold_up_a_login():
    idp, clock = Idp(), FakeClock()
    cache = idp_key_cache(idp, ttl=10, refetch_interval=5, clock=clock)
    await cache.key("k1")
    idp.delay = 30  # the IdP now hangs
    clock.advance(60)
    key = await asyncio.wait_for(cache.key("k1"), 1)  # answered from what we hold
    assert key is not None
    await asyncio.sleep(0.01)
    assert idp.calls == 2  # one refresh started beside the login, not awaited by it
