"""PostgreSQL refusing connections or stalling, behind a proxy that breaks on purpose.

What must not happen: a 500, a hang, a half-done logout, an application half-filed or filed
twice, or an outbox row lost or sent twice.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from services.outbox.records import postgres as delivery_statements
from store.models import Application, IdempotencyRecord, OutboxRow
from tests.api.test_applications import file, materials_for, until_status
from tests.api.test_callbacks_and_outbox import push
from tests.auth_helpers import bearer, catalog_ready, login, ops_login
from tests.conftest import backend_with_gateway, make_settings
from tests.faults.proxy import FaultyProxy
from tests.integration.test_applications_on_postgres import quick
from tests.real_services import emptied

pytestmark = pytest.mark.timeout(90)

DATABASE_TIMEOUT = 1.0


@pytest.fixture
async def outage(tmp_path, fresh_pg_url, redis_url):
    parts = urlsplit(fresh_pg_url)
    proxy = await FaultyProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    through = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    await emptied(redis_url)
    settings = make_settings(
        tmp_path,
        database_url=through,
        redis_url=redis_url,
        database_timeout_seconds=DATABASE_TIMEOUT,
        gateway_timeout_seconds=1.0,
        outbox_lease_seconds=3.0,
    )
    try:
        async with backend_with_gateway(settings) as stack:
            await catalog_ready(stack)
            quick(stack)
            for name, value in {"proxy": proxy, "direct_url": fresh_pg_url}.items():
                setattr(stack, name, value)  # the tests reach them as outage.proxy and so on
            yield stack
    finally:
        await proxy.close()


def assert_unavailable(answer) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "service_unavailable"
    assert int(answer.headers["retry-after"]) > 0
    for internal in ("postgres", "asyncpg", "connection", "tortoise"):
        assert internal not in answer.text.lower()


async def rows(outage) -> tuple[int, int, int]:
    """Applications, idempotency records and outbox rows, read past the proxy."""
    conn = await asyncpg.connect(outage.direct_url.replace("postgres://", "postgresql://", 1))
    try:
        counts = [
            await conn.fetchval(f"SELECT count(*) FROM {model._meta.db_table}")  # noqa: S608
            for model in (Application, IdempotencyRecord, OutboxRow)
        ]
        return counts[0], counts[1], counts[2]
    finally:
        await conn.close()


async def test_every_route_that_needs_the_database_answers_503_while_it_refuses(outage):
    tokens, ops = await login(outage), await ops_login(outage)
    body = {"item_code": "HJ005", "materials": await materials_for(outage, tokens, "HJ005")}
    outage.application = (await file(outage, tokens, body, key="before")).json()
    outage.proxy.refuse()
    try:
        reads = ["/api/v1/applications", "/api/v1/me/access-log", "/api/v1/ops/outbox"]
        for path in reads:
            who = ops if "/ops/" in path else tokens
            assert_unavailable(await outage.client.get(path, headers=bearer(who)))
        assert_unavailable(await file(outage, tokens, body, key="during"))
        callback = {
            "application_id": "GA-1",
            "idempotency_key": outage.application["id"],
            "status": "accepted",
            "at": "2026-11-26T00:00:00Z",
        }
        assert_unavailable(await push(outage, callback))
    finally:
        outage.proxy.heal()
    assert (await outage.client.get("/api/v1/applications", headers=bearer(tokens))).is_success


async def test_a_filing_refused_during_the_outage_left_nothing_and_its_retry_makes_one(outage):
    tokens = await login(outage)
    body = {"item_code": "HJ005", "materials": await materials_for(outage, tokens, "HJ005")}
    before = await rows(outage)
    outage.proxy.refuse()
    try:
        assert_unavailable(await file(outage, tokens, body, key="retry-me"))
    finally:
        outage.proxy.heal()
    assert await rows(outage) == before
    answers = [await file(outage, tokens, body, key="retry-me") for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert await rows(outage) == (before[0] + 1, before[1] + 1, before[2] + 1)


async def test_a_logout_during_the_outage_can_be_retried_and_then_holds(outage):
    tokens = await login(outage)
    outage.proxy.refuse()
    try:
        assert_unavailable(await outage.client.post("/api/v1/auth/logout", headers=bearer(tokens)))
    finally:
        outage.proxy.heal()
    await retried_logout_holds(outage, tokens)


async def test_a_logout_cut_off_between_its_two_writes_can_be_retried_and_then_holds(
    outage, monkeypatch
):
    """The access token is refused in the database, then the database goes before the
    refresh family is: the client is told to retry, and its retry finishes the job."""
    tokens = await login(outage)
    sessions = outage.app.ctx.container.sessions
    revoke_family = sessions.records.revoke_family

    async def database_gone(*args, **kwargs):
        outage.proxy.refuse()
        return await revoke_family(*args, **kwargs)

    monkeypatch.setattr(sessions.records, "revoke_family", database_gone)
    try:
        assert_unavailable(await outage.client.post("/api/v1/auth/logout", headers=bearer(tokens)))
    finally:
        outage.proxy.heal()
        monkeypatch.undo()
    await retried_logout_holds(outage, tokens)


async def retried_logout_holds(outage, tokens) -> None:
    retried = await outage.client.post("/api/v1/auth/logout", headers=bearer(tokens))
    assert retried.status_code == 204
    assert (await outage.client.get("/api/v1/me", headers=bearer(tokens))).status_code == 401
    refreshed = await outage.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_a_stalled_database_costs_a_bounded_wait_then_503_and_metrics_answer_at_once(
    outage,
):
    tokens = await login(outage)
    loop = asyncio.get_running_loop()
    outage.proxy.stall()
    try:
        started = loop.time()
        answer = await outage.client.get("/api/v1/applications", headers=bearer(tokens))
        assert_unavailable(answer)
        assert loop.time() - started < 3 * DATABASE_TIMEOUT + 1
        started = loop.time()
        metrics = await outage.client.get("/metrics")
        assert metrics.status_code == 200 and "lingpao_http_requests" in metrics.text
        assert loop.time() - started < 0.8
    finally:
        outage.proxy.heal()


async def test_the_outbox_waits_out_an_outage_and_then_delivers_each_row_once(outage):
    tokens = await login(outage)
    body = {"item_code": "HJ005", "materials": await materials_for(outage, tokens, "HJ005")}
    await outage.gateway.put("/_admin/faults", json={"down": True})
    filed = [(await file(outage, tokens, body, key=f"out-{n}")).json()["id"] for n in range(3)]
    outage.proxy.refuse()
    await outage.gateway.put("/_admin/faults", json={"down": False})
    await asyncio.sleep(1.0)  # the delivery loop meets the outage and keeps going
    outage.proxy.heal()
    for application_id in filed:
        await until_status(outage, tokens, application_id, "completed")
    intake = outage.gateway_app.ctx.intake.by_id.values()
    assert sorted(a["idempotency_key"] for a in intake) == sorted(filed)


async def test_a_delivery_the_database_could_not_mark_is_sent_again_and_stays_one(outage):
    """The gateway took the application; the database went before the worker could mark
    the row. Its lease runs out, the row is sent again, the idempotency key keeps it one."""
    tokens = await login(outage)
    body = {"item_code": "HJ005", "materials": await materials_for(outage, tokens, "HJ005")}
    await outage.gateway.put("/_admin/faults", json={"answer_delay_ms": 600})
    application_id = (await file(outage, tokens, body, key="unmarked")).json()["id"]
    intake = outage.gateway_app.ctx.intake
    deadline = asyncio.get_running_loop().time() + 10
    while not intake.by_id:
        assert asyncio.get_running_loop().time() < deadline, "the gateway never got it"
        await asyncio.sleep(0.01)
    outage.proxy.refuse()  # the answer is still on its way
    await asyncio.sleep(1.0)
    await outage.gateway.put("/_admin/faults", json={"answer_delay_ms": 0})
    outage.proxy.heal()
    await until_status(outage, tokens, application_id, "completed")
    deadline = asyncio.get_running_loop().time() + 15
    while await OutboxRow.filter(state="delivered").count() < 1:
        assert asyncio.get_running_loop().time() < deadline, "the row was never marked"
        await asyncio.sleep(0.1)
    assert len(intake.by_id) == 1


async def test_a_delivery_round_whose_connection_died_does_not_leave_the_loop_a_dead_one(
    tmp_path, fresh_pg_url, redis_url, monkeypatch
):
    """The connection dies under the round's claim: the loop logs it, and its next rounds
    take live connections and deliver."""
    settings = make_settings(
        tmp_path, database_url=fresh_pg_url, redis_url=redis_url, outbox_in_server=False
    )
    async with backend_with_gateway(settings) as stack:
        await catalog_ready(stack)
        quick(stack)
        tokens = await login(stack)
        body = {"item_code": "HJ005", "materials": await materials_for(stack, tokens, "HJ005")}
        application_id = (await file(stack, tokens, body, key="begin")).json()["id"]
        fetch, cuts = asyncpg.Connection.fetch, list[str]()

        async def cut_at_the_first_claim(self, query, *args, **kwargs):
            if not cuts and query == delivery_statements.CLAIM:
                cuts.append(query)
                await self.close()  # the connection dies under the claim
            return await fetch(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "fetch", cut_at_the_first_claim)
        stopping = asyncio.Event()
        loop = asyncio.create_task(stack.app.ctx.container.outbox.run(stopping))
        try:
            await until_status(stack, tokens, application_id, "completed")
        finally:
            stopping.set()
            await asyncio.wait_for(loop, 15)
        assert cuts  # the cut did happen
