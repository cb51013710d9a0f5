"""The database pool serves its waits in the order they came, and bounds them."""

from __future__ import annotations

import asyncio

import pytest

from store.db import tortoise_config
from store.fair_pool import FairPool


class LifoPool:
    """A pool as asyncpg keeps one: free connections in an asyncio.LifoQueue."""

    def __init__(self, size: int) -> None:
        self.free: asyncio.LifoQueue[str] = asyncio.LifoQueue()
        for n in range(size):
            self.free.put_nowait(f"conn-{n}")
        self.calls: list[str] = []

    async def acquire(self, *, timeout: float | None = None) -> str:
        return await self.free.get()

    async def release(self, connection: str, *, timeout: float | None = None) -> None:
        self.calls.append(f"release {connection}")
        self.free.put_nowait(connection)

    async def close(self) -> None:
        self.calls.append("close")


async def served_order(pool) -> list[str]:
    """One connection, held; three tasks wait for it in turn; its holder gives it back and
    asks again at once (as a request with a second statement does). The order in which
    the four get it."""
    order: list[str] = []
    held = await pool.acquire()

    async def use(name: str) -> None:
        connection = await pool.acquire()
        order.append(name)
        await pool.release(connection)

    waiting = [asyncio.create_task(use(f"waiter-{n}")) for n in range(3)]
    await asyncio.sleep(0.01)  # all three are waiting now
    await pool.release(held)
    await use("holder again")
    await asyncio.gather(*waiting)
    return order


async def test_a_bare_lifo_pool_lets_a_task_asking_again_take_the_connection_ahead_of_the_waiters():
    # What FairPool is for: asyncpg's own queue serves the one who asked last first.
    assert (await served_order(LifoPool(1)))[0] == "holder again"


async def test_the_fair_pool_serves_waiters_first_come_first_served():
    order = await served_order(FairPool(LifoPool(1), size=1, wait_seconds=None))
    assert order == ["waiter-0", "waiter-1", "waiter-2", "holder again"]


async def test_a_wait_for_a_connection_past_its_bound_is_a_timeout_and_gives_the_turn_back():
    pool = FairPool(LifoPool(1), size=1, wait_seconds=0.05)
    held = await pool.acquire()
    with pytest.raises(TimeoutError):
        await pool.acquire()
    await pool.release(held)
    again = await pool.acquire()  # the timed-out wait left no turn taken
    assert again == held


async def test_a_connection_released_twice_gives_back_one_turn():
    pool = FairPool(LifoPool(2), size=2, wait_seconds=0.05)
    first = await pool.acquire()
    await pool.release(first)
    await pool.release(first)  # as a buggy caller might
    await pool.acquire()
    await pool.acquire()
    with pytest.raises(TimeoutError):  # still two turns, not three
        await pool.acquire()


async def test_everything_else_is_the_pools_own():
    inner = LifoPool(1)
    await FairPool(inner, size=1, wait_seconds=None).close()
    assert inner.calls == ["close"]


def test_a_server_on_postgresql_gets_the_fair_pool_and_sqlite_keeps_its_own():
    url = "postgres://lingpao@db.example:5432/lingpao"
    assert tortoise_config(url, 5)["connections"]["default"]["engine"] == "store.fair_pool"
    assert tortoise_config("sqlite://lingpao.sqlite3", 5)["connections"]["default"] == (
        "sqlite://lingpao.sqlite3"
    )
