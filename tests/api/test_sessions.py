"""Our tokens: refresh rotation and reuse, logout, token types, guards, disabled users."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from auth.tokens import AccessTokens
from store.models import AuditEntry
from tests.auth_helpers import LI, WANG, ZHANG, bearer, login
from tests.conftest import backend_with_gateway, logged_with, make_settings


async def refresh(stack, token: str):
    return await stack.client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def me(stack, tokens: dict):
    return await stack.client.get("/api/v1/me", headers=bearer(tokens))


async def test_refresh_rotates_and_the_old_token_stops_working(stack):
    tokens = await login(stack)
    renewed = await refresh(stack, tokens["refresh_token"])
    assert renewed.status_code == 200
    new = renewed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["user"]["name"] == "张三"
    assert (await me(stack, new)).status_code == 200
    assert (await refresh(stack, new["refresh_token"])).status_code == 200


async def test_a_rotated_refresh_token_shown_again_revokes_the_whole_family(stack):
    tokens = await login(stack)
    new = (await refresh(stack, tokens["refresh_token"])).json()
    reused = await refresh(stack, tokens["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    # Everything of that family is dead: the newest refresh token and its access token.
    assert (await refresh(stack, new["refresh_token"])).status_code == 401
    assert (await me(stack, new)).status_code == 401
    assert await AuditEntry.filter(action="auth.refresh_reuse").exists()


async def test_two_concurrent_refreshes_of_one_token_let_at_most_one_through(stack):
    tokens = await login(stack)
    answers = await asyncio.gather(*(refresh(stack, tokens["refresh_token"]) for _ in range(2)))
    assert sorted(a.status_code for a in answers).count(200) <= 1
    assert any(a.status_code == 401 for a in answers)


async def test_an_unknown_refresh_token_is_invalid(stack):
    response = await refresh(stack, "rt.not-a-real-token")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_logout_ends_the_access_token_and_the_family_at_once(stack):
    tokens = await login(stack)
    other_session = await login(stack)
    response = await stack.client.post("/api/v1/auth/logout", headers=bearer(tokens))
    assert response.status_code == 204
    assert (await me(stack, tokens)).status_code == 401
    assert (await refresh(stack, tokens["refresh_token"])).status_code == 401
    # Only that session: the same person's other login goes on.
    assert (await me(stack, other_session)).status_code == 200


async def test_a_refresh_token_never_passes_as_an_access_token(stack):
    tokens = await login(stack)
    response = await stack.client.get(
        "/api/v1/me", headers={"authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_a_token_of_another_type_signed_with_our_key_is_refused(stack):
    tokens = await login(stack)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    claims["typ"] = "refresh"
    signer: AccessTokens = stack.app.ctx.container.tokens
    forged = jwt.encode(claims, signer.private_key, algorithm="ES256", headers={"kid": signer.kid})
    response = await stack.client.get("/api/v1/me", headers={"authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_an_identity_token_is_not_an_access_token(stack):
    from tests.auth_helpers import identity_token

    token = await identity_token(stack)
    response = await stack.client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["", "Bearer", "Basic abc", "Bearer not-a-token"])
async def test_missing_or_bad_bearer_is_401_with_www_authenticate(stack, header):
    response = await stack.client.get("/api/v1/me", headers={"authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_face_routes_refuse_an_sms_login_with_403(stack):
    sms = await login(stack, LI, assurance="sms")
    response = await stack.client.get("/_test/face", headers=bearer(sms))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "assurance_too_low"
    face = await login(stack, LI, assurance="face")
    assert (await stack.client.get("/_test/face", headers=bearer(face))).status_code == 200


async def test_ops_routes_refuse_a_citizen_with_403_and_a_stranger_with_401(stack):
    citizen = await login(stack, ZHANG)
    assert (await stack.client.get("/_test/ops", headers=bearer(citizen))).status_code == 403
    assert (await stack.client.get("/_test/ops")).status_code == 401
    await stack.app.ctx.container.users.ensure(WANG[0], WANG[1], ["citizen", "ops"])
    ops = await login(stack, WANG)
    assert (await stack.client.get("/_test/ops", headers=bearer(ops))).status_code == 200


async def test_a_disabled_user_loses_every_session_and_cannot_log_in(stack):
    tokens = await login(stack, LI)
    await stack.app.ctx.container.auth.set_disabled(LI[0], True)
    assert (await me(stack, tokens)).status_code == 401
    assert (await refresh(stack, tokens["refresh_token"])).status_code in (401, 403)
    from tests.auth_helpers import identity_token

    again = await stack.client.post(
        "/api/v1/auth/login", json={"identity_token": await identity_token(stack, LI)}
    )
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "account_disabled"
    await stack.app.ctx.container.auth.set_disabled(LI[0], False)
    assert (await login(stack, LI))["user"]["name"] == "李四"


async def test_our_public_keys_verify_our_access_tokens(stack):
    tokens = await login(stack)
    jwks = (await stack.client.get("/.well-known/jwks.json")).json()
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(tokens["access_token"], key.key, algorithms=["ES256"])
    assert claims["typ"] == "access" and claims["idm"] == "3304**********1230"
    assert ZHANG[0] not in tokens["access_token"]


async def test_each_auth_event_is_audited_with_the_masked_id_only(stack):
    tokens = await login(stack)
    await refresh(stack, tokens["refresh_token"])
    await stack.client.post("/api/v1/auth/login", json={"identity_token": "bad.token.here"})
    new = await refresh(stack, tokens["refresh_token"])  # reuse
    assert new.status_code == 401
    fresh = await login(stack)
    await stack.client.post("/api/v1/auth/logout", headers=bearer(fresh))
    entries = await AuditEntry.all().values("actor", "action", "outcome", "reason")
    actions = {(e["action"], e["outcome"]) for e in entries}
    assert {
        ("auth.login", "ok"),
        ("auth.refresh", "ok"),
        ("auth.login", "failed"),
        ("auth.refresh_reuse", "revoked"),
        ("auth.logout", "ok"),
    } <= actions
    assert all(ZHANG[0] not in str(e) for e in entries)
    assert any(e["actor"] == "3304**********1230" for e in entries)


async def test_logins_beyond_the_rate_limit_get_429_with_retry_after(tmp_path):
    from store.db import apply_migrations
    from tests.auth_helpers import identity_token

    settings = make_settings(tmp_path, login_rate_limit="2/minute")
    await apply_migrations(settings.database_url)
    async with backend_with_gateway(settings) as stack:
        codes = []
        for _ in range(3):
            token = await identity_token(stack)
            response = await stack.client.post("/api/v1/auth/login", json={"identity_token": token})
            codes.append(response.status_code)
        assert codes == [200, 200, 429]
        assert response.json()["error"]["code"] == "rate_limited"
        assert int(response.headers["retry-after"]) >= 1


async def test_a_full_session_leaves_no_id_number_or_token_in_the_logs(stack, log_output):
    tokens = await login(stack)
    renewed = (await refresh(stack, tokens["refresh_token"])).json()
    await stack.client.get("/api/v1/me", headers=bearer(renewed))
    await stack.client.post("/api/v1/auth/logout", headers=bearer(renewed))
    await refresh(stack, renewed["refresh_token"])
    logged = await logged_with(log_output, "lingpao.access")
    assert "lingpao.access" in logged
    for secret in (
        ZHANG[0],
        tokens["access_token"],
        tokens["refresh_token"],
        renewed["access_token"],
        renewed["refresh_token"],
    ):
        assert secret not in logged


async def test_a_family_past_its_absolute_lifetime_cannot_refresh(stack):
    from datetime import UTC, datetime, timedelta

    from auth.models import RefreshFamily

    tokens = await login(stack)
    renewed = (await refresh(stack, tokens["refresh_token"])).json()
    family_id = jwt.decode(renewed["access_token"], options={"verify_signature": False})["fam"]
    await RefreshFamily.filter(id=family_id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    response = await refresh(stack, renewed["refresh_token"])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_a_new_family_lives_thirty_days_by_default(stack):
    from datetime import UTC, datetime, timedelta

    from auth.models import RefreshFamily

    tokens = await login(stack)
    family_id = jwt.decode(tokens["access_token"], options={"verify_signature": False})["fam"]
    family = await RefreshFamily.get(id=family_id)
    assert abs(family.expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
