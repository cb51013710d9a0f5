"""A circuit breaker for the gateway: fail fast while it is down, probe it now and then.

Hand-written on purpose: pybreaker's asyncio path needs Tornado, aiobreaker has had no
release since 2021, and the behaviour needed here is small and fully tested.

    closed ──(threshold consecutive failures)──▶ open ──(reset_after)──▶ half_open
      ▲                                                                    │
      └──────────────(the one trial call succeeds)─────────────────────────┘
                     (the trial fails: open again)
"""

from __future__ import annotations

from core.clock import Clock, monotonic

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 5,
        reset_after: float = 10.0,
        clock: Clock = monotonic,
    ) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if self.clock() - self.opened_at >= self.reset_after:
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open, only one trial at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def retry_after(self) -> int:
        if self.opened_at is None:
            return 1
        return max(1, int(self.reset_after - (self.clock() - self.opened_at)) + 1)

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial_in_flight = False

    def release_trial(self) -> None:
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        if self._trial_in_flight or self.failures >= self.threshold:
            self.opened_at = self.clock()
        self._trial_in_flight = False
