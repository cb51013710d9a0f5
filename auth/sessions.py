"""Sessions: an access token plus a rotating refresh token in a family.

A refresh token is 256 random bits, stored only as its SHA-256, used once: each use
marks it rotated and issues the next one in the same family. A rotated token shown
again means it was stolen or replayed, so the whole family is revoked. A family lives at
most `refresh_ttl` from its login, however often it is refreshed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from auth.records import Account, Family, NewFamily, RefusalMirror, SessionRecords
from auth.tokens import AccessTokens, Principal
from core.clock import Clock, utc, wall
from core.errors import AccountDisabled, InvalidToken, RefreshTokenReused
from store.audit import AuditLine

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
    """Starts, rotates and ends sessions; the records keep them, the store mirrors the ends."""

    def __init__(
        self,
        tokens: AccessTokens,
        store: RefusalMirror,
        records: SessionRecords,
        refresh_ttl: timedelta = timedelta(days=30),
        clock: Clock = wall,
    ) -> None:
        self.tokens = tokens
        self.store = store
        self.records = records
        self.refresh_ttl = refresh_ttl
        self._clock = clock

    def new_family(self, assurance: str, device_id: str = "") -> tuple[NewFamily, str]:
        """A family as a login will write it, and its first refresh token (kept only as
        the hash the family carries)."""
        refresh = _new_refresh_token()
        family = NewFamily(
            device_id=device_id[:128],
            assurance=assurance,
            expires_at=utc(self._clock) + self.refresh_ttl,
            token_hash=_hash(refresh),
        )
        return family, refresh

    async def open_family(self, account: Account, new: NewFamily) -> Family:
        return await self.records.create_family(
            account,
            device_id=new.device_id,
            assurance=new.assurance,
            expires_at=new.expires_at,
            token_hash=new.token_hash,
        )

    async def start(self, account: Account, assurance: str, device_id: str = "") -> TokenPair:
        new, refresh = self.new_family(assurance, device_id)
        return self.pair(account, await self.open_family(account, new), refresh)

    def pair(self, account: Account, family: Family, refresh: str) -> TokenPair:
        access, principal = self.tokens.issue(
            account.id,
            account.name,
            account.id_masked,
            list(account.roles),
            family.assurance,
            family.id,
        )
        return TokenPair(access, refresh, self.tokens.ttl, principal)

    async def refresh(
        self,
        refresh_token: str,
        guard: Callable[[str], Awaitable[None]] | None = None,
        request_id: str = "",
    ) -> tuple[TokenPair, Family]:
        """`guard` sees the family id before rotation (a rate limit); it may raise. The
        rotation is audited with it, as `request_id`'s."""
        if not refresh_token.startswith(REFRESH_PREFIX) or len(refresh_token) > 100:
            raise InvalidToken(reason="refresh_malformed")
        token_hash = _hash(refresh_token)
        family = await self.records.family_of_token(token_hash)
        if family is None:
            raise InvalidToken(reason="refresh_unknown")
        now = utc(self._clock)
        if family.revoked_at is not None:
            raise InvalidToken(reason="family_revoked")
        if family.expires_at <= now:
            raise InvalidToken(reason="family_expired")
        if family.account.disabled:
            raise AccountDisabled(reason="disabled")
        if guard is not None:
            await guard(family.id)
        refresh = _new_refresh_token()
        line = AuditLine(
            actor=family.account.id_masked,
            action="auth.refresh",
            target=f"family:{family.id}",
            actor_user_id=family.account.id,
            request_id=request_id,
            at=now,
        )
        if not await self.records.claim_and_rotate(
            token_hash, _hash(refresh), family_id=family.id, at=now, line=line
        ):
            # Shown again after its rotation: whoever holds the newer token may be a thief.
            await self.revoke_family(family, "reuse")
            raise RefreshTokenReused(reason="rotated_token_reused")
        return self.pair(family.account, family, refresh), family

    async def revoke_family(self, family: Family, reason: str) -> None:
        await self.records.revoke_family(family.id, reason, utc(self._clock))
        # Mirrored even if it was revoked before: the store may have lost its copy.
        await self.store.revoke_family(family.id, int(family.expires_at.timestamp()))

    async def logout(self, principal: Principal) -> None:
        await self.store.revoke_access(principal.jti, principal.expires_at)
        family = await self.records.get_family(principal.family_id)
        if family is not None:
            await self.revoke_family(family, "logout")

    async def end_all_for(self, account: Account, reason: str) -> int:
        families = await self.records.open_families_of(account.id)
        for family in families:
            await self.revoke_family(family, reason)
        return len(families)

    async def authenticate(self, access_token: str) -> Principal:
        principal = self.tokens.verify(access_token)
        if await self.store.is_revoked(principal.jti, principal.family_id, principal.user_id):
            raise InvalidToken(reason="revoked")
        return principal
