"""Getting identity tokens from the mock IdP, and forging bad ones with its own key."""

from __future__ import annotations

import time
import uuid

import jwt

from server.context import CATALOG_BOOTSTRAP

ZHANG = ("330402199001011230", "张三")
LI = ("330411198506152348", "李四")
WANG = ("330402197803203454", "王五")


async def identity_token(stack, person=ZHANG, assurance: str = "face") -> str:
    response = await stack.gateway.post(
        "/idp/token", json={"id_number": person[0], "name": person[1], "assurance": assurance}
    )
    assert response.status_code == 200, response.text
    return response.json()["identity_token"]


async def login(stack, person=ZHANG, assurance: str = "face") -> dict:
    token = await identity_token(stack, person, assurance)
    response = await stack.client.post("/api/v1/auth/login", json={"identity_token": token})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict) -> dict:
    return {"authorization": f"Bearer {tokens['access_token']}"}


def forged(
    stack, audience: str, *, drop=(), headers=None, key=None, algorithm="ES256", **overrides
) -> str:
    """An identity token signed with the IdP's real key unless told otherwise."""
    idp = stack.gateway_app.ctx.idp
    kid, signing_key = idp.current
    now = int(time.time())
    claims = {
        "iss": idp.issuer,
        "aud": audience,
        "sub": "s-forged",
        "id_number": ZHANG[0],
        "name": ZHANG[1],
        "assurance": "face",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    for name in drop:
        claims.pop(name, None)
    return jwt.encode(
        claims,
        key if key is not None else signing_key,
        algorithm=algorithm,
        headers={"kid": kid, **(headers or {})},
    )


async def ops_login(stack) -> dict:
    await stack.app.ctx.container.users.ensure(WANG[0], WANG[1], ["citizen", "ops"])
    return await login(stack, WANG)


async def catalog_ready(stack) -> None:
    """Waits for the start-up sync of the catalog from the gateway."""
    await stack.app.ctx.background[CATALOG_BOOTSTRAP]
