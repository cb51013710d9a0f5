"""Concurrent revocation checks share one Redis round trip, and none is answered from a
copy: a refusal written before a check started is always seen."""

from __future__ import annotations

import asyncio

import pytest

from core.coalesce import CoalescedMget


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
