"""Where deliveries to the gateway wait: the port the delivery loop needs and its tortoise
version. Every ORM query about the outbox lives here.

A row is claimed with a lease: `in_flight` until `claimed_until`, by one worker. Every
later change checks the claim, so a worker whose lease ran out (it crashed or stalled)
cannot mark a row another worker has taken since. On PostgreSQL the claim is `SELECT …
FOR UPDATE SKIP LOCKED` (services/outbox/on_postgres.py), so any number of workers share
the queue without waiting on each other; here, on SQLite (one process), a conditional
update per row does the same job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from services.applications.records import view as application_view
from services.applications.rules import QUEUED, SUBMITTED, ApplicationView
from services.models import Application, OutboxAttempt, OutboxRow
from services.times import rfc3339

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


class OutboxRecords(DeliveryRecords, Protocol):
    """The delivery loop's needs and what ops look at."""

    async def page(
        self, state: str | None, before_id: int | None, limit: int
    ) -> list[OutboxEntry]: ...

    async def requeue(self, row_id: int, now: datetime) -> OutboxEntry | None: ...

    async def get(self, row_id: int) -> OutboxEntry | None: ...

    async def depth(self) -> tuple[int, datetime | None]:
        """How many rows wait (pending or in flight), and since when the oldest does."""
        ...


def _entry(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(
        row.id,
        str(row.application_id),
        row.state,
        row.attempts,
        row.last_error,
        row.next_attempt_at,
        row.created_at,
        row.delivered_at,
    )


def _claimable(now: datetime) -> Q:
    # A pending row that is due, or one whose worker let its lease run out.
    return Q(state=PENDING, next_attempt_at__lte=now) | Q(state=IN_FLIGHT, claimed_until__lt=now)


class TortoiseOutboxRecords:
    """The ORM version: SQLite's, and the reference for services/outbox/on_postgres.py,
    whose subclass bootstrap picks on PostgreSQL."""

    async def claim(
        self, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[Delivery]:
        ids = await self._claim_one_by_one(worker, now, until, limit)
        rows = await OutboxRow.filter(id__in=ids, claimed_by=worker).order_by("id")
        applications = {
            str(a.id): application_view(a)
            for a in await Application.filter(id__in=[r.application_id for r in rows])
        }
        return [Delivery(r.id, r.attempts, applications[str(r.application_id)]) for r in rows]

    async def _claim_one_by_one(
        self, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[int]:
        candidates = await OutboxRow.filter(_claimable(now)).order_by("id").limit(limit)
        claimed = []
        for row in candidates:
            # Conditional on what we read: of two claimers, one updates the row.
            same = OutboxRow.filter(id=row.id, state=row.state)
            if row.claimed_until is None:
                same = same.filter(claimed_until__isnull=True)
            else:
                same = same.filter(claimed_until=row.claimed_until)
            won = await same.update(state=IN_FLIGHT, claimed_by=worker, claimed_until=until)
            if won:
                claimed.append(row.id)
        return claimed

    def _mine(self, row_id: int, worker: str) -> QuerySet[OutboxRow]:
        return OutboxRow.filter(id=row_id, claimed_by=worker, state=IN_FLIGHT)

    async def delivered(
        self, row_id: int, worker: str, gateway_id: str, at: datetime, duration_ms: int
    ) -> bool:
        async with in_transaction() as conn:
            done = (
                await self._mine(row_id, worker)
                .using_db(conn)
                .update(state=DELIVERED, delivered_at=at, claimed_until=None, last_error="")
            )
            if not done:
                return False
            row = await OutboxRow.get(id=row_id, using_db=conn)
            application = await Application.get(id=row.application_id, using_db=conn)
            changes: dict[str, object] = {"gateway_application_id": gateway_id}
            if application.status == QUEUED:
                # A callback may have moved it on already (the gateway answers before we mark).
                changes["status"] = SUBMITTED
                changes["history"] = [
                    *application.history,
                    {"status": SUBMITTED, "at": rfc3339(at)},
                ]
            await (
                Application.filter(id=application.id, status=application.status)
                .using_db(conn)
                .update(**changes)
            )
            await OutboxAttempt.create(
                outbox_id=row_id,
                outcome=DELIVERED,
                error="",
                duration_ms=duration_ms,
                using_db=conn,
            )
        return True

    async def retry_later(
        self, row_id: int, worker: str, at: datetime, error: str, counted: bool
    ) -> bool:
        moved = await self._mine(row_id, worker).update(
            state=PENDING,
            attempts=F("attempts") + (1 if counted else 0),
            next_attempt_at=at,
            claimed_by=None,
            claimed_until=None,
            last_error=error[:200],
        )
        return bool(moved)

    async def dead(self, row_id: int, worker: str, error: str) -> bool:
        moved = await self._mine(row_id, worker).update(
            state=DEAD,
            attempts=F("attempts") + 1,
            claimed_by=None,
            claimed_until=None,
            last_error=error[:200],
        )
        return bool(moved)

    async def release(self, row_id: int, worker: str) -> bool:
        moved = await self._mine(row_id, worker).update(
            state=PENDING, claimed_by=None, claimed_until=None
        )
        return bool(moved)

    async def record_attempt(self, row_id: int, outcome: str, error: str, duration_ms: int) -> None:
        await OutboxAttempt.create(
            outbox_id=row_id, outcome=outcome, error=error[:200], duration_ms=duration_ms
        )

    async def page(self, state: str | None, before_id: int | None, limit: int) -> list[OutboxEntry]:
        rows = OutboxRow.all()
        if state:
            rows = rows.filter(state=state)
        if before_id is not None:
            rows = rows.filter(id__lt=before_id)
        return [_entry(r) for r in await rows.order_by("-id").limit(limit)]

    async def requeue(self, row_id: int, now: datetime) -> OutboxEntry | None:
        moved = await OutboxRow.filter(id=row_id, state__in=[DEAD, PENDING]).update(
            state=PENDING, attempts=0, next_attempt_at=now, claimed_by=None, claimed_until=None
        )
        return await self.get(row_id) if moved else None

    async def get(self, row_id: int) -> OutboxEntry | None:
        row = await OutboxRow.get_or_none(id=row_id)
        return None if row is None else _entry(row)

    async def depth(self) -> tuple[int, datetime | None]:
        waiting = OutboxRow.filter(state__in=[PENDING, IN_FLIGHT])
        count = await waiting.count()
        oldest = await waiting.order_by("created_at").first()
        return count, oldest.created_at if oldest else None


def new_worker_id() -> str:
    return uuid.uuid4().hex[:16]
