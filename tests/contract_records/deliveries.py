"""The contract of the delivery loop's claims and marks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from tests.contract_records.backends import Backend
from tests.contract_records.filings import filed, stored

# --- deliveries -----------------------------------------------------------------------


async def test_a_delivery_is_claimed_by_one_worker_with_its_application(backend):
    await backend.inspect.clear_outbox()
    outbox = backend.records.deliveries
    news = [await filed(backend) for _ in range(3)]
    at = datetime.now(UTC)
    until = at + timedelta(minutes=2)
    claims = await asyncio.gather(*(outbox.claim(f"w{n}", at, until, 2) for n in range(4)))
    # Never one row to two workers; what the racers left, the next claim takes.
    taken = [d for claim in claims for d in claim]
    taken += await outbox.claim("late", at, until, 10)
    assert sorted(d.application.id for d in taken) == sorted(n.id for n in news)
    first = next(d for d in taken if d.application.id == news[0].id)
    assert first.attempts == 0 and first.application == await stored(backend, news[0].id)
    assert await outbox.claim("later", at, until, 10) == []
    # A lease that ran out lets another worker take the row.
    later = until + timedelta(seconds=1)
    again = await outbox.claim("next", later, later + timedelta(minutes=2), 10)
    assert sorted(d.application.id for d in again) == sorted(n.id for n in news)


async def claimed_by_w1(backend: Backend):
    """A filing of its own, its delivery claimed by worker "w1"."""
    await backend.inspect.clear_outbox()
    new = await filed(backend)
    at = datetime.now(UTC)
    (delivery,) = await backend.records.deliveries.claim("w1", at, at + timedelta(minutes=2), 10)
    return new, delivery


async def test_a_delivery_is_marked_once_and_only_by_its_worker(backend):
    outbox = backend.records.deliveries
    new, delivery = await claimed_by_w1(backend)
    at = datetime.now(UTC)
    assert await outbox.delivered(delivery.id, "w2", "GA-1", at, 7) is False
    assert (await stored(backend, new.id)).status == "queued"
    assert await outbox.delivered(delivery.id, "w1", "GA-1", at, 7) is True
    assert await outbox.delivered(delivery.id, "w1", "GA-1", at, 9) is False
    submitted = await stored(backend, new.id)
    assert submitted.gateway_application_id == "GA-1"
    assert [s for s, _ in submitted.history] == ["queued", "submitted"]
    (row,) = await backend.inspect.outbox_of(new.id)
    assert row.state == "delivered"
    # The attempt is kept with the mark, once: not for the refused or repeated marks.
    assert await backend.inspect.attempts_of(delivery.id) == [("delivered", "")]
    await outbox.record_attempt(delivery.id, "retry", "省级平台响应超时 gateway timed out", 30)
    assert await backend.inspect.attempts_of(delivery.id) == [
        ("delivered", ""),
        ("retry", "省级平台响应超时 gateway timed out"),
    ]


async def test_a_delivery_marked_after_the_callback_keeps_the_status_the_callback_set(backend):
    applications, outbox = backend.records.applications, backend.records.deliveries
    new, delivery = await claimed_by_w1(backend)
    at = datetime.now(UTC)
    # The gateway's "accepted" arrived before the worker marked the row.
    assert await applications.take_callback(uuid.uuid4().hex, at, new.id, "accepted") == "moved"
    assert await outbox.delivered(delivery.id, "w1", "GA-2", at, 3) is True
    found = await stored(backend, new.id)
    assert found.status == "accepted" and found.gateway_application_id == "GA-2"
    assert [s for s, _ in found.history] == ["queued", "accepted"]


async def test_a_delivery_is_retried_released_or_parked_only_by_its_worker(backend):
    outbox = backend.records.deliveries
    new, delivery = await claimed_by_w1(backend)
    at = datetime.now(UTC)
    assert await outbox.retry_later(delivery.id, "w2", at, "timeout", True) is False
    assert await outbox.retry_later(delivery.id, "w1", at + timedelta(minutes=5), "超时", True)
    (row,) = await backend.inspect.outbox_of(new.id)
    assert (row.state, row.attempts, row.claimed_by) == ("pending", 1, None)
    assert await outbox.claim("w1", at, at + timedelta(minutes=2), 10) == []  # not due yet
    later = at + timedelta(minutes=6)
    (again,) = await outbox.claim("w3", later, later + timedelta(minutes=2), 10)
    assert again.attempts == 1
    assert await outbox.release(again.id, "w1") is False
    assert await outbox.release(again.id, "w3") is True
    (again,) = await outbox.claim("w4", later, later + timedelta(minutes=2), 10)
    assert await outbox.retry_later(again.id, "w4", later, "shutting down", False) is True
    (again,) = await outbox.claim("w5", later, later + timedelta(minutes=2), 10)
    assert again.attempts == 1  # an attempt not counted
    assert await outbox.dead(again.id, "w4", "422") is False
    assert await outbox.dead(again.id, "w5", "参数错误 (422)") is True
    (row,) = await backend.inspect.outbox_of(new.id)
    assert (row.state, row.attempts, row.claimed_by) == ("dead", 2, None)
    assert await outbox.claim("w6", later, later + timedelta(minutes=2), 10) == []
