"""What the command line does: demo data and user administration, without a running server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from auth.crypto import PiiCipher
from auth.service import AuthService
from auth.sessions import Sessions
from auth.store import AuthStore
from auth.tokens import AccessTokens
from auth.users import CITIZEN, OPS, UserDirectory
from server.settings import Settings
from services import audit, db, kv
from services.models import AuditEntry

# The demo population's ops officer (API.md): granted the ops role in development.
DEMO_OPS = ("330402197803203454", "王五")


@asynccontextmanager
async def auth_service(settings: Settings) -> AsyncIterator[AuthService]:
    await db.open_database(settings.database_url)
    redis = kv.open_redis(settings.redis_url)
    try:
        store = AuthStore(redis)
        tokens = AccessTokens(settings.token_private_key_pem(), settings.access_token_ttl_seconds)
        sessions = Sessions(tokens, store, timedelta(days=settings.refresh_token_ttl_days))
        users = UserDirectory(PiiCipher(settings.pii_key_bytes()))
        # No identity tokens are verified here, so no verifier is needed.
        yield AuthService(None, users, sessions, store, audit.record)  # type: ignore[arg-type]
    finally:
        await redis.aclose()
        await db.close_database()


async def seed_demo(settings: Settings) -> dict[str, int]:
    summary: dict[str, int] = {}
    async with auth_service(settings) as service:
        _, created = await service.users.ensure(DEMO_OPS[0], DEMO_OPS[1], [CITIZEN, OPS])
        if created:
            summary["users"] = 1
        if not await AuditEntry.filter(action="system.demo_seeded").exists():
            await audit.record(actor="system", action="system.demo_seeded", target="demo")
    return summary


async def set_role(settings: Settings, id_number: str, role: str, present: bool) -> dict:
    async with auth_service(settings) as service:
        return await service.set_role(id_number, role, present)


async def set_disabled(settings: Settings, id_number: str, disabled: bool) -> int:
    async with auth_service(settings) as service:
        return await service.set_disabled(id_number, disabled)
