"""Our access tokens: the verification cache never outlives a token, and is bounded."""

from __future__ import annotations

import time

import pytest

from auth.tokens import AccessTokens
from core.errors import InvalidToken
from server.devkeys import new_ec_pem
from tests.fakes import FakeClock


def issue(t: AccessTokens, user: str = "u1") -> str:
    return t.issue(user, "张三", "3304**********1230", ["citizen"], "face", "fam-1")[0]


def test_a_token_verifies_and_carries_who_and_how():
    t = AccessTokens(new_ec_pem())
    principal = t.verify(issue(t))
    assert principal.user_id == "u1" and principal.roles == ("citizen",)
    assert principal.assurance == "face" and principal.family_id == "fam-1"
    assert principal.expires_at - time.time() == pytest.approx(900, abs=5)


def test_a_cached_token_is_refused_once_it_expires():
    clock = FakeClock(time.time())
    t = AccessTokens(new_ec_pem(), ttl_seconds=900, clock=clock)
    token = issue(t)
    t.verify(token)
    assert token in t._cache
    clock.advance(901)
    with pytest.raises(InvalidToken):
        t.verify(token)
    assert token not in t._cache


def test_the_cache_is_bounded():
    t = AccessTokens(new_ec_pem(), cache_size=2)
    for user in ("a", "b", "c"):
        t.verify(issue(t, user))
    assert len(t._cache) == 2


def test_a_token_signed_by_another_key_is_refused():
    ours, theirs = AccessTokens(new_ec_pem()), AccessTokens(new_ec_pem())
    with pytest.raises(InvalidToken):
        ours.verify(issue(theirs))


def test_a_key_that_is_not_p256_is_refused_at_start():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError):
        AccessTokens(pem)
