"""The IdP issues ES256 identity tokens for people in the register, verifiable by its JWKS."""

from __future__ import annotations

import jwt
import pytest

from mock_gateway.population import DEMO_CITIZENS
from tests.mock_gateway.conftest import APP_KEY, mock_config, start_gateway


async def verify(gateway, token: str) -> dict:
    jwks = (await gateway.http.get("/idp/jwks.json")).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK({k: v for k, v in next(k for k in jwks["keys"] if k["kid"] == kid).items()})
    return jwt.decode(
        token,
        key.key,
        algorithms=["ES256"],
        audience=APP_KEY,
        options={"require": ["exp", "iat", "nbf", "jti", "iss", "aud", "sub"]},
    )


@pytest.mark.parametrize("person", DEMO_CITIZENS, ids=lambda p: p.name)
async def test_each_demo_citizen_gets_a_verifiable_identity_token(gateway, person):
    response = await gateway.http.post(
        "/idp/token", json={"id_number": person.id_number, "name": person.name, "assurance": "face"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 300
    claims = await verify(gateway, body["identity_token"])
    assert claims["id_number"] == person.id_number
    assert claims["name"] == person.name
    assert claims["assurance"] == "face"
    assert claims["exp"] - claims["iat"] == 300
    assert jwt.get_unverified_header(body["identity_token"])["alg"] == "ES256"


async def test_the_same_person_always_gets_the_same_sub_and_a_fresh_jti(gateway):
    ask = {"id_number": "330402199001011230", "name": "张三", "assurance": "sms"}
    first = await verify(
        gateway, (await gateway.http.post("/idp/token", json=ask)).json()["identity_token"]
    )
    second = await verify(
        gateway, (await gateway.http.post("/idp/token", json=ask)).json()["identity_token"]
    )
    assert first["sub"] == second["sub"] and first["jti"] != second["jti"]
    assert first["assurance"] == "sms"


async def test_an_unknown_person_is_refused(gateway):
    response = await gateway.http.post(
        "/idp/token", json={"id_number": "330402199001011249", "name": "无名", "assurance": "face"}
    )
    assert response.status_code == 401


async def test_a_wrong_name_is_refused(gateway):
    response = await gateway.http.post(
        "/idp/token", json={"id_number": "330402199001011230", "name": "李四", "assurance": "face"}
    )
    assert response.status_code == 401


async def test_rotation_signs_with_a_new_key_and_keeps_the_old_one_published(gateway):
    ask = {"id_number": "330411198506152348", "name": "李四", "assurance": "face"}
    old = (await gateway.http.post("/idp/token", json=ask)).json()["identity_token"]
    new_kid = (await gateway.http.post("/_admin/idp/rotate")).json()["kid"]
    new = (await gateway.http.post("/idp/token", json=ask)).json()["identity_token"]
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert jwt.get_unverified_header(old)["kid"] != new_kid
    await verify(gateway, old)
    await verify(gateway, new)


async def test_a_browser_on_another_origin_may_sign_in_at_the_development_idp(gateway):
    # The ops console (the backend's origin) asks the mock IdP for a token from the page.
    origin = {"origin": "http://127.0.0.1:8000"}
    preflight = await gateway.http.options(
        "/idp/token",
        headers={
            **origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-methods"] == "POST"
    assert "content-type" in preflight.headers["access-control-allow-headers"]
    ask = {"id_number": "330402197803203454", "name": "王五", "assurance": "face"}
    answer = await gateway.http.post("/idp/token", json=ask, headers=origin)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    # Only the sign-in: nothing else the gateway answers is readable from a page.
    assert "access-control-allow-origin" not in (await gateway.http.get("/healthz")).headers


async def test_outside_development_the_idp_answers_no_browser_on_another_origin():
    gw, manager = await start_gateway(mock_config(development=False))
    try:
        preflight = await gw.http.options("/idp/token", headers={"origin": "http://x.test"})
        assert preflight.status_code == 405
        ask = {"id_number": "330402197803203454", "name": "王五", "assurance": "face"}
        answer = await gw.http.post("/idp/token", json=ask, headers={"origin": "http://x.test"})
        assert "access-control-allow-origin" not in answer.headers
    finally:
        await gw.http.aclose()
        await manager.__aexit__(None, None, None)
