"""Sessions: an access token plus a rotating refresh token in a family.

A refresh token is 256 random bits, stored only as its SHA-256, used once: each use
marks it rotated and issues the next one in the same family. A rotated token shown
again means it was stolen or replayed, so the whole family is revoked. A family lives at
most `refresh_ttl` from its login, however often it is refreshed.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from auth.models import RefreshFamily, RefreshToken, User
from auth.store import AuthStore
from auth.tokens import AccessTokens, Principal
from core.errors import AccountDisabled, InvalidToken, RefreshTokenReused

REFRESH_PREFIX = "rt."


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    principal: Principal


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


class Sessions:
    def __init__(self, tokens: AccessTokens, store: AuthStore,
                 refresh_ttl: timedelta = timedelta(days=30)) -> None:
        self.tokens = tokens
        self.store = store
        self.refresh_ttl = refresh_ttl

    async def start(self, user: User, assurance: str, device_id: str = "") -> TokenPair:
        now = datetime.now(UTC)
        family = await RefreshFamily.create(id=uuid.uuid4(), user=user, device_id=device_id[:128],
                                            assurance=assurance, expires_at=now + self.refresh_ttl)
        refresh = _new_refresh_token()
        await RefreshToken.create(family=family, token_hash=_hash(refresh))
        return self._pair(user, family, refresh)

    def _pair(self, user: User, family: RefreshFamily, refresh: str) -> TokenPair:
        access, principal = self.tokens.issue(str(user.id), user.name, user.id_masked,
                                              list(user.roles), family.assurance, str(family.id))
        return TokenPair(access, refresh, self.tokens.ttl, principal)

    async def refresh(self, refresh_token: str,
                      guard: Callable[[str], Awaitable[None]] | None = None
                      ) -> tuple[TokenPair, RefreshFamily]:
        """`guard` sees the family id before rotation (a rate limit); it may raise."""
        if not refresh_token.startswith(REFRESH_PREFIX) or len(refresh_token) > 100:
            raise InvalidToken(reason="refresh_malformed")
        row = await RefreshToken.get_or_none(token_hash=_hash(refresh_token)).prefetch_related(
            "family__user")
        if row is None:
            raise InvalidToken(reason="refresh_unknown")
        family: RefreshFamily = row.family
        now = datetime.now(UTC)
        if family.revoked_at is not None:
            raise InvalidToken(reason="family_revoked")
        if family.expires_at <= now:
            raise InvalidToken(reason="family_expired")
        if family.user.disabled:
            raise AccountDisabled(reason="disabled")
        if guard is not None:
            await guard(str(family.id))
        async with in_transaction():
            # The conditional update is the lock: of two concurrent uses, one sees 0 rows.
            claimed = await RefreshToken.filter(id=row.id, used_at__isnull=True).update(used_at=now)
            if claimed:
                refresh = _new_refresh_token()
                await RefreshToken.create(family=family, token_hash=_hash(refresh))
        if not claimed:
            await self.revoke_family(family, "reuse")
            raise RefreshTokenReused(reason="rotated_token_reused")
        return self._pair(family.user, family, refresh), family

    async def revoke_family(self, family: RefreshFamily, reason: str) -> None:
        now = datetime.now(UTC)
        await RefreshFamily.filter(id=family.id, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=reason)
        await self.store.revoke_family(str(family.id), int(family.expires_at.timestamp()))

    async def logout(self, principal: Principal) -> None:
        await self.store.revoke_access(principal.jti, principal.expires_at)
        family = await RefreshFamily.get_or_none(id=principal.family_id)
        if family is not None:
            await self.revoke_family(family, "logout")

    async def end_all_for(self, user: User, reason: str) -> int:
        families = await RefreshFamily.filter(user=user, revoked_at__isnull=True)
        for family in families:
            await self.revoke_family(family, reason)
        return len(families)

    async def authenticate(self, access_token: str) -> Principal:
        principal = self.tokens.verify(access_token)
        if await self.store.is_revoked(principal.jti, principal.family_id, principal.user_id):
            raise InvalidToken(reason="revoked")
        return principal
