"""The provincial gateway failing every way the mock can: hanging, slow, 5xx bursts, answers
lost after it acted, garbage, oversized answers and redirects — on real PostgreSQL and Redis.

What must not happen: a wait longer than one gateway deadline, a 500, upstream text in an
answer, an application lost, or one application arriving at the gateway twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from store.models import OutboxAttempt, OutboxRow
from tests.api.test_applications import file, materials_for, until_status
from tests.auth_helpers import LI, bearer, catalog_ready, login
from tests.conftest import backend_with_gateway, make_settings
from tests.integration.test_applications_on_postgres import count_sends, quick
from tests.real_services import emptied

pytestmark = pytest.mark.timeout(120)

GATEWAY_TIMEOUT = 1.0  # one call's deadline is this plus 2 s to connect


@pytest.fixture
async def stack(request, tmp_path, fresh_pg_url, redis_url):
    timeout = getattr(request, "param", GATEWAY_TIMEOUT)
    await emptied(redis_url)
    settings = make_settings(
        tmp_path,
        database_url=fresh_pg_url,
        redis_url=redis_url,
        gateway_timeout_seconds=timeout,
        outbox_lease_seconds=3 * timeout,
    )
    async with backend_with_gateway(settings) as running:
        await catalog_ready(running)
        quick(running)
        tokens = await login(running)
        extra = {
            "tokens": tokens,
            "li": await login(running, LI),  # now: the IdP is behind the same faults
            "body": {
                "item_code": "HJ005",
                "materials": await materials_for(running, tokens, "HJ005"),
            },
        }
        for name, value in extra.items():
            setattr(running, name, value)  # the tests reach them as stack.tokens and so on
        yield running


async def faults(stack, **knobs) -> None:
    answer = await stack.gateway.put("/_admin/faults", json=knobs)
    assert answer.status_code == 200, answer.text


async def certificates_of_li(stack):
    """A read that must reach the gateway: 李四's certificates were never fetched."""
    started = asyncio.get_running_loop().time()
    answer = await stack.client.get("/api/v1/me/certificates", headers=bearer(stack.li))
    return answer, asyncio.get_running_loop().time() - started


def assert_refused_plainly(answer, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"].startswith(("gateway", "service"))
    for upstream in ("html", "Bad Gateway", "filler", "elsewhere", "系统繁忙"):
        assert upstream not in answer.text


async def delivered_once_each(stack, ids: list[str]) -> None:
    for application_id in ids:
        await until_status(stack, stack.tokens, application_id, "completed")
    intake = stack.gateway_app.ctx.intake.by_id.values()
    assert sorted(a["idempotency_key"] for a in intake) == sorted(ids)
    # The gateway's callback may complete an application before the worker hears the
    # answer to its send: wait for the worker's own record too.
    deadline = asyncio.get_running_loop().time() + 15
    while await OutboxRow.filter(state="delivered").count() < len(ids):
        assert asyncio.get_running_loop().time() < deadline, "the outbox never marked it"
        await asyncio.sleep(0.05)
    delivered = await OutboxAttempt.filter(outcome="delivered").values_list("outbox_id", flat=True)
    assert sorted(Counter(delivered).values()) == [1] * len(ids)


@pytest.mark.parametrize("stack", [3.0], indirect=True)  # a read timeout per retry would cost 9 s
async def test_a_hanging_gateway_costs_one_deadline_then_503_and_filing_still_queues(stack):
    await faults(stack, hang=True)
    try:
        answer, took = await certificates_of_li(stack)
        assert_refused_plainly(answer, 503)
        assert int(answer.headers["retry-after"]) > 0
        assert took < 3 + 2 + 1.5  # one deadline: the read timeout and the connect timeout
        filed = await file(stack, stack.tokens, stack.body, key="hang-1")
        assert filed.status_code == 202 and filed.json()["status"] == "queued"
    finally:
        await faults(stack, hang=False)
    await delivered_once_each(stack, [filed.json()["id"]])


@pytest.mark.parametrize("stack", [5.0], indirect=True)  # the production read timeout
async def test_a_slow_gateway_of_two_seconds_give_or_take_one_is_waited_for(stack):
    await faults(stack, latency_ms=2000, jitter_ms=1000)
    answer, _ = await certificates_of_li(stack)
    assert answer.status_code == 200
    ready = await stack.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    filed = await file(stack, stack.tokens, stack.body, key="slow-1")
    assert filed.status_code == 202, filed.text
    await delivered_once_each(stack, [filed.json()["id"]])


async def test_after_a_burst_of_5xx_every_application_arrives_once(stack):
    await faults(stack, down=True)
    ids = []
    for n in range(5):
        filed = await file(stack, stack.tokens, stack.body, key=f"burst-{n}")
        assert filed.status_code == 202, filed.text
        ids.append(filed.json()["id"])
    await faults(stack, down=False, fail_next=12)  # the outbox meets the whole burst
    await delivered_once_each(stack, ids)
    assert (await stack.gateway.get("/_admin/faults")).json()["fail_next"] == 0
    assert await OutboxAttempt.filter(outcome="retry").exists()


async def test_an_answer_lost_after_the_gateway_took_the_application_makes_no_second_one(stack):
    sent = count_sends(stack.gateway_app)
    await faults(stack, reset_after_accept=1)
    filed = await file(stack, stack.tokens, stack.body, key="reset-1")
    application_id = filed.json()["id"]
    await delivered_once_each(stack, [application_id])
    assert sent[application_id] >= 2  # sent again, with the same key …
    assert len(stack.gateway_app.ctx.intake.by_id) == 1  # … and still one application


@pytest.mark.parametrize("knob", ["garbage", "oversized", "redirect"])
async def test_a_wrong_answer_is_a_502_that_hides_it_and_nothing_filed_is_lost(stack, knob):
    await faults(stack, **{knob: True})
    try:
        answer, took = await certificates_of_li(stack)
        assert_refused_plainly(answer, 502)
        assert took < GATEWAY_TIMEOUT + 2 + 1.5
        filed = await file(stack, stack.tokens, stack.body, key=f"{knob}-1")
        assert filed.status_code == 202, filed.text
        # The outbox tries, and counts the wrong answer as a failure, not as a delivery.
        deadline = asyncio.get_running_loop().time() + 15
        while not await OutboxAttempt.filter(outcome="retry").exists():
            assert asyncio.get_running_loop().time() < deadline, "the outbox never tried"
            await asyncio.sleep(0.05)
        assert not await OutboxRow.filter(state="delivered").exists()
    finally:
        await faults(stack, **{knob: False})
    await delivered_once_each(stack, [filed.json()["id"]])
