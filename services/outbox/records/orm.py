"""The outbox records through tortoise: `TortoiseDeliveryRecords` is SQLite's delivery
loop (each claim and mark one transaction); `TortoiseDeskRecords` serves ops on every
database."""

from __future__ import annotations

from datetime import datetime

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from services.applications.records.rows import view as application_view
from services.applications.rules import QUEUED, SUBMITTED
from services.outbox.records.port import (
    DEAD,
    DELIVERED,
    IN_FLIGHT,
    PENDING,
    Delivery,
    OutboxEntry,
)
from services.times import rfc3339
from store import filters
from store.audit import AuditLine, LineWriter
from store.models import Application, OutboxAttempt, OutboxRow


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


class TortoiseDeliveryRecords:
    async def claim(
        self, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[Delivery]:
        # One transaction: tortoise holds SQLite's one connection for it, so two claims
        # never interleave and no row goes to two workers.
        async with in_transaction():
            rows = await OutboxRow.filter(_claimable(now)).order_by("id").limit(limit)
            ids = [r.id for r in rows]
            await OutboxRow.filter(_claimable(now), id__in=ids).update(
                state=IN_FLIGHT, claimed_by=worker, claimed_until=until
            )
            applications = {
                str(a.id): application_view(a)
                for a in await Application.filter(id__in=[r.application_id for r in rows])
            }
        return [Delivery(r.id, r.attempts, applications[str(r.application_id)]) for r in rows]

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


class TortoiseDeskRecords:
    def __init__(self, audit: LineWriter) -> None:
        self.audit = audit

    async def page(self, state: str | None, before_id: int | None, limit: int) -> list[OutboxEntry]:
        filters.check(OutboxRow, {"cursor": ("id", before_id), "state": ("state", state)})
        rows = OutboxRow.all()
        if state:
            rows = rows.filter(state=state)
        if before_id is not None:
            rows = rows.filter(id__lt=before_id)
        return [_entry(r) for r in await rows.order_by("-id").limit(limit)]

    async def requeue(self, row_id: int, now: datetime, line: AuditLine) -> OutboxEntry | None:
        if not filters.fits(OutboxRow, "id", row_id):
            return None
        async with in_transaction():
            moved = await OutboxRow.filter(id=row_id, state__in=[DEAD, PENDING]).update(
                state=PENDING, attempts=0, next_attempt_at=now, claimed_by=None, claimed_until=None
            )
            if moved:
                await self.audit.write(line)
        return await self.get(row_id) if moved else None

    async def get(self, row_id: int) -> OutboxEntry | None:
        if not filters.fits(OutboxRow, "id", row_id):
            return None
        row = await OutboxRow.get_or_none(id=row_id)
        return None if row is None else _entry(row)

    async def depth(self) -> tuple[int, datetime | None]:
        waiting = OutboxRow.filter(state__in=[PENDING, IN_FLIGHT])
        count = await waiting.count()
        oldest = await waiting.order_by("created_at").first()
        return count, oldest.created_at if oldest else None
