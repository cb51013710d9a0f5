"""The records under contract, and how a test looks at what they kept.

`Backend` is one set of records (logins, applications, deliveries, the audit writer) with
what a test needs to see their effects: the fakes' own state, or the tables through the
ORM. `database_backend` takes the records bootstrap picks for a database (`records_for`),
so on PostgreSQL every written-out statement is what runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auth.models import UsedIdentityToken, User
from server.bootstrap import Records
from store.audit import COLUMNS
from store.models import AuditEntry, IdempotencyRecord, OutboxAttempt, OutboxRow
from tests.fakes import FakeApplicationRecords, FakeAudit, FakeOutboxRecords
from tests.fakes.auth import FakeLogins, FakeSessionRecords, FakeUserRecords


@dataclass
class Row:
    """An outbox row as every backend can show it."""

    id: int
    state: str
    attempts: int
    claimed_by: str | None


@dataclass
class Backend:
    name: str
    records: Any  # logins, applications, deliveries, users, sessions, audit
    inspect: Any = field(repr=False)


class FakeInspection:
    def __init__(
        self,
        users: FakeUserRecords,
        logins: FakeLogins,
        audit: FakeAudit,
        outbox: FakeOutboxRecords,
    ) -> None:
        self.users, self.logins, self.audit, self.outbox = users, logins, audit, outbox

    async def audit_lines(self, **match: object) -> list[dict]:
        return [c for c in self.audit.calls if all(c[k] == v for k, v in match.items())]

    async def used(self, jti: str) -> bool:
        return jti in self.logins.used

    async def user(self, user_id: str) -> tuple[str, str | None, datetime | None]:
        account = self.users.accounts[user_id]
        return account.name, None, self.users.last_login.get(user_id)

    async def accounts_with(self, id_hashes: list[str]) -> int:
        return len({self.users.ids_by_hash[h] for h in id_hashes if h in self.users.ids_by_hash})

    async def outbox_of(self, application_id: str) -> list[Row]:
        return [
            Row(row_id, r["state"], r["attempts"], r["by"])
            for row_id, r in self.outbox.rows.items()
            if r["application"].id == application_id
        ]

    async def attempts_of(self, row_id: int) -> list[tuple[str, str]]:
        return [(outcome, error) for r, outcome, error in self.outbox.attempts if r == row_id]

    async def clear_outbox(self) -> None:
        self.outbox.rows.clear()


class DatabaseInspection:
    async def audit_lines(self, **match: object) -> list[dict]:
        rows = await AuditEntry.filter(**match).order_by("id")
        return [{c: getattr(r, c) for c in COLUMNS if c != "at"} for r in rows]

    async def used(self, jti: str) -> bool:
        return await UsedIdentityToken.exists(jti=jti)

    async def user(self, user_id: str) -> tuple[str, str | None, datetime | None]:
        row = await User.get(id=user_id)
        return row.name, row.idp_subject, row.last_login_at

    async def accounts_with(self, id_hashes: list[str]) -> int:
        return await User.filter(id_hash__in=id_hashes).count()

    async def outbox_of(self, application_id: str) -> list[Row]:
        rows = await OutboxRow.filter(application_id=uuid.UUID(application_id))
        return [Row(r.id, r.state, r.attempts, r.claimed_by) for r in rows]

    async def attempts_of(self, row_id: int) -> list[tuple[str, str]]:
        rows = await OutboxAttempt.filter(outbox_id=row_id).order_by("id")
        return [(r.outcome, r.error) for r in rows]

    async def clear_outbox(self) -> None:
        await OutboxRow.all().delete()

    async def claim_as_before(self, user_id: str, key: str, fingerprint: str, until: datetime):
        """A key claimed before its filing, as the previous release did, until `until`."""
        await IdempotencyRecord.create(
            user_id=user_id, key=key, fingerprint=fingerprint, claimed_until=until
        )


@dataclass
class FakeRecords:
    users: FakeUserRecords
    sessions: FakeSessionRecords
    logins: FakeLogins
    applications: FakeApplicationRecords
    deliveries: FakeOutboxRecords
    audit: FakeAudit


def fake_backend() -> Backend:
    audit, outbox, users = FakeAudit(), FakeOutboxRecords(), FakeUserRecords()
    sessions = FakeSessionRecords(users)
    logins = FakeLogins(users, sessions, audit)
    applications = FakeApplicationRecords(outbox, audit)
    records = FakeRecords(users, sessions, logins, applications, outbox, audit)
    return Backend("fake", records, FakeInspection(users, logins, audit, outbox))


def database_backend(name: str, records: Records) -> Backend:
    return Backend(name, records, DatabaseInspection())
