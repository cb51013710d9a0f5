"""What ops do with the outbox: look at deliveries and put a dead one back in the queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.clock import Clock, utc, wall
from core.errors import Conflict, InvalidRequest, OutboxRowNotFound
from core.numbers import plain_int
from services import listing
from services.outbox.records.port import (
    DEAD,
    DELIVERED,
    IN_FLIGHT,
    PENDING,
    DeskRecords,
    OutboxEntry,
)
from store.audit import AuditLine

STATES = (PENDING, IN_FLIGHT, DELIVERED, DEAD)


class OutboxDesk:
    def __init__(
        self,
        records: DeskRecords,
        on_requeued: Callable[[], None] | None = None,
        clock: Clock = wall,
    ) -> None:
        self.records = records
        self.on_requeued = on_requeued or (lambda: None)
        self._clock = clock

    async def page(
        self, state: str | None, cursor: str | None, limit: int
    ) -> tuple[list[OutboxEntry], str | None]:
        if state is not None and state not in STATES:
            raise InvalidRequest(
                fields=[{"field": "state", "problem": "one of " + ", ".join(STATES)}]
            )
        found = await self.records.page(state, listing.decode_id_cursor(cursor), limit + 1)
        chosen = found[:limit]
        more = len(found) > limit
        return chosen, listing.encode_cursor(str(chosen[-1].id)) if more else None

    async def requeue(
        self, row_id: str, *, actor: str, actor_user_id: str | None, request_id: str
    ) -> OutboxEntry:
        """The delivery is pending again with its attempt count reset; audited."""
        number = plain_int(row_id)
        if number is None:
            raise OutboxRowNotFound()
        before = await self.records.get(number)
        if before is None:
            raise OutboxRowNotFound()
        line = AuditLine(
            actor=actor,
            action="outbox.requeue",
            target=f"outbox:{before.id}",
            before={"state": before.state, "attempts": before.attempts},
            after={"state": PENDING, "attempts": 0},
            actor_user_id=actor_user_id,
            request_id=request_id,
        )
        after = await self.records.requeue(before.id, utc(self._clock), line)
        if after is None:
            raise Conflict(
                "只能重投未送达的记录 Only an undelivered row can be requeued", state=before.state
            )
        self.on_requeued()
        return after

    async def depth(self) -> tuple[int, datetime | None]:
        return await self.records.depth()
