"""A login's writes composed from the records that keep each part: the ORM's on SQLite, the
fakes in unit tests. PostgreSQL writes them in one statement (auth/on_postgres.py), held to
the same contract (tests/integration/test_hot_statements.py, which
tests/api/test_hot_statements_on_sqlite.py runs on SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Protocol

from auth.records import (
    Account,
    Family,
    LoginDraft,
    LoginRecorded,
    SessionRecords,
    UserRecords,
)
from core.audit import AuditWriter


class JtiStore(Protocol):
    """Used identity tokens: each logs in once."""

    async def first_use(self, jti: str, expires_at: int) -> bool: ...


class ComposedLogins:
    def __init__(
        self,
        jtis: JtiStore,
        users: UserRecords,
        sessions: SessionRecords,
        audit: AuditWriter,
        atomic: Callable[[], AbstractAsyncContextManager[object]] = nullcontext,
    ) -> None:
        self.jtis = jtis
        self.users = users
        self.sessions = sessions
        self.audit = audit
        self.atomic = atomic

    async def record_login(self, draft: LoginDraft) -> LoginRecorded:
        # The token's use is kept apart from the rest: a login that fails after it has
        # burnt its token, and the IdP issues another (on SQLite, where this runs).
        if not await self.jtis.first_use(draft.jti, draft.jti_expires_at):
            return LoginRecorded(first_use=False)
        new = draft.family
        async with self.atomic():
            account = await self.users.record_login(
                list(draft.id_hashes),
                name=draft.name,
                idp_subject=draft.idp_subject,
                assurance=new.assurance,
                at=draft.at,
            )
            if account is None or account.disabled:
                return LoginRecorded(first_use=True, account=account)
            family = await self.sessions.create_family(
                account,
                device_id=new.device_id,
                assurance=new.assurance,
                expires_at=new.expires_at,
                token_hash=new.token_hash,
            )
            await login_audited(self.audit, draft, account, family)
        return LoginRecorded(first_use=True, account=account, family=family)


async def login_audited(
    audit: AuditWriter, draft: LoginDraft, account: Account, family: Family
) -> None:
    """The audit line of a login that started a session."""
    await audit(
        actor=draft.actor,
        action="auth.login",
        target=f"family:{family.id}",
        reason=family.assurance,
        actor_user_id=account.id,
        request_id=draft.request_id,
    )
