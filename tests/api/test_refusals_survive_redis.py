"""A "no" outlives Redis: logouts and disabled users hold when Redis restarts empty or is
down, because the database is their record and Redis only their mirror."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from auth.store import EPOCH, PREFIX
from tests.auth_helpers import LI, bearer, login

pytestmark = pytest.mark.timeout(60)


def redis_of(stack):
    return stack.app.ctx.container.redis


def redis_down(stack, down: bool) -> None:
    # The in-process stand-in refuses every command while its server is "disconnected".
    redis_of(stack).connection_pool.connection_kwargs["server"].connected = not down


async def me(stack, tokens) -> int:
    return (await stack.client.get("/api/v1/me", headers=bearer(tokens))).status_code


async def test_a_logged_out_token_stays_dead_when_redis_restarts_empty(stack):
    tokens = await login(stack)
    assert (
        await stack.client.post("/api/v1/auth/logout", headers=bearer(tokens))
    ).status_code == 204
    await redis_of(stack).flushdb()
    assert await me(stack, tokens) == 401
    other = await login(stack, LI)
    assert await me(stack, other) == 200


async def test_a_disabled_user_stays_out_when_redis_restarts_empty(stack):
    tokens = await login(stack, LI)
    await stack.app.ctx.container.auth.set_disabled(LI[0], True)
    await redis_of(stack).flushdb()
    assert await me(stack, tokens) == 401


async def test_after_redis_restarts_the_mirror_is_rebuilt_and_trusted_again(stack):
    tokens = await login(stack)
    await stack.client.post("/api/v1/auth/logout", headers=bearer(tokens))
    await redis_of(stack).flushdb()
    assert await me(stack, tokens) == 401  # from the database; a rebuild starts
    for _ in range(1000):
        if await redis_of(stack).get(EPOCH) is not None:
            break
        await asyncio.sleep(0.01)
    family = tokens_family(tokens)
    assert await redis_of(stack).get(f"{PREFIX}rev:fam:{family}") == b"1"
    assert await me(stack, tokens) == 401


async def test_with_redis_down_tokens_are_checked_against_the_database(stack):
    good, gone = await login(stack), await login(stack, LI)
    await stack.client.post("/api/v1/auth/logout", headers=bearer(gone))
    redis_down(stack, True)
    try:
        assert await me(stack, good) == 200
        assert await me(stack, gone) == 401
    finally:
        redis_down(stack, False)


async def test_a_logout_while_redis_is_down_holds_once_redis_is_back(stack):
    tokens = await login(stack)
    assert await me(stack, tokens) == 200  # the mirror is trusted: built and current
    redis_down(stack, True)
    try:
        out = await stack.client.post("/api/v1/auth/logout", headers=bearer(tokens))
        assert out.status_code == 204
    finally:
        redis_down(stack, False)
    # Redis came back with its data but without this logout: it must not be believed.
    assert await me(stack, tokens) == 401


def tokens_family(tokens: dict) -> str:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["fam"]
