"""`DeliveryRecords` on PostgreSQL, each operation one written-out statement.

Every filing is claimed, delivered and marked once, on the same worker that takes the
filings: through the ORM a delivery was eleven round trips and ~150 µs of query building
each. Here a claim is one statement (due rows locked without waiting on other workers,
`FOR UPDATE SKIP LOCKED`, so any number of workers share the queue), and so is each mark;
none changes a row that is no longer this worker's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.applications.records.rows import SELECTED, as_json, view_of
from services.applications.rules import SUBMITTED
from services.outbox.records.port import Delivery
from services.times import rfc3339
from store.db import asyncpg_client

# (Constants only: the columns are ours, every value a `$n` parameter.)
CLAIM = f"""
WITH due AS (
    SELECT id FROM outbox
    WHERE (state = 'pending' AND next_attempt_at <= $1)
       OR (state = 'in_flight' AND claimed_until < $1)
    ORDER BY id LIMIT $4
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE outbox o SET state = 'in_flight', claimed_by = $2, claimed_until = $3
    FROM due WHERE o.id = due.id
    RETURNING o.id, o.attempts, o.application_id
)
SELECT claimed.id AS outbox_id, claimed.attempts AS outbox_attempts, {SELECTED}
FROM claimed JOIN application a ON a.id = claimed.application_id
ORDER BY claimed.id
"""  # noqa: S608

# The row done, its application submitted and the attempt kept. A callback may have moved
# the application on already (the gateway answers before we mark): then only the gateway's
# id is added.
DELIVERED = """
WITH done AS (
    UPDATE outbox SET state = 'delivered', delivered_at = $3, claimed_until = NULL,
                      last_error = ''
    WHERE id = $1 AND claimed_by = $2 AND state = 'in_flight'
    RETURNING application_id
), moved AS (
    UPDATE application a SET
        gateway_application_id = $4,
        status = CASE WHEN a.status = 'queued' THEN 'submitted' ELSE a.status END,
        history = CASE WHEN a.status = 'queued' THEN a.history || $5::jsonb ELSE a.history END
    FROM done WHERE a.id = done.application_id
    RETURNING 1
), tried AS (
    INSERT INTO outbox_attempt (outbox_id, at, outcome, error, duration_ms)
    SELECT $1, $3, 'delivered', '', $6 FROM done
)
SELECT count(*) AS done FROM done
"""
# Each of these changes only a row this worker still holds.
_MINE = "WHERE id = $1 AND claimed_by = $2 AND state = 'in_flight' RETURNING 1"
RETRY_LATER = (
    "UPDATE outbox SET state = 'pending', attempts = attempts + $3, next_attempt_at = $4,"  # noqa: S608
    " claimed_by = NULL, claimed_until = NULL, last_error = $5 " + _MINE
)
DEAD = (
    "UPDATE outbox SET state = 'dead', attempts = attempts + 1, claimed_by = NULL,"  # noqa: S608
    " claimed_until = NULL, last_error = $3 " + _MINE
)
RELEASE = "UPDATE outbox SET state = 'pending', claimed_by = NULL, claimed_until = NULL " + _MINE  # noqa: S608
ATTEMPT = (
    "INSERT INTO outbox_attempt (outbox_id, at, outcome, error, duration_ms)"
    " VALUES ($1, $2, $3, $4, $5)"
)
ERROR_LENGTH = 200  # outbox.last_error and outbox_attempt.error


class PostgresDeliveryRecords:
    async def claim(
        self, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[Delivery]:
        rows = await asyncpg_client().execute_query_dict(CLAIM, [now, worker, until, limit])
        return [Delivery(r["outbox_id"], r["outbox_attempts"], view_of(r)) for r in rows]

    async def delivered(
        self, row_id: int, worker: str, gateway_id: str, at: datetime, duration_ms: int
    ) -> bool:
        step = as_json([{"status": SUBMITTED, "at": rfc3339(at)}])
        values = [row_id, worker, at, gateway_id, step, duration_ms]
        rows = await asyncpg_client().execute_query_dict(DELIVERED, values)
        return bool(rows and rows[0]["done"])

    async def retry_later(
        self, row_id: int, worker: str, at: datetime, error: str, counted: bool
    ) -> bool:
        values = [row_id, worker, 1 if counted else 0, at, error[:ERROR_LENGTH]]
        return bool(await asyncpg_client().execute_query_dict(RETRY_LATER, values))

    async def dead(self, row_id: int, worker: str, error: str) -> bool:
        values = [row_id, worker, error[:ERROR_LENGTH]]
        return bool(await asyncpg_client().execute_query_dict(DEAD, values))

    async def release(self, row_id: int, worker: str) -> bool:
        return bool(await asyncpg_client().execute_query_dict(RELEASE, [row_id, worker]))

    async def record_attempt(self, row_id: int, outcome: str, error: str, duration_ms: int) -> None:
        values = [row_id, datetime.now(UTC), outcome, error[:ERROR_LENGTH], duration_ms]
        await asyncpg_client().execute_query(ATTEMPT, values)
