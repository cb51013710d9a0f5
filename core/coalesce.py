"""Concurrent reads share one round trip: Redis keys in one MGET, a load in one flight.

Every authenticated request asks Redis whether its token was refused (auth.store), so a
refusal holds at once on every instance. Asked one by one, that MGET cost a fifth of a
`/me` request in redis-py's own bookkeeping (issue 13's profile). Here the reads that
arrive within one turn of the event loop are sent as a single MGET, and while one MGET is
in flight the reads that arrive wait and go together in the next, sent as it lands (a
filing's CPU −10%: under load a turn held one or two checks). Each request still reads
Redis after it started, so nothing is served from a copy; a check waits at most for the
MGET in flight and then its own, each bounded by the client's socket timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

Mget = Callable[..., Awaitable[list]]
V = TypeVar("V")


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
            if not self._tasks:
                loop.call_soon(self._send)
            # else: sent when the MGET in flight lands, with whatever arrived meanwhile
        self._pending.append((keys, future))
        return await future

    def _send(self) -> None:
        batch, self._pending = self._pending or [], None
        task = asyncio.get_running_loop().create_task(self._round_trip(batch))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._pending is not None:
            self._send()

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


class SingleFlight(Generic[V]):
    """Loads of the same key share calls, and never answer with a read older than the caller.

    A catalog change drops every cached answer at once; without this, each request in
    flight then read the whole catalog from the database itself (64 reads at once under
    `wrk -c64`, a p99 of half a second while ops switched modes). A caller joins the load
    that has not started yet (it starts at the next turn of the event loop); while one is
    under way, the callers that arrive wait for the next, which starts when it lands. A
    load that began before a caller arrived may have read the database before a change
    that caller must see (an ops switch that returned), so it is never that caller's
    answer; a burst costs at most two loads. A waiter that gives up (cancelled) does not
    cancel the load the others wait for; a failure reaches every waiter of that load.
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[V]] = {}
        self._next: dict[Hashable, tuple[asyncio.Future[V], Callable[[], Awaitable[V]]]] = {}

    async def __call__(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        waiting = self._next.get(key)
        if waiting is None:
            waiting = (asyncio.get_running_loop().create_future(), load)
            self._next[key] = waiting
            if key not in self._running:
                # Next turn of the loop: the callers that arrive in this one come along.
                asyncio.get_running_loop().call_soon(self._take_off, key)
        return await asyncio.shield(waiting[0])

    def _take_off(self, key: Hashable) -> None:
        answer, load = self._next.pop(key)  # who arrives from now on waits for the next
        flight = asyncio.ensure_future(load())
        self._running[key] = flight
        flight.add_done_callback(lambda done: self._landed(key, done, answer))

    def _landed(self, key: Hashable, flight: asyncio.Future[V], answer: asyncio.Future[V]) -> None:
        del self._running[key]
        if flight.cancelled():
            answer.cancel()
        elif (error := flight.exception()) is not None:
            answer.set_exception(error)
        else:
            answer.set_result(flight.result())
        if not answer.cancelled():
            answer.exception()  # read here, so a failure nobody waited for is not reported
        if key in self._next:
            self._take_off(key)
