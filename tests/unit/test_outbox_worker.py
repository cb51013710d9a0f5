"""The delivery loop on fakes: once when it can, later when it cannot, dead when it never will."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from core.errors import CircuitOpen, GatewayRejected, GatewayTimeout, GatewayUnavailable
from services.applications.rules import ApplicationView
from services.holders import Holders
from services.outbox import OutboxWorker
from tests.fakes import FakeClock, FakeGateway, FakeIdentities, FakeOutboxRecords

ZHANG_ID = "330402199001011230"


@contextlib.asynccontextmanager
async def delivering(worker: OutboxWorker) -> AsyncIterator[None]:
    """The delivery loop running, told to stop at the end, and stopped within a second."""
    stopping = asyncio.Event()
    loop = asyncio.create_task(worker.run(stopping))
    try:
        yield
    finally:
        stopping.set()
        await asyncio.wait_for(loop, 1)


class World:
    def __init__(self, max_attempts: int = 3) -> None:
        self.clock = FakeClock(1_800_000_000.0)
        self.gateway, self.records = FakeGateway(), FakeOutboxRecords()
        identities = FakeIdentities()
        identities.add("user-zhang", ZHANG_ID)
        self.worker = OutboxWorker(
            self.records,
            self.gateway,
            Holders(identities),
            "https://lingpao.example/api/v1/gateway/callbacks",
            max_attempts=max_attempts,
            backoff_initial=10,
            backoff_max=100,
            clock=self.clock,
            jitter=lambda: 1.0,
        )
        self.row = self.records.add(
            ApplicationView(
                id="app-1",
                user_id="user-zhang",
                item_code="HJ005",
                status="queued",
                history=(),
                created_at=datetime.now(UTC),
                materials={"id_card": {"certificate_id": "c1"}},
            )
        )

    @property
    def state(self) -> tuple[str, int]:
        row = self.records.rows[self.row]
        return row["state"], row["attempts"]


async def test_a_row_is_sent_with_the_application_id_as_key_and_the_applicant_looked_up():
    world = World()
    assert await world.worker.drain_once() == 1
    [(_, key, body)] = world.gateway.calls_to("submit_application")
    assert key == "app-1"
    assert body["applicant"] == {"id_number": ZHANG_ID}
    assert body["callback_url"].endswith("/api/v1/gateway/callbacks")
    assert world.state == ("delivered", 0)
    assert world.records.attempts == [(world.row, "delivered", "")]


async def test_a_failure_waits_longer_each_time_then_parks_the_row_as_dead():
    world = World(max_attempts=3)
    world.gateway.failure = GatewayTimeout()
    await world.worker.drain_once()
    assert world.state == ("pending", 1)
    assert await world.worker.drain_once() == 0  # not due yet
    world.clock.advance(10)
    await world.worker.drain_once()
    assert world.state == ("pending", 2)
    world.clock.advance(19)
    assert await world.worker.drain_once() == 0  # the second wait is twice the first
    world.clock.advance(1)
    await world.worker.drain_once()
    assert world.state == ("dead", 3)
    assert world.records.rows[world.row]["error"] == "省级平台响应超时 gateway timed out"
    assert len(world.gateway.calls_to("submit_application")) == 3


async def test_an_open_breaker_postpones_without_spending_an_attempt_or_recording_one():
    world = World()
    world.gateway.failure = CircuitOpen(retry_after=7)
    await world.worker.drain_once()
    assert world.state == ("pending", 0)
    assert world.records.attempts == []
    world.clock.advance(7)
    world.gateway.failure = None
    await world.worker.drain_once()
    assert world.state == ("delivered", 0)


async def test_a_refusal_by_the_gateway_parks_the_row_at_once_in_our_words():
    world = World()
    refusal = GatewayRejected()
    refusal.upstream_status = 422
    world.gateway.failure = refusal
    await world.worker.drain_once()
    assert world.state == ("dead", 1)
    assert world.records.rows[world.row]["error"].endswith("(422)")


async def test_an_applicant_who_is_gone_parks_the_row_without_calling_the_gateway():
    world = World()
    world.records.rows[world.row]["application"] = ApplicationView(
        id="app-2",
        user_id="nobody",
        item_code="HJ005",
        status="queued",
        history=(),
        created_at=datetime.now(UTC),
    )
    await world.worker.drain_once()
    assert world.state == ("dead", 1)
    assert world.gateway.calls_to("submit_application") == []


async def test_a_delivery_cut_off_by_shutdown_goes_back_unmarked_for_the_next_worker():
    world = World()
    sending = asyncio.Event()

    async def slow(key: str, body: dict) -> dict:
        sending.set()
        await asyncio.sleep(60)
        return {}

    world.gateway.submit_application = slow  # type: ignore[method-assign, assignment]
    draining = asyncio.create_task(world.worker.drain_once())
    await sending.wait()
    draining.cancel()
    with pytest.raises(asyncio.CancelledError):
        await draining
    assert world.state == ("pending", 0)


async def test_a_lease_that_ran_out_lets_another_worker_take_the_row():
    world = World()
    now = datetime.fromtimestamp(world.clock(), UTC)
    [stuck] = await world.records.claim("crashed", now, now, 10)  # a worker that died
    assert world.state == ("in_flight", 0)
    world.clock.advance(1)
    await world.worker.drain_once()
    assert world.state == ("delivered", 0)
    assert stuck.id == world.row


async def test_the_loop_wakes_for_a_new_row_and_stops_when_told():
    world = World()
    world.worker.poll_seconds = 60
    world.gateway.failure = GatewayUnavailable()
    async with delivering(world.worker):
        await asyncio.sleep(0.01)
        assert world.state == ("pending", 1)
        world.gateway.failure = None
        world.clock.advance(10)
        world.worker.wake()
        for _ in range(100):
            if world.state[0] == "delivered":
                break
            await asyncio.sleep(0.01)
        assert world.state == ("delivered", 1)


def more_rows(world: World, count: int) -> None:
    template = world.records.rows[world.row]["application"]
    for n in range(count):
        world.records.add(dataclasses.replace(template, id=f"app-more-{n}"))


async def test_while_requests_wait_the_loop_sends_a_batch_per_pause_and_ignores_wakes():
    world = World()
    more_rows(world, 24)  # 25 rows: three batches of ten at most
    busy = [True]
    world.worker.busy = lambda: busy[0]
    world.worker.yield_seconds = 0.2
    world.worker.poll_seconds = 60
    async with delivering(world.worker):
        await asyncio.sleep(0.05)
        for _ in range(5):
            world.worker.wake()  # new filings: they wait for the pause like the rest
            await asyncio.sleep(0.01)
        assert len(world.gateway.calls_to("submit_application")) == 10
        busy[0] = False  # the burst has passed: the rest goes out at once
        await asyncio.sleep(0.3)
        assert len(world.gateway.calls_to("submit_application")) == 25


async def test_a_busy_loop_with_nothing_due_waits_for_the_poll_not_the_short_pause():
    world = World()
    world.records.rows.clear()
    claims = []
    claim = world.records.claim

    async def counted(*args):
        claims.append(args)
        return await claim(*args)

    world.records.claim = counted  # type: ignore[method-assign]
    world.worker.busy = lambda: True
    world.worker.yield_seconds = 0.01
    world.worker.poll_seconds = 60
    async with delivering(world.worker):
        await asyncio.sleep(0.3)
        world.worker.wake()  # a busy worker does not answer wake-ups either
        await asyncio.sleep(0.05)
        assert len(claims) == 1


async def test_a_row_filed_while_the_loop_drains_is_sent_without_waiting_for_the_poll():
    world = World()
    world.worker.poll_seconds = 60
    submit = world.gateway.submit_application

    async def file_another_meanwhile(key: str, body: dict) -> dict:
        if key == "app-1":
            more_rows(world, 1)
            world.worker.wake()
        return await submit(key, body)

    world.gateway.submit_application = file_another_meanwhile  # type: ignore[method-assign,assignment]
    async with delivering(world.worker):
        for _ in range(50):
            if len(world.gateway.calls_to("submit_application")) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(world.gateway.calls_to("submit_application")) == 2


async def test_a_busy_loop_still_stops_at_once_when_told():
    world = World()
    world.worker.busy = lambda: True
    world.worker.yield_seconds = 60
    async with delivering(world.worker):
        await asyncio.sleep(0.05)
    assert world.state == ("delivered", 0)


async def test_a_delivery_whose_lease_ran_out_meanwhile_still_keeps_its_attempt():
    world = World()
    submit = world.gateway.submit_application

    async def slow_past_the_lease(key: str, body: dict) -> dict:
        world.records.rows[world.row].update(by="another-worker")  # it took the row over
        return await submit(key, body)

    world.gateway.submit_application = slow_past_the_lease  # type: ignore[method-assign, assignment]
    await world.worker.drain_once()
    assert world.records.rows[world.row]["by"] == "another-worker"  # not marked by us
    assert world.records.attempts == [(world.row, "delivered", "")]
