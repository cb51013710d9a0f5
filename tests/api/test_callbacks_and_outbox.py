"""The gateway's callbacks (signed, forward only, once) and what ops see of the outbox."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
import pytest
from stdnum.iso7064 import mod_37_36

from services.gateway import signing
from store.models import Application, OutboxRow
from tests.api.test_applications import file, materials_for, until_status
from tests.auth_helpers import bearer, catalog_ready, login, ops_login

pytestmark = pytest.mark.timeout(60)
PATH = "/api/v1/gateway/callbacks"


@pytest.fixture
async def filed(stack):
    """An application of 张三 that the gateway has not heard of: the outbox is held."""
    await catalog_ready(stack)
    stack.app.ctx.container.outbox.batch = 0  # claims nothing: callbacks drive the status
    stack.tokens = await login(stack)
    body = {"item_code": "HJ005", "materials": await materials_for(stack, stack.tokens, "HJ005")}
    stack.application = (await file(stack, stack.tokens, body)).json()
    return stack


async def push(
    stack,
    payload: dict,
    *,
    secret: str | None = None,
    nonce: str | None = None,
    at: float | None = None,
    app_key: str | None = None,
    signed: bool = True,
):
    settings = stack.app.ctx.settings
    raw = orjson.dumps(payload)
    headers = {"content-type": "application/json"}
    if signed:
        headers |= signing.sign_headers(
            app_key or settings.gateway_app_key,
            secret or settings.gateway_app_secret,
            "POST",
            PATH,
            raw,
            time.time() if at is None else at,
        )
        if nonce is not None:
            headers["X-Nonce"] = nonce
            headers["X-Signature"] = signing.signature(
                secret or settings.gateway_app_secret,
                "POST",
                PATH,
                headers["X-Timestamp"],
                nonce,
                raw,
            )
    return await stack.client.post(PATH, content=raw, headers=headers)


def status(stack, value: str) -> dict:
    return {
        "application_id": "GA-TEST",
        "idempotency_key": stack.application["id"],
        "status": value,
        "at": "2026-11-26T00:00:00Z",
    }


async def history(stack) -> list[str]:
    got = await stack.client.get(
        f"/api/v1/applications/{stack.application['id']}", headers=bearer(stack.tokens)
    )
    return [h["status"] for h in got.json()["history"]]


async def test_a_signed_callback_moves_the_application_forward(filed):
    answer = await push(filed, status(filed, "accepted"))
    assert answer.status_code == 200 and answer.json()["changed"] is True
    assert await history(filed) == ["queued", "accepted"]


async def test_a_result_certificate_whose_identifier_does_not_verify_is_refused(filed):
    good = "1.2.156.3005.2.116.11330400002571218K.0000900.001"
    check = mod_37_36.calc_check_digit(good.replace(".", ""))
    wrong = next(c for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c != check)
    answer = await push(
        filed, status(filed, "completed") | {"result_certificate_id": f"{good}.{wrong}"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"][0]["field"] == "result_certificate_id"
    assert await history(filed) == ["queued"]
    fine = await push(
        filed, status(filed, "completed") | {"result_certificate_id": f"{good}.{check}"}
    )
    assert fine.status_code == 200 and await history(filed) == ["queued", "completed"]


async def test_a_duplicate_callback_is_acknowledged_without_a_second_history_entry(filed):
    await push(filed, status(filed, "accepted"))
    again = await push(filed, status(filed, "accepted"))
    assert again.status_code == 200 and again.json()["changed"] is False
    assert await history(filed) == ["queued", "accepted"]


async def test_a_late_callback_never_moves_the_status_back(filed):
    await push(filed, status(filed, "completed"))
    late = await push(filed, status(filed, "accepted"))
    assert late.status_code == 200 and late.json()["changed"] is False
    assert await history(filed) == ["queued", "completed"]
    rejected = await push(filed, status(filed, "rejected"))
    assert rejected.json()["changed"] is False


async def test_an_unsigned_or_wrongly_signed_callback_is_refused_and_changes_nothing(filed):
    unsigned = await push(filed, status(filed, "completed"), signed=False)
    forged = await push(filed, status(filed, "completed"), secret="not-the-shared-secret-000")
    stranger = await push(filed, status(filed, "completed"), app_key="someone-else")
    for answer in (unsigned, forged, stranger):
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "invalid_signature"
        assert "www-authenticate" not in answer.headers
    assert await history(filed) == ["queued"]


async def test_a_stale_callback_is_refused(filed):
    stale = await push(filed, status(filed, "accepted"), at=time.time() - 3600)
    assert stale.status_code == 401
    assert await history(filed) == ["queued"]


async def test_a_replayed_callback_is_refused_even_inside_the_window(filed):
    nonce = uuid.uuid4().hex
    first = await push(filed, status(filed, "accepted"), nonce=nonce)
    replay = await push(filed, status(filed, "completed"), nonce=nonce)
    assert first.status_code == 200
    assert replay.status_code == 401
    assert await history(filed) == ["queued", "accepted"]


async def test_a_callback_for_an_unknown_application_is_not_found(filed):
    answer = await push(filed, {**status(filed, "accepted"), "idempotency_key": "nope"})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "application_not_found"


async def test_a_callback_with_an_unknown_status_is_a_bad_request(filed):
    answer = await push(filed, status(filed, "teleported"))
    assert answer.status_code == 400


@pytest.mark.parametrize("value", [["accepted"], {"s": 1}, 3, None])
async def test_a_callback_whose_status_is_not_a_string_is_a_bad_request(filed, value):
    answer = await push(filed, {**status(filed, "accepted"), "status": value})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_request"
    assert await history(filed) == ["queued"]


async def test_a_signed_callback_with_a_bad_body_is_refused_as_a_replay_when_sent_again(filed):
    nonce = uuid.uuid4().hex
    first = await push(filed, status(filed, "teleported"), nonce=nonce)
    again = await push(filed, status(filed, "teleported"), nonce=nonce)
    assert first.status_code == 400
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_signature"
    assert await history(filed) == ["queued"]


async def test_a_replayed_callback_for_an_unknown_application_is_refused_as_a_replay(filed):
    nonce, unknown = uuid.uuid4().hex, str(uuid.uuid4())
    body = {**status(filed, "accepted"), "idempotency_key": unknown}
    first = await push(filed, body, nonce=nonce)
    again = await push(filed, body, nonce=nonce)
    assert (first.status_code, again.status_code) == (404, 401)


async def test_ops_see_a_dead_delivery_and_requeue_it_and_it_is_delivered(stack):
    await catalog_ready(stack)
    tokens = await login(stack)
    ops = await ops_login(stack)
    container = stack.app.ctx.container
    container.outbox.max_attempts = 1
    container.gateway.breaker.threshold = 1000  # this test is about the outbox's own limit
    body = {"item_code": "HJ005", "materials": await materials_for(stack, tokens, "HJ005")}
    await stack.gateway.put("/_admin/faults", json={"down": True})
    application = (await file(stack, tokens, body)).json()
    for _ in range(200):  # the server's own loop may hold the row while it tries
        if await OutboxRow.filter(state="dead").exists():
            break
        await container.outbox.drain_once()
        await asyncio.sleep(0.05)
    dead = (
        await stack.client.get("/api/v1/ops/outbox", params={"state": "dead"}, headers=bearer(ops))
    ).json()["items"]
    assert [(d["application_id"], d["attempts"]) for d in dead] == [(application["id"], 1)]
    assert dead[0]["last_error"] == "省级平台暂不可用 gateway unavailable"
    await stack.gateway.put("/_admin/faults", json={"down": False})
    container.gateway.breaker.record_success()
    requeued = await stack.client.post(
        f"/api/v1/ops/outbox/{dead[0]['id']}/requeue", headers=bearer(ops)
    )
    assert requeued.status_code == 200
    assert (requeued.json()["state"], requeued.json()["attempts"]) == ("pending", 0)
    await until_status(stack, tokens, application["id"], "completed")
    audit = (
        await stack.client.get(
            "/api/v1/ops/audit", params={"action": "outbox.requeue"}, headers=bearer(ops)
        )
    ).json()["items"]
    assert audit[0]["target"] == f"outbox:{dead[0]['id']}"
    again = await stack.client.post(
        f"/api/v1/ops/outbox/{dead[0]['id']}/requeue", headers=bearer(ops)
    )
    assert again.status_code == 409


async def test_the_outbox_is_for_ops_only_and_checks_its_filter(stack):
    citizen = await login(stack)
    assert (
        await stack.client.get("/api/v1/ops/outbox", headers=bearer(citizen))
    ).status_code == 403
    ops = await ops_login(stack)
    bad = await stack.client.get(
        "/api/v1/ops/outbox", params={"state": "lost"}, headers=bearer(ops)
    )
    assert bad.status_code == 400
    unknown = await stack.client.post("/api/v1/ops/outbox/999/requeue", headers=bearer(ops))
    assert unknown.status_code == 404


async def test_metrics_show_the_outbox_depth_and_delivery_outcomes(stack):
    await catalog_ready(stack)
    tokens = await login(stack)
    body = {"item_code": "HJ005", "materials": await materials_for(stack, tokens, "HJ005")}
    application = (await file(stack, tokens, body)).json()
    await until_status(stack, tokens, application["id"], "completed")
    text = (await stack.client.get("/metrics")).text
    assert 'lingpao_outbox_deliveries_total{outcome="delivered"} 1.0' in text
    assert "lingpao_outbox_depth 0.0" in text
    assert "lingpao_outbox_oldest_pending_age_seconds 0.0" in text
    assert await Application.filter(status="completed").count() == 1
