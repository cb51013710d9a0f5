"""Rate limits on a redis-server of the test's own: hits sent together in one pipeline are
each counted, none lost and none let past the limit, and a Redis that restarted empty (its
scripts gone) keeps limiting without a 503."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import RateLimited, Unavailable
from server.ratelimit import RateLimiter
from store.kv import close_redis, open_redis

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def limiter(own_redis):
    client = open_redis(own_redis.url)
    try:
        yield RateLimiter(client)
    finally:
        await close_redis(client)


async def outcomes(limiter: RateLimiter, rate: str, who: str, times: int) -> list[str]:
    async def one() -> str:
        try:
            await limiter.hit(rate, "login-ip", who)
        except RateLimited:
            return "refused"
        return "let in"

    return list(await asyncio.gather(*(one() for _ in range(times))))


async def test_hits_arriving_together_are_each_counted_and_none_gets_past_the_limit(
    limiter, own_redis
):
    results = await outcomes(limiter, "5/minute", "198.51.100.7", 40)
    assert results.count("let in") == 5
    assert results[:5] == ["let in"] * 5  # in the order they came
    # Another caller's limit is its own, though its hits share the pipelines.
    mixed = await asyncio.gather(
        outcomes(limiter, "5/minute", "198.51.100.7", 3),
        outcomes(limiter, "5/minute", "203.0.113.9", 3),
    )
    assert list(mixed) == [["refused"] * 3, ["let in"] * 3]
    # 46 hits and 38 window reads went together, in a handful of pipelines. This Redis had
    # not seen limits' two scripts: the first pipeline of each found it missing, and every
    # hit in it waited for one load of it.
    assert 1 <= limiter.storage._hits.round_trips <= 6
    calls = await command_calls(own_redis)
    assert calls["script|load"] == 2
    assert calls["evalsha"] == 46 + 38 + 40 + 35  # each sent once, and once more if missing


async def command_calls(server) -> dict[str, int]:
    client = open_redis(server.url)
    try:
        stats = await client.info("commandstats")
    finally:
        await close_redis(client)
    return {name.removeprefix("cmdstat_"): fields["calls"] for name, fields in stats.items()}


async def test_a_refused_hit_is_told_to_come_back_when_its_oldest_hit_leaves_the_window(limiter):
    await limiter.hit("2/minute", "login-ip", "198.51.100.8")
    await asyncio.sleep(1.2)
    await limiter.hit("2/minute", "login-ip", "198.51.100.8")
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("2/minute", "login-ip", "198.51.100.8")
    # The first hit leaves the window ~58.8 s from now: come back in 59, not a full minute.
    assert refused.value.retry_after in (58, 59)


async def test_after_redis_restarts_empty_the_limit_counts_again_from_nothing(limiter, own_redis):
    assert (await outcomes(limiter, "3/minute", "198.51.100.9", 4)).count("let in") == 3
    own_redis.restart()  # its scripts and counts are gone
    # The first hits after find the script missing: it is loaded again and they go through.
    results = await outcomes(limiter, "3/minute", "198.51.100.9", 5)
    assert results.count("let in") == 3 and results.count("refused") == 2


async def test_while_redis_is_down_a_hit_is_unavailable_not_let_in(limiter, own_redis):
    own_redis.stop()
    with pytest.raises(Unavailable):
        await limiter.hit("3/minute", "login-ip", "198.51.100.10")
