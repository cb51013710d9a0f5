"""Concurrent revocation checks share one Redis round trip, and none is answered from a
copy: a refusal written before a check started is always seen."""

from __future__ import annotations

import asyncio

import pytest

from core.coalesce import CoalescedMget, SingleFlight


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.calls: list[tuple[str, ...]] = []
        self.fail: Exception | None = None

    async def mget(self, *keys: str) -> list:
        self.calls.append(keys)
        await asyncio.sleep(0)  # a round trip: others may queue meanwhile
        if self.fail is not None:
            raise self.fail
        return [self.data.get(k) for k in keys]


async def test_checks_arriving_together_share_one_round_trip_and_get_their_own_answers():
    redis = FakeRedis()
    redis.data = {"rev:3": b"1", "rev:7": b"1"}
    mget = CoalescedMget(redis.mget)
    answers = await asyncio.gather(*(mget([f"rev:{n}", "epoch"]) for n in range(10)))
    assert len(redis.calls) == 1
    assert [a[0] is not None for a in answers] == [n in (3, 7) for n in range(10)]


async def test_a_refusal_written_before_a_check_is_seen_by_it():
    redis = FakeRedis()
    mget = CoalescedMget(redis.mget)
    assert await mget(["rev:1"]) == [None]
    redis.data["rev:1"] = b"1"
    assert await mget(["rev:1"]) == [b"1"]
    assert len(redis.calls) == 2


async def test_a_failed_round_trip_fails_every_check_in_it():
    redis = FakeRedis()
    redis.fail = ConnectionError("redis went away")
    mget = CoalescedMget(redis.mget)
    results = await asyncio.gather(*(mget(["k"]) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


class GatedRedis(FakeRedis):
    """A round trip that lands only when the test opens its gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: list[asyncio.Event] = []

    async def mget(self, *keys: str) -> list:
        self.calls.append(keys)
        answer = [self.data.get(k) for k in keys]  # what Redis holds when the MGET arrives
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        if self.fail is not None:
            raise self.fail
        return answer


async def test_checks_arriving_while_one_is_in_flight_go_together_when_it_lands():
    redis = GatedRedis()
    mget = CoalescedMget(redis.mget)
    first = asyncio.ensure_future(mget(["rev:0"]))
    await asyncio.sleep(0.01)
    # Refused after the first MGET left, before these checks began: they must see it, so
    # none may share the MGET in flight, not even one asking for the same key.
    redis.data["rev:0"] = redis.data["rev:2"] = b"1"
    later = [asyncio.ensure_future(mget([f"rev:{n}"])) for n in (1, 2, 0)]
    await asyncio.sleep(0.01)
    assert redis.calls == [("rev:0",)]  # one in flight; the others wait for it to land
    redis.gates[0].set()
    assert await first == [None]
    await asyncio.sleep(0.01)
    assert redis.calls[1] == ("rev:1", "rev:2", "rev:0")
    redis.gates[1].set()
    assert [await c for c in later] == [[None], [b"1"], [b"1"]]


async def test_checks_waiting_behind_a_failed_round_trip_are_still_sent():
    redis = GatedRedis()
    mget = CoalescedMget(redis.mget)
    first = asyncio.ensure_future(mget(["a"]))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(mget(["b"]))
    redis.fail = ConnectionError("redis went away")
    redis.gates[0].set()
    with pytest.raises(ConnectionError):
        await first
    redis.fail = None
    redis.data["b"] = b"1"
    await asyncio.sleep(0.01)
    redis.gates[1].set()
    assert await second == [b"1"]


async def test_a_check_that_gives_up_does_not_disturb_the_others():
    redis = FakeRedis()
    redis.data = {"a": b"1"}
    mget = CoalescedMget(redis.mget)
    impatient = asyncio.ensure_future(mget(["a"]))
    patient = asyncio.ensure_future(mget(["a"]))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient == [b"1"]
    with pytest.raises(asyncio.CancelledError):
        await impatient


class Loader:
    def __init__(self) -> None:
        self.calls = 0
        self.fail: Exception | None = None
        self.gate = asyncio.Event()

    async def load(self) -> list[str]:
        self.calls += 1
        await self.gate.wait()  # still loading while the others arrive
        if self.fail is not None:
            raise self.fail
        return [f"answer {self.calls}"]


async def test_loads_asked_together_share_one_call_and_its_answer():
    flights, loader = SingleFlight[list[str]](), Loader()
    waiting = [asyncio.create_task(flights("v7", loader.load)) for _ in range(10)]
    await asyncio.sleep(0)
    loader.gate.set()
    assert await asyncio.gather(*waiting) == [["answer 1"]] * 10
    assert loader.calls == 1
    # Once it has landed, the next load is a new one.
    assert await flights("v7", loader.load) == ["answer 2"]


async def test_who_arrives_during_a_load_gets_the_next_one_never_an_older_read():
    flights, loader = SingleFlight[list[str]](), Loader()
    first = asyncio.create_task(flights("v7", loader.load))
    await asyncio.sleep(0.01)  # the first load is under way (it may have read already)
    later = [asyncio.create_task(flights("v7", loader.load)) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert loader.calls == 1  # the late ones wait; they do not start loads of their own
    loader.gate.set()
    assert await first == ["answer 1"]
    assert await asyncio.gather(*later) == [["answer 2"]] * 5
    assert loader.calls == 2


async def test_a_failed_load_fails_its_waiters_and_the_next_one_tries_again():
    flights, loader = SingleFlight[list[str]](), Loader()
    loader.fail = ConnectionError("database down")
    waiting = [asyncio.create_task(flights("v7", loader.load)) for _ in range(3)]
    await asyncio.sleep(0)
    loader.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results) and loader.calls == 1
    loader.fail = None
    assert await flights("v7", loader.load) == ["answer 2"]


async def test_a_waiter_that_gives_up_does_not_cancel_the_load_the_others_wait_for():
    flights, loader = SingleFlight[list[str]](), Loader()
    impatient = asyncio.create_task(flights("v7", loader.load))
    patient = asyncio.create_task(flights("v7", loader.load))
    await asyncio.sleep(0.01)
    impatient.cancel()
    await asyncio.sleep(0)
    loader.gate.set()
    assert await patient == ["answer 1"] and impatient.cancelled()


async def test_loads_of_different_keys_do_not_wait_for_each_other():
    flights, loader = SingleFlight[list[str]](), Loader()
    loader.gate.set()
    both = await asyncio.gather(flights("v7", loader.load), flights("v8", loader.load))
    assert sorted(both) == [["answer 1"], ["answer 2"]]
