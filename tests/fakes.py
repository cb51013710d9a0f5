"""Fakes for unit tests: in-memory stand-ins for the ports, each recording its `calls`."""

from __future__ import annotations


class FakeClock:
    """A clock that moves only when told to; callable like `time.time`."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
