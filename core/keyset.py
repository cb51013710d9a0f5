"""A cache of published public keys by `kid`: the IdP's JWKS and the issuers' seals alike.

Keys are fetched once, kept for `ttl`, and refetched when stale or when an unknown `kid`
shows up (a rotation) — but never more than once per `refetch_interval`, so a flood of
made-up kids cannot become a flood of fetches. Concurrent callers share one fetch. When a
fetch fails the keys already held keep working; only with none at all is it `unavailable`,
which is told the fetch's own error so it can say why (a timeout is not a refusal).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

from core.clock import Clock, monotonic
from core.errors import LingpaoError

log = logging.getLogger("lingpao.keyset")

K = TypeVar("K")


class KeySetCache(Generic[K]):
    def __init__(
        self,
        fetch: Callable[[], Awaitable[Mapping[str, K]]],
        *,
        unavailable: Callable[[LingpaoError | None], LingpaoError],
        name: str = "keys",
        ttl: float = 300.0,
        refetch_interval: float = 5.0,
        clock: Clock = monotonic,
    ) -> None:
        self._fetch = fetch
        self._unavailable = unavailable
        self.name = name
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self._clock = clock
        self._keys: Mapping[str, K] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._unknown_at: float | None = None
        self._lock = asyncio.Lock()
        self._last_error: LingpaoError | None = None
        self._background: asyncio.Task[None] | None = None
        self.fetches = 0

    async def key(self, kid: str) -> K | None:
        """The key for `kid`, None when the publisher does not have it."""
        if kid in self._keys and self._wants_fetch(kid):
            # Known but due for a refresh: answer now and refresh beside the caller, so a
            # publisher that hangs slows nobody down while the keys we hold still work.
            self._refresh_in_background()
            return self._keys[kid]
        # While a fetch is in flight, wait for it rather than answer from an empty cache.
        if (self._lock.locked() and not self._keys) or self._wants_fetch(kid):
            async with self._lock:
                # Whoever held the lock may have fetched what we were about to.
                if self._wants_fetch(kid):
                    if not self._stale():
                        self._unknown_at = self._clock()
                    await self._refresh()
        if not self._keys:
            raise self._unavailable(self._last_error)
        return self._keys.get(kid)

    def _refresh_in_background(self) -> None:
        if self._background is not None and not self._background.done():
            return
        if self._lock.locked():
            return  # a caller is fetching already
        self._attempted_at = self._clock()  # counts as the attempt: one per interval
        self._background = asyncio.get_running_loop().create_task(self._locked_refresh())

    async def _locked_refresh(self) -> None:
        async with self._lock:
            await self._refresh()

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self.ttl

    def _wants_fetch(self, kid: str) -> bool:
        now = self._clock()
        if self._stale():
            # Stale (or never fetched): while the publisher is down, ask once per interval,
            # not once per request.
            return self._attempted_at is None or now - self._attempted_at >= self.refetch_interval
        if kid in self._keys:
            return False
        # A rotation shows up as an unknown kid: pick it up at once, but let a flood of
        # made-up kids cause one fetch per interval at most.
        return self._unknown_at is None or now - self._unknown_at >= self.refetch_interval

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        self.fetches += 1
        try:
            keys = await self._fetch()
        except LingpaoError as exc:  # the publisher failed us: keep serving what we have
            self._last_error = exc
            log.warning(
                "%s could not be fetched (%s); keeping %d cached keys",
                self.name,
                type(exc).__name__,
                len(self._keys),
            )
            return
        self._last_error = None
        if not keys:
            # An empty set is a broken answer, not a revocation of every key.
            log.warning(
                "%s: the publisher answered no usable keys; keeping %d cached keys",
                self.name,
                len(self._keys),
            )
            return
        self._keys = dict(keys)
        self._fetched_at = self._attempted_at
