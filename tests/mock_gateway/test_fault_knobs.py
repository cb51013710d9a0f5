"""The knobs that make the mock fail the ways the real gateway and the network in front of it
do: hanging, slow with jitter, 5xx bursts, connections cut after the work was done, garbage,
oversized answers and redirects."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from mock_gateway.middleware import OVERSIZED_BYTES, REDIRECT_TO
from tests.mock_gateway.test_intake import ZHANG, submit, zhang_certificate


async def faults(gateway, **knobs) -> dict:
    answer = await gateway.http.put("/_admin/faults", json=knobs)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_hanging_gateway_answers_only_once_the_hang_is_lifted(gateway):
    await faults(gateway, hang=True)
    pending = asyncio.ensure_future(gateway.signed("GET", "/ping"))
    await asyncio.sleep(0.3)
    assert not pending.done()
    await faults(gateway, hang=False)
    assert (await asyncio.wait_for(pending, 5)).status_code == 200


async def test_jitter_spreads_the_latency_both_ways_and_never_below_zero(gateway):
    await faults(gateway, latency_ms=100, jitter_ms=100)
    took = []
    for _ in range(8):
        started = time.perf_counter()
        await gateway.signed("GET", "/ping")
        took.append(time.perf_counter() - started)
    assert max(took) < 1.0
    assert max(took) - min(took) > 0.02  # not one fixed delay


async def test_a_burst_of_5xx_wears_off_after_the_count(gateway):
    await faults(gateway, fail_next=3)
    statuses = [(await gateway.signed("GET", "/ping")).status_code for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]
    assert (await gateway.http.get("/_admin/faults")).json()["fail_next"] == 0


async def test_a_reset_after_accept_does_the_work_but_the_caller_hears_nothing(gateway):
    body = {
        "item_code": "YB001",
        "applicant": ZHANG,
        "form": {},
        "materials": {"id_card": {"certificate_id": await zhang_certificate(gateway, "111")}},
    }
    await faults(gateway, reset_after_accept=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await submit(gateway, "cut-1", body)
    assert len(gateway.app.ctx.intake.by_id) == 1  # it was accepted all the same
    again = await submit(gateway, "cut-1", body)
    assert again.status_code in (200, 201)
    assert len(gateway.app.ctx.intake.by_id) == 1


async def test_garbage_is_a_200_that_is_not_json(gateway):
    await faults(gateway, garbage=True)
    answer = await gateway.signed("GET", "/ping")
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()


async def test_an_oversized_answer_is_a_200_of_several_mebibytes(gateway):
    await faults(gateway, oversized=True)
    answer = await gateway.signed("GET", "/catalog/items")
    assert answer.status_code == 200 and len(answer.content) > OVERSIZED_BYTES


async def test_a_redirect_points_somewhere_else(gateway):
    await faults(gateway, redirect=True)
    answer = await gateway.signed("GET", "/catalog/items")
    assert answer.status_code == 302 and answer.headers["location"] == REDIRECT_TO


async def test_the_admin_routes_keep_working_whatever_the_faults(gateway):
    await faults(gateway, garbage=True, redirect=True, fail_next=5, reset_after_accept=5)
    state = (await gateway.http.get("/_admin/faults")).json()
    assert state["fail_next"] == 5 and state["reset_after_accept"] == 5


@pytest.mark.parametrize(
    "body",
    [
        {"jitter_ms": -1},
        {"fail_next": 1.5},
        {"reset_after_accept": True},
        {"hang": 1},
        {"garbage": "yes"},
        {"fail_next": 10**9},
    ],
)
async def test_bad_values_for_the_new_knobs_are_refused_and_change_nothing(gateway, body):
    answer = await gateway.http.put("/_admin/faults", json={**body, "latency_ms": 7})
    assert answer.status_code == 400
    assert (await gateway.http.get("/_admin/faults")).json()["latency_ms"] == 0
