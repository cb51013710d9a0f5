"""The server's PostgreSQL pool keeps every connection it lends, whatever happens to BEGIN."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections
from tortoise.backends.asyncpg.client import TransactionWrapper

from store import db
from store.fair_pool import FairPool


@pytest.fixture
async def database(pg_url):
    await db.apply_migrations(pg_url)
    await db.open_database(pg_url, 2)  # as the server opens it: a timeout, a pool of 5
    try:
        yield connections.get("default")
    finally:
        await db.close_database()


async def test_transactions_whose_begin_fails_give_their_connections_back(database, monkeypatch):
    await database.execute_query("SELECT 1")
    pool = database._pool
    assert isinstance(pool, FairPool)

    async def refused(self) -> None:
        raise ConnectionResetError("the database went away during BEGIN")

    monkeypatch.setattr(TransactionWrapper, "begin", refused)
    for _ in range(8):  # more than the pool holds
        with pytest.raises(ConnectionResetError):
            async with db.transaction():
                pass
    monkeypatch.undo()
    assert connections.get("default") is database  # the task's connection was reset too
    # Every connection is back: five statements at once, none waits out the 2 s bound.
    results = await asyncio.wait_for(
        asyncio.gather(*(database.execute_query_dict("SELECT 1 AS one") for _ in range(5))), 1.5
    )
    assert [rows[0]["one"] for rows in results] == [1] * 5


async def test_a_transaction_cancelled_during_begin_gives_its_connection_back(
    database, monkeypatch
):
    await database.execute_query("SELECT 1")
    started = asyncio.Event()

    async def slow(self) -> None:
        started.set()
        await asyncio.sleep(10)

    monkeypatch.setattr(TransactionWrapper, "begin", slow)

    async def open_one() -> None:
        async with db.transaction():
            pass

    for _ in range(6):
        started.clear()
        task = asyncio.create_task(open_one())
        await started.wait()
        task.cancel()  # the client hung up
        with pytest.raises(asyncio.CancelledError):
            await task
    monkeypatch.undo()
    rows = await asyncio.wait_for(database.execute_query_dict("SELECT 1 AS one"), 1.5)
    assert rows[0]["one"] == 1
