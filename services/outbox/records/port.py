"""What the delivery loop and ops ask of where deliveries wait.

A row is claimed with a lease: `in_flight` until `claimed_until`, by one worker. Every
later change checks the claim, so a worker whose lease ran out (it crashed or stalled)
cannot mark a row another worker has taken since.

`DeliveryRecords` (the loop's, on its hot path) has one complete class per database:
`orm.TortoiseDeliveryRecords` (SQLite: a claim or a mark is one transaction) and
`postgres.PostgresDeliveryRecords` (a claim is one `FOR UPDATE SKIP LOCKED` statement, a
mark one statement). `DeskRecords` (what ops look at) is `orm.TortoiseDeskRecords` on both.
One contract suite holds them all, the fake included (tests/contract_records/).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.applications.rules import ApplicationView
from services.times import rfc3339
from store.audit import AuditLine

PENDING, IN_FLIGHT, DELIVERED, DEAD = "pending", "in_flight", "delivered", "dead"


@dataclass(frozen=True)
class Delivery:
    """A claimed row with what it delivers."""

    id: int
    attempts: int
    application: ApplicationView


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    application_id: str
    state: str
    attempts: int
    last_error: str
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "application_id": self.application_id,
            "state": self.state,
            "attempts": self.attempts,
            "last_error": self.last_error or None,
            "next_attempt_at": rfc3339(self.next_attempt_at),
            "created_at": rfc3339(self.created_at),
            "delivered_at": rfc3339(self.delivered_at) if self.delivered_at else None,
        }


class DeliveryRecords(Protocol):
    """What the delivery loop needs."""

    async def claim(
        self, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[Delivery]: ...

    async def delivered(
        self, row_id: int, worker: str, gateway_id: str, at: datetime, duration_ms: int
    ) -> bool:
        """Marks the row done, the application submitted and the attempt kept, together."""
        ...

    async def retry_later(
        self, row_id: int, worker: str, at: datetime, error: str, counted: bool
    ) -> bool: ...

    async def dead(self, row_id: int, worker: str, error: str) -> bool: ...

    async def release(self, row_id: int, worker: str) -> bool: ...

    async def record_attempt(
        self, row_id: int, outcome: str, error: str, duration_ms: int
    ) -> None: ...


class DeskRecords(Protocol):
    """What ops look at and do."""

    async def page(
        self, state: str | None, before_id: int | None, limit: int
    ) -> list[OutboxEntry]: ...

    async def requeue(self, row_id: int, now: datetime, line: AuditLine) -> OutboxEntry | None:
        """A dead or pending row due now with its attempts reset, and `line` that says so,
        together; None if it is neither."""
        ...

    async def get(self, row_id: int) -> OutboxEntry | None: ...

    async def depth(self) -> tuple[int, datetime | None]:
        """How many rows wait (pending or in flight), and since when the oldest does."""
        ...


def new_worker_id() -> str:
    return uuid.uuid4().hex[:16]
