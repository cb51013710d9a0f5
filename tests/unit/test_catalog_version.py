"""The shared catalog version: every process hears a change and drops what it cached."""

from __future__ import annotations

import asyncio

import fakeredis
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from services.catalog import CatalogVersion
from tests.fakes import FakeClock


def shared() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


async def test_a_bump_in_one_process_drops_the_cached_answers_of_another_at_once():
    server = shared()
    here = CatalogVersion(fakeredis.FakeAsyncRedis(server=server))
    there = CatalogVersion(fakeredis.FakeAsyncRedis(server=server), recheck_seconds=3600)
    await there.prime()
    stopping = asyncio.Event()
    listening = asyncio.create_task(there.listen(stopping, poll_seconds=0.01))
    await asyncio.sleep(0.05)  # subscribed
    there.put("snapshot", ["old"])
    await here.bump()
    for _ in range(50):
        if there.get("snapshot") is None:
            break
        await asyncio.sleep(0.01)
    assert there.get("snapshot") is None and there.value == here.value > 0
    stopping.set()
    await asyncio.wait_for(listening, 1)  # ends by itself once the server stops


async def test_without_the_message_the_version_is_reread_after_the_recheck_interval():
    server, clock = shared(), FakeClock()
    here = CatalogVersion(fakeredis.FakeAsyncRedis(server=server))
    there = CatalogVersion(
        fakeredis.FakeAsyncRedis(server=server), recheck_seconds=1.0, clock=clock
    )
    assert await there.current() == 0
    there.put("k", "v")
    await here.bump()  # nobody listens: the message is lost
    assert await there.current() == 0 and there.get("k") == "v"
    clock.advance(1.0)
    assert await there.current() == here.value > 0 and there.get("k") is None


async def test_requests_that_arrive_during_a_recheck_share_it_rather_than_each_read_redis():
    class SlowRedis:
        def __init__(self) -> None:
            self.calls: list[str] = []

        async def get(self, key: str) -> bytes:
            self.calls.append(key)
            await asyncio.sleep(0.05)
            return str(6 + len(self.calls)).encode()

    slow, clock = SlowRedis(), FakeClock()
    version = CatalogVersion(slow, recheck_seconds=1.0, clock=clock)  # type: ignore[arg-type]
    await version.current()
    clock.advance(1.0)
    seen = await asyncio.gather(*(version.current() for _ in range(64)))
    assert len(slow.calls) == 2  # the first read, and one recheck for all 64
    # The one that rechecked sees the new version; the others serve the one they had.
    assert seen[0] == 8 and set(seen[1:]) == {7}


async def test_with_redis_down_at_start_the_catalog_is_served_from_version_zero():
    down = redis.Redis(
        host="127.0.0.1",
        port=1,
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
    )
    version = CatalogVersion(down, clock=FakeClock())
    await version.prime()
    assert await version.current() == 0
    version.put("snapshot", ["items"])
    assert version.get("snapshot") == ["items"]
    await down.aclose()


async def test_the_cache_is_bounded_whatever_query_strings_clients_send():
    version = CatalogVersion(fakeredis.FakeAsyncRedis(server=shared()))
    for n in range(6000):
        version.put(("list", str(n)), n)
    assert len(version._entries) <= 5001


async def test_a_redis_that_lost_its_data_never_hands_out_a_version_seen_before():
    server = shared()
    clock = FakeClock(1_800_000_000.0)
    here = CatalogVersion(fakeredis.FakeAsyncRedis(server=server), wall_clock=clock)
    there = CatalogVersion(fakeredis.FakeAsyncRedis(server=server), recheck_seconds=0)
    seen = [await here.bump() for _ in range(3)]
    await there.current()
    there.put("snapshot", ["old modes"])
    await fakeredis.FakeAsyncRedis(server=server).flushall()  # restarted, keeping nothing
    clock.advance(1)
    after = await here.bump()
    assert after not in seen and after > max(seen)
    assert await there.current() == after and there.get("snapshot") is None


async def test_a_change_made_just_before_redis_failed_is_announced_once_it_is_back():
    server = shared()
    version = CatalogVersion(fakeredis.FakeAsyncRedis(server=server))
    before = await version.bump()
    version.put("snapshot", ["old modes"])
    server.connected = False
    await version.bump_until_told()  # the change is made: no error for its author
    assert version.get("snapshot") is None  # this process serves it at once
    server.connected = True
    for _ in range(40):
        if (
            await fakeredis.FakeAsyncRedis(server=server).get("lp:catalog:version")
            != str(before).encode()
        ):
            break
        await asyncio.sleep(0.05)
    assert version.value > before
