"""Concurrent calls share one round trip: Redis keys in one MGET, commands in one pipeline,
a load in one flight.

Every authenticated request asks Redis whether its token was refused (auth.store), so a
refusal holds at once on every instance. Asked one by one, that MGET cost a fifth of a
`/me` request in redis-py's own bookkeeping (issue 13's profile). Here the reads that
arrive within one turn of the event loop are sent as a single MGET, and while one MGET is
in flight the reads that arrive wait and go together in the next, sent as it lands (a
filing's CPU −10%: under load a turn held one or two checks). Each request still reads
Redis after it started, so nothing is served from a copy; a check waits at most for the
MGET in flight and then its own, each bounded by the client's socket timeout.

Rate-limit hits go the same way as commands in one pipeline (`CoalescedPipeline`): each
is still its own command, run whole by Redis in the order the hits came.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, Protocol, TypeVar

Mget = Callable[..., Awaitable[list]]
T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")


class _OneInFlight(Generic[T, R]):
    """Calls that arrive within one turn of the loop, or while a round trip is in flight,
    go together in the next round trip, sent as the one in flight lands."""

    def __init__(self) -> None:
        self._pending: list[tuple[T, asyncio.Future[R]]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.round_trips = 0  # for tests and curiosity: how many were sent

    async def _join(self, call: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        if self._pending is None:
            self._pending = []
            if not self._tasks:
                loop.call_soon(self._send)
            # else: sent when the round trip in flight lands, with whatever arrived meanwhile
        self._pending.append((call, future))
        return await future

    def _send(self) -> None:
        batch, self._pending = self._pending or [], None
        task = asyncio.get_running_loop().create_task(self._guarded(batch))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._pending is not None:
            self._send()

    async def _guarded(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.round_trips += 1
        try:
            await self._round_trip(batch)
        except BaseException as exc:  # every waiter gets the failure as its own
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    async def _round_trip(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        raise NotImplementedError


class CoalescedMget(_OneInFlight[Sequence[str], list]):
    def __init__(self, mget: Mget) -> None:
        super().__init__()
        self._mget = mget

    async def __call__(self, keys: Sequence[str]) -> list:
        return await self._join(keys)

    async def _round_trip(self, batch: list[tuple[Sequence[str], asyncio.Future[list]]]) -> None:
        values = await self._mget(*[key for keys, _ in batch for key in keys])
        start = 0
        for keys, future in batch:
            if not future.done():  # a waiter that gave up (cancelled) is skipped
                future.set_result(values[start : start + len(keys)])
            start += len(keys)


class Pipeline(Protocol):
    """What CoalescedPipeline needs of a client's pipeline (redis-py's, plain or Cluster)."""

    def execute_command(self, *args: Any) -> Any: ...

    async def execute(self, raise_on_error: bool = ...) -> list: ...


class CoalescedPipeline(_OneInFlight[tuple, Any]):
    """Commands sent together in one pipeline (not a transaction); each caller gets its own
    command's answer, or its own command's error raised."""

    def __init__(self, pipeline: Callable[[], Pipeline]) -> None:
        super().__init__()
        self._pipeline = pipeline

    async def __call__(self, *command: Any) -> Any:
        return await self._join(command)

    async def _round_trip(self, batch: list[tuple[tuple, asyncio.Future[Any]]]) -> None:
        pipe = self._pipeline()
        for command, _ in batch:
            pipe.execute_command(*command)
        answers = await pipe.execute(raise_on_error=False)
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():  # a waiter that gave up (cancelled) is skipped
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)


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
