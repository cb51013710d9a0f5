"""The delivery loop: takes due rows from the outbox and sends them to the gateway.

Runs in every server process and, for deployments that want it apart, as
`python -m server outbox-worker`. Each row goes out with its application's id as the
gateway's idempotency key, so a row sent twice (a worker that crashed after the gateway
took it, before we marked it) is one application at the gateway all the same.

Failures: a transient one is retried with exponential backoff and jitter, up to
`max_attempts`, then the row is parked as dead for ops; a refusal by the gateway parks it
at once; an open circuit breaker postpones the row without counting an attempt. A
delivery cut off by shutdown releases its row for the next worker, never half-marked.

While its process is busy with requests (`busy`, in the server: `OUTBOX_YIELD_AT` requests
in flight), the loop takes one batch every `yield_seconds` and leaves the rest of the CPU
to them: a burst of filings is accepted at the rate the worker can take them, and what it
queued goes out as the burst passes, rather than the two sharing the CPU all along.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from core.clock import Clock, utc, wall
from core.errors import (
    CircuitOpen,
    GatewayError,
    GatewayRejected,
    GatewayTimeout,
    HolderNotFound,
)
from core.tasks import in_own_task
from services.gateway import Gateway
from services.holders import Holders
from services.outbox.records.port import Delivery, DeliveryRecords, new_worker_id

log = logging.getLogger("lingpao.outbox")

Outcome = Callable[[str], None]


class OutboxWorker:
    def __init__(
        self,
        records: DeliveryRecords,
        gateway: Gateway,
        holders: Holders,
        callback_url: str,
        *,
        max_attempts: int = 8,
        backoff_initial: float = 2.0,
        backoff_max: float = 600.0,
        batch: int = 10,
        lease: timedelta = timedelta(seconds=120),
        poll_seconds: float = 1.0,
        on_outcome: Outcome | None = None,
        chores: Callable[[], Awaitable[None]] | None = None,
        busy: Callable[[], bool] | None = None,
        yield_seconds: float = 0.1,
        clock: Clock = wall,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.records = records
        self.gateway = gateway
        self.holders = holders
        self.callback_url = callback_url
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.batch = batch
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.on_outcome = on_outcome or (lambda outcome: None)
        self.chores = chores
        self.busy = busy
        self.yield_seconds = yield_seconds
        self._clock = clock
        self._jitter = jitter
        self.worker_id = new_worker_id()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A new row is waiting: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Delivers until `stopping` is set; then finishes what it holds and returns."""
        last_chores = 0.0
        while not stopping.is_set():
            # Cleared before the drain, not after: a row filed while it runs is looked for
            # at once, not at the next poll.
            self._wake.clear()
            try:
                handled = await in_own_task(self.drain_once())
                if self.chores is not None and time.monotonic() - last_chores > 600:
                    last_chores = time.monotonic()
                    await in_own_task(self.chores())
            except Exception as exc:  # noqa: BLE001 - database down: try again after a pause
                log.warning("outbox delivery loop: %s", type(exc).__name__)
                handled = 0
            busy = self.busy is not None and self.busy()
            if handled < self.batch:
                # Nothing more due (or the database failed): the next poll, or a new row
                # unless citizens are waiting on this process.
                await self._pause(stopping, wakeable=not busy)
            elif busy:
                # More is due, and citizens are waiting: a batch at most every
                # `yield_seconds`, the CPU theirs in between (a filing burst is accepted at
                # its own pace; what it queued is delivered as the burst passes).
                await self._pause(stopping, wakeable=False, seconds=self.yield_seconds)

    async def _pause(
        self, stopping: asyncio.Event, *, wakeable: bool = True, seconds: float | None = None
    ) -> None:
        events = (self._wake, stopping) if wakeable else (stopping,)
        waits = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(
                waits,
                timeout=self.poll_seconds if seconds is None else seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for w in waits:
                w.cancel()

    async def drain_once(self) -> int:
        """Claims one batch of due rows and delivers them; how many it claimed."""
        now = utc(self._clock)
        deliveries = await self.records.claim(self.worker_id, now, now + self.lease, self.batch)
        await asyncio.gather(*(self._deliver(d) for d in deliveries))
        return len(deliveries)

    async def _deliver(self, delivery: Delivery) -> None:
        started = time.monotonic()
        try:
            outcome, error = await self._send(delivery, started)
        except asyncio.CancelledError:
            # Shutdown cut the call off: the row goes back, unmarked, for the next worker.
            await asyncio.shield(self.records.release(delivery.id, self.worker_id))
            raise
        except Exception as exc:  # noqa: BLE001 - our database failed while marking
            log.warning(
                "outbox row %d not marked (%s); its lease will run out",
                delivery.id,
                type(exc).__name__,
            )
            return
        self.on_outcome(outcome)
        # A delivery's attempt is kept with its mark (`delivered`); a postponement is none.
        if outcome not in ("postponed", "delivered"):
            with contextlib.suppress(Exception):
                await self.records.record_attempt(
                    delivery.id, outcome, error, int((time.monotonic() - started) * 1000)
                )

    async def _send(self, delivery: Delivery, started: float) -> tuple[str, str]:
        application = delivery.application
        try:
            holder = await self.holders.of_user(application.user_id)
        except HolderNotFound:
            await self.records.dead(delivery.id, self.worker_id, "申请人不存在 applicant gone")
            return "dead", "applicant gone"
        body = {
            "item_code": application.item_code,
            "materials": dict(application.materials),
            "form": dict(application.form),
            "applicant": {"id_number": holder.id_number},
            "callback_url": self.callback_url,
        }
        try:
            answer = await self.gateway.submit_application(application.id, body)
        except CircuitOpen as exc:
            later = utc(self._clock) + timedelta(seconds=exc.retry_after or 1)
            await self.records.retry_later(
                delivery.id,
                self.worker_id,
                later,
                "省级平台熔断中 gateway circuit open",
                counted=False,
            )
            return "postponed", ""
        except GatewayRejected as exc:
            error = f"省级平台拒收 gateway refused the application ({exc.upstream_status})"
            await self.records.dead(delivery.id, self.worker_id, error)
            return "rejected", error
        except GatewayError as exc:
            return await self._failed(delivery, _our_words(exc))
        gateway_id = str(answer.get("application_id", "")) if isinstance(answer, dict) else ""
        took_ms = int((time.monotonic() - started) * 1000)
        marked = await self.records.delivered(
            delivery.id, self.worker_id, gateway_id, utc(self._clock), took_ms
        )
        if not marked:
            # Our lease ran out meanwhile and another worker holds the row: the gateway took
            # it all the same (one application, by its key), and the attempt is still kept.
            with contextlib.suppress(Exception):
                await self.records.record_attempt(delivery.id, "delivered", "", took_ms)
        return "delivered", ""

    async def _failed(self, delivery: Delivery, error: str) -> tuple[str, str]:
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            await self.records.dead(delivery.id, self.worker_id, error)
            return "dead", error
        later = utc(self._clock) + timedelta(seconds=self.backoff(attempts))
        await self.records.retry_later(delivery.id, self.worker_id, later, error, counted=True)
        return "retry", error

    def backoff(self, attempts: int) -> float:
        """Seconds before try `attempts + 1`: doubling, capped, with equal jitter.

        Written out rather than taken from tenacity: the schedule lives in the database
        across processes and restarts, not in one call's retry loop.
        """
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** (attempts - 1))
        return ceiling / 2 + self._jitter() * ceiling / 2


def _our_words(exc: GatewayError) -> str:
    if isinstance(exc, GatewayTimeout):
        return "省级平台响应超时 gateway timed out"
    return "省级平台暂不可用 gateway unavailable"
