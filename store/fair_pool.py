"""tortoise's asyncpg backend, with the pool's waits served in the order they came.

asyncpg keeps free connections in an `asyncio.LifoQueue`. A task that asks the moment a
connection comes back takes it ahead of the tasks already waiting, and each of those goes
to the back of the line again. Under a burst (64 logins at once on a worker's 5
connections) most requests took 15 ms while some waited 1–5 s for a connection.
`asyncio.Semaphore` (Python ≥ 3.11.1) lets nobody past a task already waiting: with as
many turns as the pool has connections, a task holding a turn always finds one free, and
the turns go first come, first served. A wait for a turn is bounded by the statement
timeout: past it, TimeoutError, which the API answers with a 503 and Retry-After.

`store.db` names this module as the engine for PostgreSQL URLs; the client is
tortoise's own in every other respect.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionContext, TransactionContextPooled
from tortoise.connection import get_connections


class FairPool:
    """An asyncpg pool whose `acquire` waits in line for one of `size` turns."""

    def __init__(self, pool: asyncpg.Pool, size: int, wait_seconds: float | None) -> None:
        self._pool = pool
        self._turns = asyncio.Semaphore(size)
        self._wait = wait_seconds
        self._lent: set[int] = set()  # ids of the connections out, each holding a turn

    async def acquire(self, *, timeout: float | None = None) -> Any:
        if self._turns.locked():
            async with asyncio.timeout(self._wait):
                await self._turns.acquire()
        else:
            await self._turns.acquire()  # a turn is free and nobody waits: no timer to set
        try:
            connection = await self._pool.acquire(timeout=timeout)
        except BaseException:
            self._turns.release()
            raise
        self._lent.add(id(connection))
        return connection

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        lent = id(connection) in self._lent
        self._lent.discard(id(connection))
        try:
            await self._pool.release(connection, timeout=timeout)
        finally:
            if lent:  # a second release of one connection gives back no second turn
                self._turns.release()

    def __getattr__(self, name: str) -> Any:
        # close, terminate, expire_connections, get_size...: the pool's own.
        return getattr(self._pool, name)


class _BeginOrGiveBack(TransactionContextPooled):
    """tortoise's transaction context, giving its connection back when BEGIN fails or is
    cancelled (a database going away, a client hanging up): tortoise's own keeps it, and
    with it a turn of the pool, for good, and leaves the task's connection set."""

    async def __aenter__(self) -> Any:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            get_connections().reset(self.token)
            await pool.release(self.client._connection)
            raise
        return self.client


class FairAsyncpgDBClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> Any:
        pool = await super().create_pool(**kwargs)
        return FairPool(pool, int(kwargs["max_size"]), kwargs.get("command_timeout"))

    def _in_transaction(self) -> TransactionContext:
        return _BeginOrGiveBack(TransactionWrapper(self), self._pool_init_lock)


client_class = FairAsyncpgDBClient  # what tortoise looks up in an engine module
