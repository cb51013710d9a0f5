"""Login, refresh and logout: the flows, each audited with the masked ID number only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Protocol

from auth import identity
from auth.idtoken import Identity
from auth.records import RefusalMirror
from auth.sessions import Sessions, TokenPair
from auth.tokens import Principal
from auth.users import UserDirectory, view
from core.audit import AuditWriter
from core.errors import AccountDisabled, AuthError, InvalidIdentityToken, RefreshTokenReused

Limiter = Callable[[str], Awaitable[None]]


class IdentityVerifier(Protocol):
    """Checks the IdP's identity token; raises InvalidIdentityToken (a replay included)."""

    async def verify(self, token: str) -> Identity: ...


class AuthService:
    """The auth flows as the API offers them, each decision audited."""

    def __init__(
        self,
        verifier: IdentityVerifier,
        users: UserDirectory,
        sessions: Sessions,
        store: RefusalMirror,
        audit: AuditWriter,
        identity_limiter: Limiter | None = None,
        family_limiter: Limiter | None = None,
        atomic: Callable[[], AbstractAsyncContextManager[object]] = nullcontext,
    ) -> None:
        self.verifier = verifier
        self.users = users
        self.sessions = sessions
        self.store = store
        self.audit = audit
        # Rate limits per person (after the token verifies) and per refresh family;
        # each raises when over.
        self.identity_limiter = identity_limiter
        self.family_limiter = family_limiter
        # The writes of one login as one transaction: one commit, not four (issue 13).
        self.atomic = atomic

    async def _refused_anonymous(
        self, action: str, outcome: str, reason: str, request_id: str
    ) -> None:
        # Before the token proves who is calling, the caller is nobody we may name.
        await self.audit(
            actor="anonymous",
            action=action,
            target="session",
            outcome=outcome,
            reason=reason,
            request_id=request_id,
        )

    async def login(
        self, identity_token: str, device_id: str = "", request_id: str = ""
    ) -> tuple[TokenPair, dict]:
        try:
            who = await self.verifier.verify(identity_token)
        except InvalidIdentityToken as exc:
            await self._refused_anonymous("auth.login", "failed", exc.reason, request_id)
            raise
        masked = identity.mask(who.id_number)
        if self.identity_limiter is not None:
            # Keyed by the lookup hash: the limiter's storage never sees an ID number.
            await self.identity_limiter(self.users.lookup_hash(who.id_number))
        async with self.atomic():
            account = await self.users.upsert_from_identity(who)
            if not account.disabled:
                pair = await self.sessions.start(account, who.assurance, device_id)
                await self.audit(
                    actor=masked,
                    action="auth.login",
                    target=f"family:{pair.principal.family_id}",
                    reason=who.assurance,
                    actor_user_id=account.id,
                    request_id=request_id,
                )
                return pair, view(account, who.assurance)
        await self.audit(
            actor=masked,
            action="auth.login",
            target="session",
            outcome="failed",
            reason="account_disabled",
            actor_user_id=account.id,
            request_id=request_id,
        )
        raise AccountDisabled(reason="disabled")

    async def refresh(self, refresh_token: str, request_id: str = "") -> tuple[TokenPair, dict]:
        try:
            pair, family = await self.sessions.refresh(refresh_token, self.family_limiter)
        except RefreshTokenReused as exc:
            await self._refused_anonymous("auth.refresh_reuse", "revoked", exc.reason, request_id)
            raise
        except AuthError as exc:
            await self._refused_anonymous("auth.refresh", "failed", exc.reason, request_id)
            raise
        account = family.account
        await self.audit(
            actor=account.id_masked,
            action="auth.refresh",
            target=f"family:{family.id}",
            actor_user_id=account.id,
            request_id=request_id,
        )
        return pair, view(account, family.assurance)

    async def logout(self, principal: Principal, request_id: str = "") -> None:
        await self.sessions.logout(principal)
        await self.audit(
            actor=principal.id_number_masked,
            action="auth.logout",
            target=f"family:{principal.family_id}",
            actor_user_id=principal.user_id,
            request_id=request_id,
        )

    async def set_disabled(self, id_number: str, disabled: bool) -> int:
        account = await self.users.set_disabled(id_number, disabled)
        await self.store.set_disabled(account.id, disabled)
        ended = await self.sessions.end_all_for(account, "disabled") if disabled else 0
        await self.audit(
            actor="system",
            action="user.disable" if disabled else "user.enable",
            target=account.id_masked,
            actor_user_id=account.id,
        )
        return ended

    async def set_role(self, id_number: str, role: str, present: bool) -> dict:
        account = await self.users.set_role(id_number, role, present)
        # Roles travel in access tokens: end the sessions so the change shows at once.
        await self.sessions.end_all_for(account, "roles_changed")
        await self.audit(
            actor="system",
            action="user.grant_role" if present else "user.revoke_role",
            target=account.id_masked,
            reason=role,
            actor_user_id=account.id,
        )
        return view(account)
