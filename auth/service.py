"""Login, refresh and logout: the flows, each audited with the masked ID number only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from auth import identity
from auth.idtoken import IdentityTokenVerifier
from auth.sessions import Sessions, TokenPair
from auth.store import AuthStore
from auth.tokens import Principal
from auth.users import UserDirectory, view
from core.errors import AccountDisabled, AuthError, InvalidIdentityToken, RefreshTokenReused


class Audit(Protocol):
    def __call__(self, *, actor: str, action: str, target: str, outcome: str = "ok",
                 reason: str = "", actor_user_id: str | None = None,
                 request_id: str = "") -> Awaitable[None]: ...


class AuthService:
    def __init__(self, verifier: IdentityTokenVerifier, users: UserDirectory, sessions: Sessions,
                 store: AuthStore, audit: Audit,
                 identity_limiter: Callable[[str], Awaitable[None]] | None = None,
                 family_limiter: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.verifier = verifier
        self.users = users
        self.sessions = sessions
        self.store = store
        self.audit = audit
        # Rate limits per person (after the token verifies) and per refresh family;
        # each raises when over.
        self.identity_limiter = identity_limiter
        self.family_limiter = family_limiter

    async def login(self, identity_token: str, device_id: str = "",
                    request_id: str = "") -> tuple[TokenPair, dict]:
        try:
            who = await self.verifier.verify(identity_token)
        except InvalidIdentityToken as exc:
            await self.audit(actor="anonymous", action="auth.login", target="session",
                             outcome="failed", reason=exc.reason, request_id=request_id)
            raise
        masked = identity.mask(who.id_number)
        if self.identity_limiter is not None:
            await self.identity_limiter(self.users.cipher.lookup_hash(who.id_number))
        user = await self.users.upsert_from_identity(who)
        if user.disabled:
            await self.audit(actor=masked, action="auth.login", target="session",
                             outcome="failed", reason="account_disabled",
                             actor_user_id=str(user.id), request_id=request_id)
            raise AccountDisabled(reason="disabled")
        pair = await self.sessions.start(user, who.assurance, device_id)
        await self.audit(actor=masked, action="auth.login",
                         target=f"family:{pair.principal.family_id}", reason=who.assurance,
                         actor_user_id=str(user.id), request_id=request_id)
        return pair, view(user, who.assurance)

    async def refresh(self, refresh_token: str, request_id: str = "") -> tuple[TokenPair, dict]:
        try:
            pair, family = await self.sessions.refresh(refresh_token, self.family_limiter)
        except RefreshTokenReused as exc:
            await self.audit(actor="anonymous", action="auth.refresh_reuse", target="session",
                             outcome="revoked", reason=exc.reason, request_id=request_id)
            raise
        except AuthError as exc:
            await self.audit(actor="anonymous", action="auth.refresh", target="session",
                             outcome="failed", reason=exc.reason, request_id=request_id)
            raise
        user = family.user
        await self.audit(actor=user.id_masked, action="auth.refresh",
                         target=f"family:{family.id}", actor_user_id=str(user.id),
                         request_id=request_id)
        return pair, view(user, family.assurance)

    async def logout(self, principal: Principal, request_id: str = "") -> None:
        await self.sessions.logout(principal)
        await self.audit(actor=principal.id_number_masked, action="auth.logout",
                         target=f"family:{principal.family_id}", actor_user_id=principal.user_id,
                         request_id=request_id)

    async def set_disabled(self, id_number: str, disabled: bool) -> int:
        user = await self.users.find(id_number)
        user.disabled = disabled
        await user.save(update_fields=["disabled"])
        await self.store.set_disabled(str(user.id), disabled)
        ended = await self.sessions.end_all_for(user, "disabled") if disabled else 0
        await self.audit(actor="system", action="user.disable" if disabled else "user.enable",
                         target=user.id_masked, actor_user_id=str(user.id))
        return ended

    async def set_role(self, id_number: str, role: str, present: bool) -> dict:
        user = await self.users.set_role(id_number, role, present)
        # Roles travel in access tokens: end the sessions so the change shows at once.
        await self.sessions.end_all_for(user, "roles_changed")
        await self.audit(actor="system", action="user.grant_role" if present
                         else "user.revoke_role", target=user.id_masked, reason=role,
                         actor_user_id=str(user.id))
        return view(user)
