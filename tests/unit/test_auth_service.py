"""The auth flows on fakes: what is audited, what is refused, what a change ends."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest

from auth.service import AuthService
from auth.sessions import Sessions
from auth.store import AuthStore
from auth.tokens import AccessTokens
from auth.users import UserDirectory
from core.crypto import PiiCipher
from core.errors import (
    AccountDisabled,
    InvalidIdentityToken,
    InvalidToken,
    RateLimited,
    RefreshTokenReused,
)
from tests.fakes import (
    FakeAudit,
    FakeClock,
    FakeLimiter,
    FakeLogins,
    FakeSessionRecords,
    FakeUserRecords,
    FakeVerifier,
    fake_auth_store,
    new_signing_key,
)

ZHANG = ("330402199001011230", "张三", "3304**********1230")
KEY = new_signing_key()


@dataclass
class World:
    auth: AuthService
    idp: FakeVerifier
    audit: FakeAudit
    users: FakeUserRecords
    records: FakeSessionRecords
    store: AuthStore
    person_limit: FakeLimiter
    family_limit: FakeLimiter
    logins: FakeLogins


def world(users: FakeUserRecords | None = None) -> World:
    idp, audit, users = FakeVerifier(), FakeAudit(), users or FakeUserRecords()
    records, store = FakeSessionRecords(users, audit), fake_auth_store()
    person_limit, family_limit = FakeLimiter(), FakeLimiter()
    sessions = Sessions(AccessTokens(KEY), store, records, clock=FakeClock(time.time()))
    directory = UserDirectory(PiiCipher(os.urandom(32)), users)
    logins = FakeLogins(users, records, audit)
    service = AuthService(
        idp,
        directory,
        sessions,
        logins,
        store,
        audit,
        identity_limiter=person_limit,
        family_limiter=family_limit,
    )
    return World(service, idp, audit, users, records, store, person_limit, family_limit, logins)


async def log_in(w: World, person=ZHANG, assurance: str = "face"):
    return await w.auth.login(w.idp.issue(person[0], person[1], assurance), "phone-1", "req-1")


async def test_a_first_login_makes_a_citizen_and_audits_the_masked_id_number():
    w = world()
    pair, user = await log_in(w)
    assert user["name"] == "张三" and user["roles"] == ["citizen"]
    assert user["id_number_masked"] == ZHANG[2] and user["assurance"] == "face"
    [entry] = w.audit.calls
    assert entry["action"] == "auth.login" and entry["outcome"] == "ok"
    assert entry["actor"] == ZHANG[2] and entry["actor_user_id"] == user["id"]
    assert entry["target"] == f"family:{pair.principal.family_id}"
    assert entry["request_id"] == "req-1"


async def test_a_second_login_is_the_same_account_with_its_latest_name_and_assurance():
    w = world()
    _, first = await log_in(w)
    _, second = await log_in(w, (ZHANG[0], "张三丰", ZHANG[2]), "sms")
    assert second["id"] == first["id"]
    assert second["name"] == "张三丰" and second["assurance"] == "sms"
    account = await w.users.get(first["id"])
    assert account is not None and account.name == "张三丰"


async def test_no_audit_entry_ever_carries_the_full_id_number():
    w = world()
    pair, _ = await log_in(w)
    await w.auth.refresh(pair.refresh_token)
    with pytest.raises(RefreshTokenReused):
        await w.auth.refresh(pair.refresh_token)
    with pytest.raises(InvalidIdentityToken):
        await w.auth.login("forged")
    fresh, _ = await log_in(w)
    await w.auth.logout(await w.auth.sessions.authenticate(fresh.access_token))
    await w.auth.set_role(ZHANG[0], "ops", True)
    await w.auth.set_disabled(ZHANG[0], True)
    with pytest.raises(AccountDisabled):
        await log_in(w)
    assert len(w.audit.calls) == 9
    assert all(ZHANG[0] not in str(entry) for entry in w.audit.calls)
    assert sum(entry["actor"] == ZHANG[2] for entry in w.audit.calls) >= 4


async def test_a_disabled_account_is_refused_at_login_and_the_refusal_is_audited():
    w = world()
    await log_in(w)
    await w.auth.set_disabled(ZHANG[0], True)
    with pytest.raises(AccountDisabled):
        await log_in(w)
    assert w.audit.calls[-1]["action"] == "auth.login"
    assert w.audit.calls[-1]["outcome"] == "failed"
    assert w.audit.calls[-1]["reason"] == "account_disabled"
    assert w.audit.calls[-1]["actor"] == ZHANG[2]
    assert len(w.records.families) == 1  # only the session from before


async def test_a_replayed_identity_token_gets_no_session_and_is_audited():
    w = world()
    token = w.idp.issue(ZHANG[0], ZHANG[1])
    await w.auth.login(token)
    with pytest.raises(InvalidIdentityToken):
        await w.auth.login(token)
    assert w.audit.calls[-1]["action"] == "auth.login"
    assert w.audit.calls[-1]["outcome"] == "failed"
    assert w.audit.calls[-1]["reason"] == "replayed_jti"
    assert w.audit.calls[-1]["actor"] == "anonymous"
    assert len(w.records.families) == 1


async def test_the_per_person_limit_is_keyed_by_the_lookup_hash_not_the_id_number():
    w = world()
    await log_in(w)
    assert w.person_limit.calls == [w.auth.users.cipher.lookup_hash(ZHANG[0])]
    assert all(ZHANG[0] not in key for key in w.person_limit.calls)


async def test_a_person_over_the_login_limit_gets_no_account_and_no_session():
    w = world()
    w.person_limit.refuse()
    with pytest.raises(RateLimited):
        await log_in(w)
    assert w.users.accounts == {} and w.records.families == {}


async def test_a_login_refused_by_the_limit_leaves_its_identity_token_good_for_later():
    w = world()
    token = w.idp.issue(ZHANG[0], ZHANG[1])
    w.person_limit.refuse()
    with pytest.raises(RateLimited):
        await w.auth.login(token)
    assert w.logins.used == set()
    w.person_limit.refusing = False
    pair, _ = await w.auth.login(token)
    assert pair.principal.family_id in w.records.families


async def test_a_first_login_keeps_the_id_number_sealed_and_found_by_its_hash():
    w = world()
    _, user = await log_in(w)
    (account,) = w.users.accounts.values()
    assert ZHANG[0] not in str(account) and account.id_masked == ZHANG[2]
    assert w.auth.users.id_number_of(account) == ZHANG[0]
    assert (await w.auth.users.find(ZHANG[0])).id == user["id"]


async def test_a_bad_identity_token_never_reaches_the_limiter_or_the_users():
    w = world()
    with pytest.raises(InvalidIdentityToken):
        await w.auth.login("not-from-the-idp")
    assert w.person_limit.calls == [] and w.users.calls == []
    assert w.audit.actions() == [("auth.login", "failed")]


async def test_a_refresh_answers_with_the_account_and_the_login_assurance():
    w = world()
    pair, _ = await log_in(w, assurance="sms")
    renewed, user = await w.auth.refresh(pair.refresh_token, "req-2")
    assert user["name"] == "张三" and user["assurance"] == "sms"
    assert w.family_limit.calls == [pair.principal.family_id]
    assert w.audit.calls[-1]["action"] == "auth.refresh"
    assert w.audit.calls[-1]["actor"] == ZHANG[2]
    assert renewed.principal.family_id == pair.principal.family_id


async def test_a_reused_refresh_token_is_audited_as_refresh_reuse():
    w = world()
    pair, _ = await log_in(w)
    await w.auth.refresh(pair.refresh_token)
    with pytest.raises(RefreshTokenReused):
        await w.auth.refresh(pair.refresh_token)
    assert w.audit.calls[-1]["action"] == "auth.refresh_reuse"
    assert w.audit.calls[-1]["outcome"] == "revoked"
    assert w.records.families[pair.principal.family_id].revoked_reason == "reuse"


async def test_an_unknown_refresh_token_is_audited_as_a_failed_refresh():
    w = world()
    with pytest.raises(InvalidToken):
        await w.auth.refresh("rt.never-issued")
    assert w.audit.calls[-1]["action"] == "auth.refresh"
    assert w.audit.calls[-1]["outcome"] == "failed"
    assert w.audit.calls[-1]["reason"] == "refresh_unknown"


async def test_logout_is_audited_against_the_family_it_ended():
    w = world()
    pair, user = await log_in(w)
    await w.auth.logout(await w.auth.sessions.authenticate(pair.access_token), "req-3")
    entry = w.audit.calls[-1]
    assert entry["action"] == "auth.logout" and entry["request_id"] == "req-3"
    assert entry["actor"] == ZHANG[2] and entry["actor_user_id"] == user["id"]
    assert entry["target"] == f"family:{pair.principal.family_id}"


async def test_disabling_a_user_ends_every_session_and_mirrors_it_to_the_store():
    w = world()
    phone, user = await log_in(w)
    tablet, _ = await log_in(w)
    assert await w.auth.set_disabled(ZHANG[0], True) == 2
    account = await w.users.get(user["id"])
    assert account is not None and account.disabled
    assert await w.store.is_revoked("no-such-jti", "no-such-family", user["id"])
    for pair in (phone, tablet):
        with pytest.raises(InvalidToken):
            await w.auth.sessions.authenticate(pair.access_token)
    assert w.audit.calls[-1]["action"] == "user.disable"
    assert w.audit.calls[-1]["target"] == ZHANG[2]


async def test_enabling_a_user_again_lets_them_log_in_and_clears_the_store():
    w = world()
    _, user = await log_in(w)
    await w.auth.set_disabled(ZHANG[0], True)
    assert await w.auth.set_disabled(ZHANG[0], False) == 0
    assert not await w.store.is_revoked("no-such-jti", "no-such-family", user["id"])
    pair, _ = await log_in(w)
    await w.auth.sessions.authenticate(pair.access_token)
    assert w.audit.calls[-2]["action"] == "user.enable"


async def test_a_new_role_ends_the_sessions_and_shows_in_the_next_login():
    w = world()
    before, _ = await log_in(w)
    user = await w.auth.set_role(ZHANG[0], "ops", True)
    assert user["roles"] == ["citizen", "ops"]
    with pytest.raises(InvalidToken):
        await w.auth.sessions.authenticate(before.access_token)
    after, _ = await log_in(w)
    assert after.principal.roles == ("citizen", "ops")
    assert w.audit.calls[-2]["action"] == "user.grant_role"
    assert w.audit.calls[-2]["reason"] == "ops"
