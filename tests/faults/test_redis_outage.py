"""A real redis-server of the test's own, killed and restarted empty, under a backend on real
PostgreSQL.

What must not happen: a logged-out token, a disabled citizen or a used identity token let in
again; a 500 or a hang; a mode switch that answers 200 and is not served at once.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.api.test_ops import switch
from tests.auth_helpers import (
    LI,
    WANG,
    ZHANG,
    bearer,
    catalog_ready,
    identity_token,
    login,
    ops_login,
)
from tests.conftest import backend_with_gateway, make_settings
from tests.faults.proxy import FaultyProxy

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def stack(tmp_path, fresh_pg_url, own_redis):
    settings = make_settings(tmp_path, database_url=fresh_pg_url, redis_url=own_redis.url)
    async with backend_with_gateway(settings) as running:
        await catalog_ready(running)
        setattr(running, "redis_server", own_redis)  # noqa: B010 - the tests reach it so
        yield running


async def me(stack, tokens) -> int:
    return (await stack.client.get("/api/v1/me", headers=bearer(tokens))).status_code


async def mode_of(stack, code: str) -> str:
    return (await stack.client.get(f"/api/v1/items/{code}")).json()["mode"]


def assert_unavailable(answer) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "service_unavailable"
    assert int(answer.headers["retry-after"]) > 0
    assert "redis" not in answer.text.lower()


async def test_while_redis_is_down_no_refusal_is_forgotten_and_the_rest_is_served_from_the_database(
    stack,
):
    good, gone = await login(stack), await login(stack, LI)
    await stack.client.post("/api/v1/auth/logout", headers=bearer(gone))
    stack.redis_server.stop()
    assert await me(stack, gone) == 401
    assert await me(stack, good) == 200
    out = await stack.client.post("/api/v1/auth/logout", headers=bearer(good))
    assert out.status_code == 204
    assert await me(stack, good) == 401
    refresh = {"refresh_token": good["refresh_token"]}
    # The refresh rate limit lives in Redis: without it nothing is handed out, and the
    # client is told to come back.
    assert_unavailable(await stack.client.post("/api/v1/auth/refresh", json=refresh))
    fresh = {"identity_token": await identity_token(stack)}
    assert_unavailable(await stack.client.post("/api/v1/auth/login", json=fresh))
    stack.redis_server.start()
    assert await me(stack, good) == 401 and await me(stack, gone) == 401
    assert (await stack.client.post("/api/v1/auth/refresh", json=refresh)).status_code == 401
    # The identity token was not used up by the refused attempt.
    assert (await stack.client.post("/api/v1/auth/login", json=fresh)).status_code == 200


async def test_while_redis_is_down_the_one_id_view_asks_the_library_and_still_answers(stack):
    tokens = await login(stack)
    look = {"params": {"limit": 100}, "headers": bearer(tokens)}
    before = await stack.client.get("/api/v1/me/one-id-items", **look)
    assert before.status_code == 200
    stack.redis_server.stop()
    during = await stack.client.get("/api/v1/me/one-id-items", **look)
    assert during.status_code == 200, during.text
    assert during.json()["items"] == before.json()["items"]


async def test_while_redis_is_down_a_mode_switch_is_refused_with_503_and_changes_nothing(stack):
    ops = await ops_login(stack)
    before = await mode_of(stack, "HJ005")
    other = "one_trip" if before == "zero_trip" else "zero_trip"
    stack.redis_server.stop()
    started = asyncio.get_running_loop().time()
    assert_unavailable(await switch(stack, "HJ005", other, tokens=ops))
    assert asyncio.get_running_loop().time() - started < 10
    stack.redis_server.start()
    assert await mode_of(stack, "HJ005") == before
    assert (await switch(stack, "HJ005", other, tokens=ops)).status_code == 200
    assert await mode_of(stack, "HJ005") == other


async def test_after_redis_restarts_empty_every_no_still_holds(stack):
    logged_out = await login(stack)
    await stack.client.post("/api/v1/auth/logout", headers=bearer(logged_out))
    disabled = await login(stack, LI)
    await stack.app.ctx.container.auth.set_disabled(LI[0], True)
    used = await identity_token(stack)
    first = await stack.client.post("/api/v1/auth/login", json={"identity_token": used})
    assert first.status_code == 200
    stack.redis_server.restart()
    assert await me(stack, logged_out) == 401
    assert await me(stack, disabled) == 401
    again = await stack.client.post("/api/v1/auth/login", json={"identity_token": used})
    assert again.status_code == 401
    assert await me(stack, first.json()) == 200  # and nobody else was thrown out


async def test_a_switch_right_after_redis_restarts_empty_is_served_at_once(stack):
    ops = await ops_login(stack)
    version = stack.app.ctx.container.catalog.version
    first = await mode_of(stack, "HJ005")
    second = "one_trip" if first == "zero_trip" else "zero_trip"
    assert (await switch(stack, "HJ005", second, tokens=ops)).status_code == 200
    assert await mode_of(stack, "HJ005") == second
    seen_before = await version.current()
    stack.redis_server.restart()
    answer = await switch(stack, "HJ005", first, version="2", tokens=ops)
    assert answer.status_code == 200, answer.text
    assert await mode_of(stack, "HJ005") == first  # not the cached old mode
    assert await version.current() > seen_before  # the counter never repeats


@pytest.fixture
async def stalled(tmp_path, fresh_pg_url, own_redis):
    """The backend reaches Redis through a proxy that can stall: it accepts and never answers."""
    proxy = await FaultyProxy("127.0.0.1", own_redis.port).start()
    settings = make_settings(
        tmp_path, database_url=fresh_pg_url, redis_url=f"redis://127.0.0.1:{proxy.port}/0"
    )
    try:
        async with backend_with_gateway(settings) as running:
            await catalog_ready(running)
            setattr(running, "proxy", proxy)  # noqa: B010 - the tests reach it so
            yield running
    finally:
        await proxy.close()


async def test_a_stalled_redis_costs_a_bounded_wait_and_lets_no_refused_token_in(stalled):
    good, gone = await login(stalled), await login(stalled, LI)
    await stalled.client.post("/api/v1/auth/logout", headers=bearer(gone))
    ops = await ops_login(stalled)
    before = await mode_of(stalled, "HJ005")
    other = "one_trip" if before == "zero_trip" else "zero_trip"
    loop = asyncio.get_running_loop()
    stalled.proxy.stall()
    try:
        # After one Redis socket timeout, each token is judged by the database.
        for tokens, judged in ((gone, 401), (good, 200)):
            started = loop.time()
            assert await me(stalled, tokens) == judged
            assert loop.time() - started < 2 * 2 + 1.5  # Redis socket timeouts, bounded
        started = loop.time()
        assert_unavailable(await switch(stalled, "HJ005", other, tokens=ops))
        assert loop.time() - started < 2 * 2 + 1.5
    finally:
        stalled.proxy.heal()
    assert await mode_of(stalled, "HJ005") == before
    assert await me(stalled, gone) == 401


async def test_logins_at_once_while_redis_stalls_are_503_within_bounded_waits_and_burn_no_token(
    stalled,
):
    people = [ZHANG, LI, WANG, ZHANG, LI, WANG]
    tokens = [await identity_token(stalled, person) for person in people]
    loop = asyncio.get_running_loop()
    stalled.proxy.stall()
    try:
        # Their rate-limit hits go in one pipeline, the ones that come while it is stalled in
        # the next: each waits for at most the one in flight and its own.
        started = loop.time()
        answers = await asyncio.gather(
            *(stalled.client.post("/api/v1/auth/login", json={"identity_token": t}) for t in tokens)
        )
        took = loop.time() - started
    finally:
        stalled.proxy.heal()
    for answer in answers:
        assert_unavailable(answer)
    assert took < 2 * 2 + 1.5  # two Redis socket timeouts, and nothing more
    for token in tokens:  # refused before their use was recorded: each still logs in once
        again = await stalled.client.post("/api/v1/auth/login", json={"identity_token": token})
        assert again.status_code == 200, again.text
