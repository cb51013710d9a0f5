"""Sessions on fakes: rotation, reuse, expiry, logout and revocation, without a database."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest

from auth.records import Account
from auth.sessions import Sessions
from auth.store import AuthStore
from auth.tokens import AccessTokens
from core.errors import AccountDisabled, InvalidToken, RateLimited, RefreshTokenReused
from tests.fakes import (
    FakeClock,
    FakeLimiter,
    FakeSessionRecords,
    FakeUserRecords,
    fake_auth_store,
    new_signing_key,
)

DAY = 86_400.0
KEY = new_signing_key()


@dataclass
class World:
    sessions: Sessions
    users: FakeUserRecords
    records: FakeSessionRecords
    store: AuthStore
    clock: FakeClock


def world() -> World:
    users = FakeUserRecords()
    records = FakeSessionRecords(users)
    store = fake_auth_store()
    # Started at the real time: the store sizes its Redis TTLs against the real clock.
    clock = FakeClock(time.time())
    return World(
        Sessions(AccessTokens(KEY), store, records, clock=clock), users, records, store, clock
    )


async def citizen(w: World, name: str = "张三", masked: str = "3304**********1230") -> Account:
    return await w.users.create(
        id_hash=f"hash-{name}",
        id_encrypted=f"sealed-{name}",
        id_masked=masked,
        name=name,
        roles=("citizen",),
    )


async def family_revoked_in_store(store: AuthStore, family_id: str) -> bool:
    return await store.is_revoked("no-such-jti", family_id, "no-such-user")


async def test_a_new_session_authenticates_as_its_account():
    w = world()
    account = await citizen(w)
    pair = await w.sessions.start(account, "face", device_id="phone-1")
    principal = await w.sessions.authenticate(pair.access_token)
    assert principal.user_id == account.id and principal.roles == ("citizen",)
    assert principal.assurance == "face"
    assert principal.id_number_masked == "3304**********1230"
    assert pair.refresh_token.startswith("rt.")


async def test_refresh_rotates_and_the_new_token_refreshes_again():
    w = world()
    pair = await w.sessions.start(await citizen(w), "face")
    renewed, family = await w.sessions.refresh(pair.refresh_token)
    assert renewed.refresh_token != pair.refresh_token
    assert renewed.principal.family_id == pair.principal.family_id == family.id
    assert (await w.sessions.authenticate(renewed.access_token)).user_id == family.user_id
    await w.sessions.refresh(renewed.refresh_token)


async def test_a_rotated_refresh_token_shown_again_revokes_the_whole_family():
    w = world()
    pair = await w.sessions.start(await citizen(w), "face")
    newest, _ = await w.sessions.refresh(pair.refresh_token)
    with pytest.raises(RefreshTokenReused):
        await w.sessions.refresh(pair.refresh_token)
    family = await w.records.get_family(pair.principal.family_id)
    assert family is not None
    assert family.revoked_at is not None and family.revoked_reason == "reuse"
    assert await family_revoked_in_store(w.store, family.id)
    # The thief's newest tokens die with it, the access token at once.
    with pytest.raises(InvalidToken):
        await w.sessions.authenticate(newest.access_token)
    with pytest.raises(InvalidToken) as refused:
        await w.sessions.refresh(newest.refresh_token)
    assert refused.value.reason == "family_revoked"


async def test_of_two_concurrent_uses_of_one_refresh_token_only_one_gets_new_tokens():
    w = world()
    pair = await w.sessions.start(await citizen(w), "face")
    answers = await asyncio.gather(
        w.sessions.refresh(pair.refresh_token),
        w.sessions.refresh(pair.refresh_token),
        return_exceptions=True,
    )
    assert sum(not isinstance(a, Exception) for a in answers) == 1
    assert any(isinstance(a, RefreshTokenReused) for a in answers)


async def test_a_family_ends_thirty_days_after_login_however_often_it_is_refreshed():
    w = world()
    pair = await w.sessions.start(await citizen(w), "face")
    w.clock.advance(29 * DAY)
    pair, _ = await w.sessions.refresh(pair.refresh_token)
    w.clock.advance(1 * DAY)
    with pytest.raises(InvalidToken) as refused:
        await w.sessions.refresh(pair.refresh_token)
    assert refused.value.reason == "family_expired"


async def test_the_family_lifetime_is_the_one_configured():
    w = world()
    sessions = Sessions(
        AccessTokens(KEY), w.store, w.records, refresh_ttl=timedelta(days=7), clock=w.clock
    )
    pair = await sessions.start(await citizen(w), "face")
    w.clock.advance(7 * DAY - 1)
    pair, _ = await sessions.refresh(pair.refresh_token)
    w.clock.advance(1)
    with pytest.raises(InvalidToken):
        await sessions.refresh(pair.refresh_token)


async def test_a_revoked_family_is_refused_without_counting_as_reuse():
    w = world()
    account = await citizen(w)
    pair = await w.sessions.start(account, "face")
    await w.sessions.end_all_for(account, "roles_changed")
    with pytest.raises(InvalidToken) as refused:
        await w.sessions.refresh(pair.refresh_token)
    assert refused.value.reason == "family_revoked"
    family = await w.records.get_family(pair.principal.family_id)
    assert family is not None
    assert family.revoked_reason == "roles_changed"


async def test_a_disabled_account_cannot_refresh_and_its_token_is_not_spent():
    w = world()
    account = await citizen(w)
    pair = await w.sessions.start(account, "face")
    await w.users.set_disabled(account.id, True)
    with pytest.raises(AccountDisabled):
        await w.sessions.refresh(pair.refresh_token)
    await w.users.set_disabled(account.id, False)
    await w.sessions.refresh(pair.refresh_token)


async def test_the_family_limiter_sees_the_family_and_a_refusal_spends_nothing():
    w = world()
    pair = await w.sessions.start(await citizen(w), "face")
    limiter = FakeLimiter()
    limiter.refuse()
    with pytest.raises(RateLimited):
        await w.sessions.refresh(pair.refresh_token, limiter)
    assert limiter.calls == [pair.principal.family_id]
    limiter.refusing = False
    await w.sessions.refresh(pair.refresh_token, limiter)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-ours", "refresh_malformed"),
        ("rt." + "x" * 100, "refresh_malformed"),
        ("rt.never-issued", "refresh_unknown"),
    ],
)
async def test_a_token_we_never_issued_is_invalid(token, reason):
    w = world()
    with pytest.raises(InvalidToken) as refused:
        await w.sessions.refresh(token)
    assert refused.value.reason == reason


async def test_logout_ends_the_access_token_and_the_family_but_no_other_session():
    w = world()
    account = await citizen(w)
    this, other = (await w.sessions.start(account, "face"), await w.sessions.start(account, "sms"))
    await w.sessions.logout(await w.sessions.authenticate(this.access_token))
    with pytest.raises(InvalidToken):
        await w.sessions.authenticate(this.access_token)
    with pytest.raises(InvalidToken):
        await w.sessions.refresh(this.refresh_token)
    assert await w.store.is_revoked(this.principal.jti, "no-such-family", "no-such-user")
    family = await w.records.get_family(this.principal.family_id)
    assert family is not None
    assert family.revoked_reason == "logout"
    assert await family_revoked_in_store(w.store, family.id)
    assert (await w.sessions.authenticate(other.access_token)).family_id != family.id
    await w.sessions.refresh(other.refresh_token)


async def test_end_all_for_ends_every_open_session_of_that_account_only():
    w = world()
    zhang, li = await citizen(w), await citizen(w, "李四", "3304**********2348")
    phone, tablet = await w.sessions.start(zhang, "face"), await w.sessions.start(zhang, "sms")
    theirs = await w.sessions.start(li, "face")
    assert await w.sessions.end_all_for(zhang, "disabled") == 2
    for pair in (phone, tablet):
        with pytest.raises(InvalidToken):
            await w.sessions.authenticate(pair.access_token)
    assert (await w.sessions.authenticate(theirs.access_token)).user_id == li.id
    assert await w.sessions.end_all_for(zhang, "disabled") == 0


async def test_an_access_token_of_a_disabled_account_is_refused_at_once():
    w = world()
    account = await citizen(w)
    pair = await w.sessions.start(account, "face")
    await w.store.set_disabled(account.id, True)
    with pytest.raises(InvalidToken) as refused:
        await w.sessions.authenticate(pair.access_token)
    assert refused.value.reason == "revoked"
