"""The audit-writer port: what `auth/` and `services/` call to record who did what.

`store.audit` has the one implementation (an ORM and a PostgreSQL form, picked by the
composition root); it hands it to every service the same way, and unit tests hand in a
recording fake. A line written inside an open transaction is part of it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol


class AuditWriter(Protocol):
    def __call__(
        self,
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
    ) -> Awaitable[object]: ...
