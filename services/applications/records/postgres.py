"""`ApplicationRecords` on PostgreSQL, each operation one written-out statement (tortoise
spends ~150 µs building each query and model, on the worker that takes the filings).

A filing (FILE_NEW) writes its key, application, audit line and outbox row in one
statement: a racing filing of the same key waits on the key's unique index for it to
commit, then stores nothing (a key the previous release claimed and let lapse is taken). A
callback (CALLBACK) uses its nonce and moves the status in one. Reading a key after a
refusal (`key_once_written`) first waits the same way for any filing of it still being
written, as a plain read would not see it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from core.ids import is_uuid
from services.applications.records.port import (
    FILE_ACTION,
    NONCE_LENGTH,
    CallbackTaken,
    KeyRecord,
    NewApplication,
    filing_line,
    queued_view,
)
from services.applications.records.rows import SELECTED, as_json, view_of
from services.applications.rules import COMPLETED, QUEUED, RANK, ApplicationView, moves_forward
from services.times import rfc3339
from store import audit
from store.db import asyncpg_client

# (Constants only: the columns are ours, every value a `$n` parameter.)
# A key an instance of the previous release claimed and let lapse names nothing.
KEY = (
    "SELECT fingerprint, application_id FROM idempotency_record WHERE user_id = $1"
    " AND key = $2 AND (application_id IS NOT NULL OR claimed_until > now())"
)
# Waits behind any uncommitted filing of the key (its unique index); rolled back.
PROBE_KEY = (
    "INSERT INTO idempotency_record (user_id, key, fingerprint, claimed_until, created_at)"
    " VALUES ($1, $2, '', $3, $3) ON CONFLICT (user_id, key) DO NOTHING"
)
# The filing's audit line (port.filing_line) from the statement's own values, but the
# actor and request id: a parameter each would cost ~2 µs a filing (tests/contract_records
# compares the line with the ORM's and the fake's).
LINE = {
    "at": "$11::timestamptz",
    "action": f"'{FILE_ACTION}'",
    "target": "'application:' || id::text",
    "outcome": "'ok'",
    "reason": "$3::text",
    "actor_user_id": "$2::text",
    "subject_user_id": "NULL",
    "purpose": "''",
    "before": "NULL",
    "after": "NULL",
}
# $1..$11 the filing, $12 the actor and $13 the request id of its audit line.
FILE_NEW = f"""
WITH claimed AS (
    INSERT INTO idempotency_record (user_id, key, fingerprint, claimed_until, created_at,
                                    application_id)
    VALUES ($2, $9, $10, $11, $11, $1)
    ON CONFLICT (user_id, key) DO UPDATE
        SET fingerprint = $10, application_id = $1, claimed_until = $11
        WHERE idempotency_record.application_id IS NULL
          AND idempotency_record.claimed_until < $11
    RETURNING 1
), filed AS (
    INSERT INTO application (id, user_id, item_code, status, history, materials, form,
                             materials_verified, created_at, updated_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $11, $11 FROM claimed
    RETURNING id
), logged AS (
    {audit.insert(12, source="filed", computed=LINE)}
)
INSERT INTO outbox (application_id, state, attempts, next_attempt_at, last_error, created_at)
SELECT id, 'pending', 0, $11, '', $11 FROM filed
RETURNING id
"""  # noqa: S608
GET = f"SELECT {SELECTED} FROM application a WHERE a.id = $1"  # noqa: S608
PAGE = f"""
SELECT {SELECTED} FROM application a
WHERE a.user_id = $1 AND ($2::timestamptz IS NULL OR (a.created_at, a.id) < ($2, $3::uuid))
ORDER BY a.created_at DESC, a.id DESC LIMIT $4
"""  # noqa: S608
NONCE = (
    "INSERT INTO callback_nonce (nonce, seen_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1"
)
# A callback's nonce used and, only on its first use, its application moved on: only from a
# status the new one is forward of (the status in the WHERE clause is the lock: history only
# changes with it). `known` reads the application as it stood before, to tell a late or
# repeated status from an application that does not exist.
CALLBACK = """
WITH fresh AS (
    INSERT INTO callback_nonce (nonce, seen_at) VALUES ($6, $7)
    ON CONFLICT DO NOTHING RETURNING 1
), moved AS (
    UPDATE application SET status = $2, history = history || $3::jsonb,
                           result_certificate_id = COALESCE($4, result_certificate_id)
    WHERE id = $1 AND status = ANY($5::text[]) AND EXISTS (SELECT 1 FROM fresh)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM fresh) AS fresh, EXISTS (SELECT 1 FROM moved) AS moved,
       EXISTS (SELECT 1 FROM application WHERE id = $1) AS known
"""
COMPLETED_COUNT = "SELECT count(*) AS n FROM application WHERE status = $1"
FORGET_NONCES = "DELETE FROM callback_nonce WHERE seen_at < $1"


class PostgresApplicationRecords:
    async def key(self, user_id: str, key: str) -> KeyRecord | None:
        rows = await asyncpg_client().execute_query_dict(KEY, [user_id, key])
        if not rows:
            return None
        app_id = rows[0]["application_id"]
        return KeyRecord(rows[0]["fingerprint"], str(app_id) if app_id else None)

    async def key_once_written(self, user_id: str, key: str) -> KeyRecord | None:
        async with asyncpg_client().acquire_connection() as connection:
            probing = connection.transaction()
            await probing.start()
            try:
                await connection.execute(PROBE_KEY, user_id, key, datetime.now(UTC))
            finally:
                await probing.rollback()  # it only waited: it leaves nothing
        return await self.key(user_id, key)

    async def file_new(
        self, new: NewApplication, key: str, fingerprint: str
    ) -> ApplicationView | None:
        values = filing_parameters(new, key, fingerprint)
        rows = await asyncpg_client().execute_query_dict(FILE_NEW, values)
        return queued_view(new) if rows else None

    async def get(self, application_id: str) -> ApplicationView | None:
        if not is_uuid(application_id):
            return None
        rows = await asyncpg_client().execute_query_dict(GET, [uuid.UUID(application_id)])
        return view_of(rows[0]) if rows else None

    async def page_of(
        self, user_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[ApplicationView]:
        at, last_id = before if before is not None else (None, None)
        values = [user_id, at, uuid.UUID(last_id) if last_id else None, limit]
        return [view_of(r) for r in await asyncpg_client().execute_query_dict(PAGE, values)]

    async def first_nonce_use(self, nonce: str, at: datetime) -> bool:
        if not 0 < len(nonce) <= NONCE_LENGTH:
            return False
        return bool(await asyncpg_client().execute_query_dict(NONCE, [nonce, at]))

    async def take_callback(
        self,
        nonce: str,
        at: datetime,
        application_id: str,
        status: str,
        result_certificate_id: str | None = None,
    ) -> CallbackTaken:
        if not is_uuid(application_id):
            # An id that names nothing: its nonce is used all the same.
            return "unknown" if await self.first_nonce_use(nonce, at) else "replayed"
        if not 0 < len(nonce) <= NONCE_LENGTH:
            return "replayed"
        earlier = [s for s in RANK if moves_forward(s, status)]
        values = [
            uuid.UUID(application_id),
            status,
            as_json([{"status": status, "at": rfc3339(at)}]),
            result_certificate_id or None,
            earlier,
            nonce,
            at,
        ]
        (taken,) = await asyncpg_client().execute_query_dict(CALLBACK, values)
        if not taken["fresh"]:
            return "replayed"
        if taken["moved"]:
            return "moved"
        return "kept" if taken["known"] else "unknown"

    async def completed_count(self) -> int:
        rows = await asyncpg_client().execute_query_dict(COMPLETED_COUNT, [COMPLETED])
        return int(rows[0]["n"])

    async def forget_nonces(self, before: datetime) -> None:
        await asyncpg_client().execute_query(FORGET_NONCES, [before])


def filing_parameters(new: NewApplication, key: str, fingerprint: str) -> list[object]:
    """FILE_NEW's parameters."""
    return [
        uuid.UUID(new.id),
        new.user_id,
        new.item_code,
        QUEUED,
        as_json([{"status": QUEUED, "at": rfc3339(new.at)}]),
        as_json(new.materials),
        as_json(new.form),
        new.materials_verified,
        key,
        fingerprint,
        new.at,
        *filing_line(new).parameters(skip=tuple(LINE)),
    ]
