"""Login, refresh and logout: the flows, each audited with the masked ID number only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from auth import identity
from auth.idtoken import Identity
from auth.records import LoginDraft, LoginRecords, RefusalMirror
from auth.sessions import Sessions, TokenPair
from auth.tokens import Principal
from auth.users import CITIZEN, UserDirectory, view
from core.audit import AuditWriter
from core.clock import utc
from core.errors import (
    AccountDisabled,
    AuthError,
    InvalidIdentityToken,
    RefreshTokenReused,
    StoredDataCorrupt,
)

Limiter = Callable[[str], Awaitable[None]]


class IdentityVerifier(Protocol):
    """Checks the IdP's identity token; raises InvalidIdentityToken. Whether its `jti` was
    used before is the login's write to find (LoginRecords)."""

    async def verify(self, token: str) -> Identity: ...


class AuthService:
    """The auth flows as the API offers them, each decision audited."""

    def __init__(
        self,
        verifier: IdentityVerifier,
        users: UserDirectory,
        sessions: Sessions,
        logins: LoginRecords,
        store: RefusalMirror,
        audit: AuditWriter,
        identity_limiter: Limiter | None = None,
        family_limiter: Limiter | None = None,
    ) -> None:
        self.verifier = verifier
        self.users = users
        self.sessions = sessions
        self.logins = logins
        self.store = store
        self.audit = audit
        # Rate limits per person (after the token verifies) and per refresh family;
        # each raises when over.
        self.identity_limiter = identity_limiter
        self.family_limiter = family_limiter

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
        hashes = self.users.login_hashes(who.id_number)
        if self.identity_limiter is not None:
            # Keyed by the current lookup hash (the first): the limiter's storage never
            # sees an ID number.
            await self.identity_limiter(hashes[0])
        new, refresh = self.sessions.new_family(who.assurance, device_id)
        masked = identity.mask(who.id_number)
        draft = LoginDraft(
            jti=who.jti,
            jti_expires_at=who.expires_at,
            id_hashes=hashes,
            name=who.name,
            idp_subject=who.subject,
            at=utc(),
            family=new,
            id_masked=masked,
            id_encrypted=self.users.seal(who.id_number),
            request_id=request_id,
            roles=(CITIZEN,),
        )
        recorded = await self.logins.record_login(draft)
        if not recorded.first_use:
            await self._refused_anonymous("auth.login", "failed", "replayed_jti", request_id)
            raise InvalidIdentityToken(reason="replayed_jti")
        account, family = recorded.account, recorded.family
        if account is None:  # a first use always finds or makes the account
            raise StoredDataCorrupt(reason="login_without_account")
        if family is None:
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
        return self.sessions.pair(account, family, refresh), view(account, who.assurance)

    async def refresh(self, refresh_token: str, request_id: str = "") -> tuple[TokenPair, dict]:
        try:
            pair, family = await self.sessions.refresh(
                refresh_token, self.family_limiter, request_id
            )
        except RefreshTokenReused as exc:
            await self._refused_anonymous("auth.refresh_reuse", "revoked", exc.reason, request_id)
            raise
        except AuthError as exc:
            await self._refused_anonymous("auth.refresh", "failed", exc.reason, request_id)
            raise
        return pair, view(family.account, family.assurance)

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
