"""The audit log: append-only. This module has a way to add entries and to read them;
there is deliberately no way to change or remove one."""

from __future__ import annotations

from services.models import AuditEntry


async def record(*, actor: str, action: str, target: str, outcome: str = "ok", reason: str = "",
                 actor_user_id: str | None = None, request_id: str = "", purpose: str = "",
                 before: object = None, after: object = None, connection=None) -> AuditEntry:
    return await AuditEntry.create(
        actor=actor[:64], action=action, target=target[:128], outcome=outcome,
        reason=reason[:500], actor_user_id=actor_user_id, request_id=request_id[:128],
        purpose=purpose[:200], before=before, after=after, using_db=connection)
