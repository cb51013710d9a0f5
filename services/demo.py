"""Idempotent demo data for `make run`: each feature adds its seeder here."""

from __future__ import annotations

from tortoise import Tortoise

from services import db
from services.models import AuditEntry


async def seed(database_url: str) -> dict[str, int]:
    await db.open_database(database_url)
    try:
        summary: dict[str, int] = {}
        if not await AuditEntry.filter(action="system.demo_seeded").exists():
            await AuditEntry.create(actor="system", action="system.demo_seeded", target="demo")
            summary["audit_entries"] = 1
        return summary
    finally:
        await Tortoise.close_connections()
