"""Concurrent revocation checks share one Redis round trip, and none is answered from a
copy: a refusal written before a check started is always seen. Concurrent rate-limit hits
share one pipeline, each answered with its own command's result."""

from __future__ import annotations

import asyncio

import pytest

from core.coalesce import CoalescedMget, CoalescedPipeline, SingleFlight


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


class FakePipelines:
    """Pipelines over a dict of counters: INCRBY answers the new count, BAD fails alone."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.calls: list[list[tuple]] = []  # the commands of each pipeline sent
        self.gates: list[asyncio.Event] = []
        self.gated = False
        self.fail: Exception | None = None

    def __call__(self) -> FakePipelines.Pipe:
        return FakePipelines.Pipe(self)

    class Pipe:
        def __init__(self, redis: FakePipelines) -> None:
            self.redis = redis
            self.stack: list[tuple] = []

        def execute_command(self, *command):
            self.stack.append(command)
            return self

        async def execute(self, raise_on_error: bool = True) -> list:
            assert raise_on_error is False  # one command's error is its caller's alone
            redis = self.redis
            redis.calls.append(self.stack)
            if redis.gated:
                gate = asyncio.Event()
                redis.gates.append(gate)
                await gate.wait()
            else:
                await asyncio.sleep(0)
            if redis.fail is not None:
                raise redis.fail
            answers: list = []
            for name, *args in self.stack:
                if name == "BAD":
                    answers.append(ValueError("NOSCRIPT no such script"))
                    continue
                key, amount = args
                redis.counts[key] = redis.counts.get(key, 0) + amount
                answers.append(redis.counts[key])
            return answers


async def test_commands_sent_together_share_one_pipeline_in_their_order():
    redis = FakePipelines()
    pipeline = CoalescedPipeline(redis)
    answers = await asyncio.gather(*(pipeline("INCRBY", "hits", 1) for _ in range(10)))
    assert answers == list(range(1, 11))  # Redis ran them one by one, in the order they came
    assert len(redis.calls) == 1 and len(redis.calls[0]) == 10


async def test_a_command_that_fails_fails_only_its_own_caller():
    redis = FakePipelines()
    pipeline = CoalescedPipeline(redis)
    results = await asyncio.gather(
        pipeline("INCRBY", "a", 1),
        pipeline("BAD"),
        pipeline("INCRBY", "a", 2),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], ValueError)


async def test_a_pipeline_that_fails_fails_every_command_in_it_and_the_next_ones_are_sent():
    redis = FakePipelines()
    redis.gated = True
    pipeline = CoalescedPipeline(redis)
    first = [asyncio.ensure_future(pipeline("INCRBY", "a", 1)) for _ in range(2)]
    await asyncio.sleep(0.01)
    later = asyncio.ensure_future(pipeline("INCRBY", "a", 5))
    await asyncio.sleep(0.01)
    assert len(redis.calls) == 1  # one pipeline in flight; the later hit waits for it
    redis.fail = ConnectionError("redis went away")
    redis.gates[0].set()
    results = await asyncio.gather(*first, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    redis.fail = None
    await asyncio.sleep(0.01)
    redis.gates[1].set()
    assert await later == 5  # the failed pipeline counted nothing; this one did
    assert [len(c) for c in redis.calls] == [2, 1]


async def test_a_caller_that_gives_up_leaves_the_other_answers_in_place():
    redis = FakePipelines()
    pipeline = CoalescedPipeline(redis)
    impatient = asyncio.ensure_future(pipeline("INCRBY", "a", 1))
    patient = asyncio.ensure_future(pipeline("INCRBY", "a", 1))
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient == 2  # the command sent for the one who left still ran first
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
