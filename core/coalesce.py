"""Concurrent reads of Redis keys share one round trip.

Every authenticated request asks Redis whether its token was refused (auth.store), so a
refusal holds at once on every instance. Asked one by one, that MGET cost a fifth of a
`/me` request in redis-py's own bookkeeping (issue 13's profile). Here the reads that
arrive within one turn of the event loop are sent as a single MGET; each request still
reads Redis after it started, so nothing is served from a copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

Mget = Callable[..., Awaitable[list]]


class CoalescedMget:
    def __init__(self, mget: Mget) -> None:
        self._mget = mget
        self._pending: list[tuple[Sequence[str], asyncio.Future[list]]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.round_trips = 0  # for tests and curiosity: how many MGETs were sent

    async def __call__(self, keys: Sequence[str]) -> list:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list] = loop.create_future()
        if self._pending is None:
            self._pending = []
            loop.call_soon(self._send)
        self._pending.append((keys, future))
        return await future

    def _send(self) -> None:
        batch, self._pending = self._pending or [], None
        task = asyncio.get_running_loop().create_task(self._round_trip(batch))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    async def _round_trip(self, batch: list[tuple[Sequence[str], asyncio.Future[list]]]) -> None:
        self.round_trips += 1
        try:
            values = await self._mget(*[key for keys, _ in batch for key in keys])
        except BaseException as exc:  # every waiter gets the failure as its own
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        start = 0
        for keys, future in batch:
            if not future.done():  # a waiter that gave up (cancelled) is skipped
                future.set_result(values[start : start + len(keys)])
            start += len(keys)
