"""Reading the audit log, for ops and for a citizen's access log. Lines are written by the
one audit writer (store/audit.py); nothing changes or removes one."""

from __future__ import annotations

from datetime import datetime

from tortoise.expressions import Q

from services import listing
from services.times import rfc3339
from store import filters
from store.models import AuditEntry


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
    before_id = listing.decode_id_cursor(cursor)
    filters.check(
        AuditEntry,
        {
            "actor": ("actor", actor),
            "action": ("action", action),
            "target": ("target", target),
            "cursor": ("id", before_id),
        },
    )
    rows = AuditEntry.all()
    if actor:
        by = Q(actor=actor)
        if filters.fits(AuditEntry, "actor_user_id", actor):  # a user id: the actor's own
            by |= Q(actor_user_id=actor)
        rows = rows.filter(by)
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
