"""What the command line does: demo data and user administration, without a running server."""

from __future__ import annotations

import getpass
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from auth.service import AuthService
from auth.users import CITIZEN, OPS
from server.settings import Settings
from server.wiring import auth_parts
from services import audit, catalog, db, kpis, kv, listing
from services.cache import CatalogVersion
from services.gateway import GatewayClient
from services.models import AuditEntry

# The demo population's ops officer (API.md): granted the ops role in development.
DEMO_OPS = ("330402197803203454", "王五")


@asynccontextmanager
async def auth_service(settings: Settings) -> AsyncIterator[AuthService]:
    await db.open_database(settings.database_url)
    redis = kv.open_redis(settings.redis_url)
    try:
        parts = auth_parts(settings, redis)
        # No identity tokens are verified here, so no verifier is needed.
        yield AuthService(None, parts.users, parts.sessions, parts.store,  # type: ignore[arg-type]
                          audit.record)
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


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    await db.open_database(settings.database_url)
    try:
        yield
    finally:
        await db.close_database()


async def _bump_catalog_version(settings: Settings) -> None:
    # Running servers drop their cached catalog when the shared version moves. With the
    # in-process stand-in there is no shared version: they notice on restart.
    if settings.redis_url:
        redis = kv.open_redis(settings.redis_url)
        try:
            await CatalogVersion(redis).bump()
        finally:
            await redis.aclose()


async def sync_items(settings: Settings) -> dict[str, int]:
    gateway = GatewayClient(settings.gateway_url, settings.gateway_app_key,
                            settings.gateway_app_secret,
                            timeout_seconds=settings.gateway_timeout_seconds)
    try:
        async with database(settings):
            counts = await catalog.sync(gateway)
    finally:
        await gateway.aclose()
    await _bump_catalog_version(settings)
    return counts


async def list_items(settings: Settings, mode: str | None) -> list[dict]:
    async with database(settings):
        items = listing.search(await catalog.all_items(), None, None, mode)
        return [{**i.summary(), "version": i.version,
                 "blockers": [b["reason"] for b in catalog.zero_trip_blockers(i)]} for i in items]


async def set_mode(settings: Settings, code: str, mode: str, reason: str) -> dict:
    actor = f"cli:{getpass.getuser()}"[:64]
    async with database(settings):
        current = await catalog.get_item(code)
        item = await catalog.switch_mode(code, mode, reason, current.version, actor=actor,
                                         actor_user_id=None, request_id="cli")
    await _bump_catalog_version(settings)
    return item.detail()


async def indicators(settings: Settings) -> list[dict]:
    async with database(settings):
        return [i.as_dict() for i in await kpis.current()]
