"""Fakes every layer uses: the clock, the audit writer, a rate limit."""

from __future__ import annotations

from core.errors import RateLimited
from store.audit import AuditLine


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeAudit:
    """An AuditWriter that keeps every line it is given as the real one would (defaults
    filled in, each text cut to its column), without its time."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def __call__(self, **fields: object) -> None:
        self.keep(AuditLine(**fields))  # type: ignore[arg-type]

    def keep(self, line: AuditLine) -> None:
        """Also what a fake's atomic write calls for the line it makes."""
        values = line.cut()
        values.pop("at")
        self.calls.append(values)

    def actions(self) -> list[tuple[str, str]]:
        return [(c["action"], c["outcome"]) for c in self.calls]


class FakeLimiter:
    """A rate limit that lets everything through until told to refuse."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refusing = False

    def refuse(self) -> None:
        self.refusing = True

    async def __call__(self, key: str) -> None:
        self.calls.append(key)
        if self.refusing:
            raise RateLimited(retry_after=30)
