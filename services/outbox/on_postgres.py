"""The delivery loop's statements written out for PostgreSQL (issue 13), picked by
server/bootstrap.

Every filing is claimed, delivered and marked once; through the ORM that was eleven round
trips (a transaction, two reads and two updates to mark it) and ~150 µs of query building
each, on the same worker that takes the filings. Here a claim is one statement and a mark
is one. `PostgresOutboxRecords` overrides only those methods of its ORM version
(services/outbox/records.py); the same contract tests hold both
(tests/integration/test_hot_statements.py and its SQLite twin).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from services.applications.on_postgres import APPLICATION_COLUMNS
from services.applications.records import view_of
from services.applications.rules import SUBMITTED
from services.db import asyncpg_client
from services.outbox.records import Delivery, TortoiseOutboxRecords
from services.times import rfc3339

# Due rows, oldest first, locked without waiting on other workers; then taken by this one.
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
SELECT claimed.id AS outbox_id, claimed.attempts AS outbox_attempts, {APPLICATION_COLUMNS}
FROM claimed JOIN application a ON a.id = claimed.application_id
ORDER BY claimed.id
"""  # noqa: S608

# The row done, its application submitted and the attempt kept, in one statement: nothing
# changes unless the row is still this worker's. A callback may have moved the application
# on already (the gateway answers before we mark): then only the gateway's id is added.
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

ATTEMPT = (
    "INSERT INTO outbox_attempt (outbox_id, at, outcome, error, duration_ms)"
    " VALUES ($1, $2, $3, $4, $5)"
)


class PostgresOutboxRecords(TortoiseOutboxRecords):
    async def claim(
        self, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[Delivery]:
        rows = await asyncpg_client().execute_query_dict(CLAIM, [now, worker, until, limit])
        return [Delivery(r["outbox_id"], r["outbox_attempts"], view_of(r)) for r in rows]

    async def delivered(
        self, row_id: int, worker: str, gateway_id: str, at: datetime, duration_ms: int
    ) -> bool:
        step = orjson.dumps([{"status": SUBMITTED, "at": rfc3339(at)}]).decode()
        values = [row_id, worker, at, gateway_id, step, duration_ms]
        rows = await asyncpg_client().execute_query_dict(DELIVERED, values)
        return bool(rows and rows[0]["done"])

    async def record_attempt(self, row_id: int, outcome: str, error: str, duration_ms: int) -> None:
        values = [row_id, datetime.now(UTC), outcome, error[:200], duration_ms]
        await asyncpg_client().execute_query(ATTEMPT, values)
