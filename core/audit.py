"""The audit-writer port: what `auth/` and `services/` call to record who did what.

`services.audit.record` is the implementation; the composition root hands it to every
service the same way, and unit tests hand in a recording fake.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol


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
        connection: Any = None,
    ) -> Awaitable[object]: ...
