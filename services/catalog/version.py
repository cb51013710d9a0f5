"""A catalog version shared through Redis, and an in-process cache kept coherent with it.

Reading Redis on every request would cost more than the whole rest of a catalog request,
so each process keeps serialised answers in memory, tagged with the catalog version they
were built from. A change bumps the version (INCR) and publishes it; every process hears
the message and drops its stale answers at once. As a safety net against a lost message
(a reconnect), a process also re-reads the version when it has not done so for
`recheck_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from redis.exceptions import RedisError

from core.clock import Clock, monotonic, wall
from core.errors import Unavailable
from store.kv import KV

log = logging.getLogger("lingpao.cache")

VERSION_KEY = "lp:catalog:version"
CHANNEL = "lp:catalog:changed"
BOOTSTRAP_KEY = "lp:catalog:bootstrap"


class CatalogVersion:
    def __init__(
        self,
        client: KV,
        recheck_seconds: float = 1.0,
        clock: Clock = monotonic,
        wall_clock: Clock = wall,
    ) -> None:
        self.redis = client
        self.recheck_seconds = recheck_seconds
        self._clock = clock
        self._wall = wall_clock
        self.value = 0
        self._checked_at = float("-inf")
        self._entries: dict[Any, tuple[int, Any]] = {}
        self._retry: asyncio.Task[None] | None = None

    async def prime(self) -> None:
        """Reads the current version once; Redis may be down at start, then serve version 0."""
        with contextlib.suppress(Exception):
            await self._reread()

    async def _reread(self) -> None:
        raw = await self.redis.get(VERSION_KEY)
        self._observe(int(raw or 0))
        self._checked_at = self._clock()

    def _observe(self, version: int) -> None:
        # Only forward: the message of the bump before a change may arrive after the one
        # that followed it. (The counter never goes back, even when Redis restarts empty.)
        if version > self.value:
            self.value = version
            self._entries.clear()

    async def current(self) -> int:
        """The version to serve from; touches Redis at most once per `recheck_seconds`."""
        now = self._clock()
        if now - self._checked_at >= self.recheck_seconds:
            # Claimed before the round trip: every request that arrived while it was under
            # way started one of its own, 64 at a time under load, each on a connection the
            # pool had to open (issue 13's profile). The others serve the version they have,
            # as they did a moment earlier.
            self._checked_at = now
            try:
                await self._reread()
            except Exception as exc:  # noqa: BLE001 - serve what we have; Redis may come back
                log.warning("catalog version could not be read: %s", type(exc).__name__)
                self._checked_at = self._clock()
        return self.value

    async def bump(self) -> int:
        """A new version, told to every process; Unavailable while Redis cannot count."""
        # A Redis that restarted empty would count again from 1 and hand out versions that
        # processes still cache answers under: an empty counter starts at the wall clock's
        # milliseconds instead, past any number it gave before.
        try:
            await self.redis.set(VERSION_KEY, int(self._wall() * 1000), nx=True)
            version = int(await self.redis.incr(VERSION_KEY))
        except RedisError as exc:
            raise Unavailable(reason="catalog_version_unwritable") from exc
        self._observe(version)
        with contextlib.suppress(RedisError):
            # A lost message costs at most `recheck_seconds`: the counter has moved.
            await self.redis.publish(CHANNEL, str(version))
        return version

    async def bump_until_told(self) -> None:
        """Bumps now, or, if Redis failed since a moment ago, keeps trying in the background:
        the change is made, and every process must hear of it."""
        try:
            await self.bump()
        except Unavailable:
            self._entries.clear()  # this process at least serves the change at once
            if self._retry is None or self._retry.done():
                self._retry = asyncio.get_running_loop().create_task(self._bump_later())

    async def _bump_later(self, pause: float = 1.0, tries: int = 600) -> None:
        for _ in range(tries):
            await asyncio.sleep(pause)
            with contextlib.suppress(Unavailable):
                await self.bump()
                return
        log.error("catalog version not moved after a change; restart the workers")

    async def claim_bootstrap(self, seconds: float) -> bool:
        """Whether this process may fill the empty catalog: one process among every worker
        of every instance, for `seconds` (then another may, if the first died at it)."""
        return bool(await self.redis.set(BOOTSTRAP_KEY, b"1", nx=True, px=int(seconds * 1000)))

    async def release_bootstrap(self) -> None:
        with contextlib.suppress(RedisError):
            await self.redis.delete(BOOTSTRAP_KEY)

    def get(self, key: Any) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != self.value:
            return None
        return entry[1]

    def put(self, key: Any, value: Any, seen: int | None = None) -> None:
        """Keeps `value` for the version `seen` before it was read (the current one if it
        was read without a pause): an answer read while a change landed must not be kept
        as the answer of the version the change moved to."""
        if len(self._entries) > 5000:  # bounded: query strings are the client's to choose
            self._entries.clear()
        self._entries[key] = (self.value if seen is None else seen, value)

    async def listen(self, stopping: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Follows the change feed until `stopping` is set (within `poll_seconds`)."""
        while not stopping.is_set():
            try:
                pubsub = self.redis.pubsub()
                try:
                    await pubsub.subscribe(CHANNEL)
                    await self._reread()  # anything published while we were not listening
                    while not stopping.is_set():
                        message = await _until_stopped(
                            pubsub.get_message(
                                ignore_subscribe_messages=True, timeout=poll_seconds
                            ),
                            stopping,
                        )
                        if message is not None and message.get("type") == "message":
                            self._observe(int(message["data"]))
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
            except Exception as exc:  # noqa: BLE001 - reconnect after a pause
                log.warning("catalog change feed lost (%s); reconnecting", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), 1.0)


async def _until_stopped(waiting: Coroutine[Any, Any, Any], stopping: asyncio.Event) -> Any:
    """What `waiting` gives, or None as soon as `stopping` is set (it is then cancelled)."""
    getter = asyncio.ensure_future(waiting)
    stopper = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not getter.done():
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await getter
        return None
    return getter.result()
