"""Intake: idempotent on the caller's key, status moves on and is pushed, signed, until acked."""

from __future__ import annotations

import asyncio

import httpx
import orjson

from mock_gateway.callbacks import CALLBACK_SENDERS
from mock_gateway.signing import Verifier
from tests.mock_gateway.conftest import APP_KEY, SECRET, mock_config, start_gateway

ZHANG = {"id_number": "330402199001011230", "name": "张三"}


class CallbackReceiver:
    """Stands in for the backend's callback endpoint; refuses the first `refuse` pushes."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.calls: list[dict] = []
        self.verifier = Verifier({APP_KEY: SECRET})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path_qs = request.url.raw_path.decode()
        problem = self.verifier.check("POST", path_qs, request.headers, request.content)
        self.calls.append({"body": orjson.loads(request.content), "problem": problem})
        if problem or len(self.calls) <= self.refuse:
            return httpx.Response(503)
        return httpx.Response(204)


async def zhang_certificate(gw, type_code: str) -> str:
    documents = (
        await gw.signed(
            "POST", "/certs/list", {"holder_id_number": ZHANG["id_number"], "purpose": "办件"}
        )
    ).json()["certificates"]
    return next(
        d["id"] for d in documents if d["type_code"] == type_code and d["status"] == "valid"
    )


async def yb001(gw, **extra) -> dict:
    """Zhang's application for YB001, with his ID card from the library."""
    return {
        "item_code": "YB001",
        "applicant": ZHANG,
        "form": {},
        "materials": {"id_card": {"certificate_id": await zhang_certificate(gw, "111")}},
        **extra,
    }


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def with_gateway(receiver, body_for, check):
    gw, manager = await start_gateway(
        mock_config(), callback_transport=httpx.MockTransport(receiver)
    )
    try:
        await check(gw, await body_for(gw))
    finally:
        await gw.http.aclose()
        await manager.__aexit__(None, None, None)


def submit(gw, key: str, body: dict):
    return gw.signed("POST", "/intake/applications", body, extra_headers={"Idempotency-Key": key})


async def test_the_same_key_twice_creates_one_application():
    body_for = yb001

    async def check(gw, body):
        first = await submit(gw, "key-1", body)
        second = await submit(gw, "key-1", body)
        assert first.status_code == 201 and second.status_code == 200
        assert first.json()["application_id"] == second.json()["application_id"]
        assert len(gw.app.ctx.intake.by_id) == 1
        other = await submit(gw, "key-1", {**body, "form": {"changed": True}})
        assert other.status_code == 409

    await with_gateway(CallbackReceiver(), body_for, check)


async def test_status_moves_to_completed_and_each_change_is_pushed_signed():
    receiver = CallbackReceiver()

    async def body_for(gw):
        return {
            "item_code": "YB001",
            "applicant": ZHANG,
            "callback_url": "http://backend.test/cb",
            "materials": {"id_card": {"certificate_id": await zhang_certificate(gw, "111")}},
        }

    async def check(gw, body):
        application_id = (await submit(gw, "key-2", body)).json()["application_id"]
        await wait_for(lambda: len(receiver.calls) >= 2)
        assert [c["body"]["status"] for c in receiver.calls] == ["accepted", "completed"]
        assert all(c["problem"] is None for c in receiver.calls)
        state = (await gw.signed("GET", f"/intake/applications/{application_id}")).json()
        assert [h["status"] for h in state["history"]] == ["submitted", "accepted", "completed"]

    await with_gateway(receiver, body_for, check)


async def test_a_certificate_that_does_not_check_out_gets_the_application_rejected():
    receiver = CallbackReceiver()

    async def body_for(gw):
        return {
            "item_code": "YB001",
            "applicant": ZHANG,
            "callback_url": "http://backend.test/cb",
            "materials": {"id_card": {"certificate_id": "1.2.156.3005.2.111.X.0000999.001.0"}},
        }

    async def check(gw, body):
        await submit(gw, "key-3", body)
        await wait_for(lambda: len(receiver.calls) >= 2)
        assert receiver.calls[-1]["body"]["status"] == "rejected"

    await with_gateway(receiver, body_for, check)


async def test_a_refused_callback_is_retried_until_acknowledged():
    receiver = CallbackReceiver(refuse=2)

    async def body_for(gw):
        return {
            "item_code": "YB001",
            "applicant": ZHANG,
            "callback_url": "http://backend.test/cb",
            "materials": {"id_card": {"certificate_id": await zhang_certificate(gw, "111")}},
        }

    async def check(gw, body):
        await submit(gw, "key-4", body)
        await wait_for(lambda: len(receiver.calls) >= 4)
        statuses = [c["body"]["status"] for c in receiver.calls]
        assert statuses[:3] == ["accepted", "accepted", "accepted"]
        assert statuses[3] == "completed"

    await with_gateway(receiver, body_for, check)


async def test_an_item_the_gateway_cannot_take_online_is_refused():
    async def body_for(gw):
        return {"item_code": "HY002", "applicant": ZHANG, "materials": {}}

    async def check(gw, body):
        assert (await submit(gw, "key-5", body)).status_code == 422

    await with_gateway(CallbackReceiver(), body_for, check)


async def test_a_burst_of_applications_pushes_its_callbacks_through_a_fixed_set_of_senders():
    in_flight, most = 0, 0

    async def slow_backend(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(204)

    async def body_for(gw):
        return await yb001(gw, callback_url="http://backend.test/api/v1/gateway/callbacks")

    async def check(gw, body):
        answers = await asyncio.gather(*(submit(gw, f"burst-{n}", body) for n in range(200)))
        assert {a.status_code for a in answers} == {201}
        intake = gw.app.ctx.intake
        await wait_for(lambda: len(intake.callbacks) >= 400, timeout=30)
        # Every push went through at its first attempt, never more at once than the senders.
        assert all(c["acknowledged"] and c["attempt"] == 1 for c in intake.callbacks)
        assert 1 < most <= CALLBACK_SENDERS

    await with_gateway(slow_backend, body_for, check)
