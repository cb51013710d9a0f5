"""Applications on real PostgreSQL and Redis: nothing lost, nothing sent twice, whatever
the gateway does, however many workers drain the outbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack

import pytest

from mock_gateway.inprocess import MockGatewayTransport
from server.app import create_app
from store.models import Application, OutboxAttempt, OutboxRow
from tests.api.test_applications import file, materials_for, until_status
from tests.auth_helpers import bearer, catalog_ready, login
from tests.conftest import backend_with_gateway, make_settings, serve_in_process

pytestmark = pytest.mark.timeout(120)


def count_sends(gateway_app) -> Counter[str]:
    """Every submission that reaches the mock gateway's intake, per idempotency key."""
    intake = gateway_app.ctx.intake
    sent: Counter[str] = Counter()
    submit = intake.submit

    def counting(app_key: str, key: str, body: dict):
        sent[key] += 1
        return submit(app_key, key, body)

    intake.submit = counting
    return sent


def quick(stack) -> None:
    """Retries in milliseconds rather than seconds, so outages fit in a test."""
    container = stack.app.ctx.container
    container.outbox.backoff_initial = 0.02
    container.outbox.backoff_max = 0.2
    container.gateway.breaker.reset_after = 0.1


async def test_while_the_gateway_is_down_everything_queues_and_each_is_delivered_once(
    tmp_path, fresh_pg_url, redis_url
):
    settings = make_settings(tmp_path, database_url=fresh_pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as stack:
        await catalog_ready(stack)
        quick(stack)
        tokens = await login(stack)
        body = {"item_code": "HJ005", "materials": await materials_for(stack, tokens, "HJ005")}
        await stack.gateway.put("/_admin/faults", json={"down": True})
        filed = [await file(stack, tokens, body, key=f"down-{n}") for n in range(5)]
        assert [f.status_code for f in filed] == [202] * 5
        assert {f.json()["status"] for f in filed} == {"queued"}
        await asyncio.sleep(0.5)
        assert stack.gateway_app.ctx.intake.by_id == {}
        await stack.gateway.put("/_admin/faults", json={"down": False})
        for f in filed:
            await until_status(stack, tokens, f.json()["id"], "completed")
        assert len(stack.gateway_app.ctx.intake.by_id) == 5
        delivered = await OutboxAttempt.filter(outcome="delivered").values_list(
            "outbox_id", flat=True
        )
        assert sorted(Counter(delivered).values()) == [1] * 5


async def test_with_half_the_gateway_calls_failing_every_application_arrives_once(
    tmp_path, fresh_pg_url, redis_url
):
    settings = make_settings(tmp_path, database_url=fresh_pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as stack:
        await catalog_ready(stack)
        quick(stack)
        tokens = await login(stack)
        body = {"item_code": "HJ005", "materials": await materials_for(stack, tokens, "HJ005")}
        await stack.gateway.put("/_admin/faults", json={"error_rate": 0.5})
        ids = []
        for n in range(20):
            answer = await file(stack, tokens, body, key=f"flaky-{n}")
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
        for application_id in ids:
            await until_status(stack, tokens, application_id, "completed", "rejected")
        intake = stack.gateway_app.ctx.intake
        assert sorted(a["idempotency_key"] for a in intake.by_id.values()) == sorted(ids)
        assert await OutboxRow.filter(state="delivered").count() == 20


async def test_two_instances_draining_one_outbox_never_send_a_row_twice(
    tmp_path, fresh_pg_url, redis_url
):
    settings = make_settings(
        tmp_path, database_url=fresh_pg_url, redis_url=redis_url, outbox_in_server=False
    )
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(backend_with_gateway(settings))
        await catalog_ready(a)
        b_app = create_app(
            settings, name="b", gateway_transport=MockGatewayTransport(a.gateway_app)
        )
        await stack.enter_async_context(serve_in_process(b_app))
        tokens = await login(a)
        body = {"item_code": "HJ005", "materials": await materials_for(a, tokens, "HJ005")}
        ids = [(await file(a, tokens, body, key=f"pair-{n}")).json()["id"] for n in range(30)]
        sent = count_sends(a.gateway_app)
        assert b_app.ctx.container is not None
        workers = [a.app.ctx.container.outbox, b_app.ctx.container.outbox]
        for worker in workers:
            worker.batch = 4

        async def drain(worker) -> None:
            while await worker.drain_once():
                pass

        await asyncio.gather(*(drain(w) for w in workers), *(drain(w) for w in workers))
        assert sorted(sent) == sorted(ids)
        assert set(sent.values()) == {1}
        assert await OutboxRow.filter(state="delivered").count() == 30


async def test_identical_requests_in_flight_at_once_make_one_application(
    tmp_path, fresh_pg_url, redis_url
):
    settings = make_settings(tmp_path, database_url=fresh_pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as stack:
        await catalog_ready(stack)
        tokens = await login(stack)
        body = {"item_code": "HJ005", "materials": await materials_for(stack, tokens, "HJ005")}
        answers = await asyncio.gather(*(file(stack, tokens, body, key="same") for _ in range(10)))
        accepted = {a.json()["id"] for a in answers if a.status_code == 202}
        assert len(accepted) == 1
        # On PostgreSQL the key and its application are one statement: every other request
        # waits for it and is answered with the application, none with "in flight".
        assert {a.status_code for a in answers} == {202}
        replayed = [a.headers.get("idempotent-replayed") == "true" for a in answers]
        assert replayed.count(False) == 1
        assert await Application.all().count() == 1
        again = await file(stack, tokens, body, key="same")
        assert again.status_code == 202 and again.json()["id"] in accepted
        other = await file(stack, tokens, {**body, "form": {"x": 1}}, key="same")
        assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_a_callback_sequence_on_postgres_moves_forward_once(
    tmp_path, fresh_pg_url, redis_url
):
    settings = make_settings(tmp_path, database_url=fresh_pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as stack:
        await catalog_ready(stack)
        tokens = await login(stack)
        body = {"item_code": "JT002", "materials": await materials_for(stack, tokens, "JT002")}
        filed = (await file(stack, tokens, body)).json()
        done = await until_status(stack, tokens, filed["id"], "completed")
        assert [h["status"] for h in done["history"]][-1] == "completed"
        assert len({h["status"] for h in done["history"]}) == len(done["history"])
        new = done["result_certificate_id"]
        shown = await stack.client.get(f"/api/v1/me/certificates/{new}", headers=bearer(tokens))
        assert shown.status_code == 200 and shown.json()["status"] == "valid"
