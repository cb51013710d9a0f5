"""Fakes every layer uses: the clock, the audit writer, a rate limit."""

from __future__ import annotations

from core.errors import RateLimited


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeAudit:
    """An AuditWriter that keeps every entry it is given, defaults filled in."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def __call__(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        outcome: str = "ok",
        reason: str = "",
        actor_user_id: str | None = None,
        subject_user_id: str | None = None,
        request_id: str = "",
        purpose: str = "",
        before: object = None,
        after: object = None,
        connection: object = None,
    ) -> None:
        self.calls.append(
            dict(
                actor=actor,
                action=action,
                target=target,
                outcome=outcome,
                reason=reason,
                actor_user_id=actor_user_id,
                subject_user_id=subject_user_id,
                request_id=request_id,
                purpose=purpose,
                before=before,
                after=after,
            )
        )

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
