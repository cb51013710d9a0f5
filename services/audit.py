"""The audit log: append-only. This module has a way to add entries and to read them;
there is deliberately no way to change or remove one."""

from __future__ import annotations

from datetime import datetime

from tortoise import connections
from tortoise.backends.asyncpg import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from core.clock import utc
from core.errors import InvalidRequest
from services import listing
from services.models import AuditEntry
from services.times import rfc3339

COLUMN_LENGTHS = {"actor": 64, "action": 64, "target": 128}  # AuditEntry's columns
# Every login, certificate read and filing writes a line: on PostgreSQL the insert is written
# out, as tortoise spends ~150 µs building the model and query (issue 13).
INSERT = (
    "INSERT INTO audit_entry (at, actor, action, target, outcome, reason, actor_user_id,"
    " subject_user_id, request_id, purpose, before, after)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)


async def record(
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
    connection: BaseDBAsyncClient | None = None,
) -> None:
    client = connection or connections.get("default")
    if isinstance(client, AsyncpgDBClient):  # `$n` placeholders: asyncpg's, not psycopg's
        fields = AuditEntry._meta.fields_map  # the model's own JSON encoding of before/after
        await client.execute_query(
            INSERT,
            [
                utc(),
                actor[:64],
                action,
                target[:128],
                outcome,
                reason[:500],
                actor_user_id,
                subject_user_id,
                request_id[:128],
                purpose[:200],
                fields["before"].to_db_value(before, AuditEntry),
                fields["after"].to_db_value(after, AuditEntry),
            ],
        )
        return
    await AuditEntry.create(
        actor=actor[:64],
        action=action,
        target=target[:128],
        outcome=outcome,
        reason=reason[:500],
        actor_user_id=actor_user_id,
        subject_user_id=subject_user_id,
        request_id=request_id[:128],
        purpose=purpose[:200],
        before=before,
        after=after,
        using_db=connection,
    )


async def exists(*, action: str) -> bool:
    return await AuditEntry.filter(action=action).exists()


def view(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "at": rfc3339(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "purpose": entry.purpose,
        "request_id": entry.request_id,
    }


async def query(
    *,
    actor: str | None = None,
    action: str | None = None,
    subject_user_id: str | None = None,
    action_prefix: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> tuple[list[dict], str | None]:
    """Newest first; returns the page and the cursor of the next one (None at the end)."""
    _refuse_longer_than_columns(actor=actor, action=action, target=target)
    before_id = listing.decode_id_cursor(cursor)
    rows = AuditEntry.all()
    if actor:
        rows = rows.filter(Q(actor=actor) | Q(actor_user_id=actor))
    if action:
        rows = rows.filter(action=action)
    if action_prefix:
        rows = rows.filter(action__startswith=action_prefix)
    if subject_user_id:
        rows = rows.filter(subject_user_id=subject_user_id)
    if target:
        rows = rows.filter(target=target)
    if since:
        rows = rows.filter(at__gte=since)
    if until:
        rows = rows.filter(at__lt=until)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    found = await rows.order_by("-id").limit(limit + 1)
    more = len(found) > limit
    found = found[:limit]
    next_cursor = listing.encode_cursor(str(found[-1].id)) if more else None
    return [view(e) for e in found], next_cursor


def _refuse_longer_than_columns(**filters: str | None) -> None:
    # Checked here, before the database sees them: tortoise refuses such a filter with an
    # error that would reach the caller as a 500.
    too_long = [
        {"field": name, "problem": f"at most {COLUMN_LENGTHS[name]} characters"}
        for name, value in filters.items()
        if value and len(value) > COLUMN_LENGTHS[name]
    ]
    if too_long:
        raise InvalidRequest(fields=too_long)
