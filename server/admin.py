"""What the command line does, each command on a container of its own (server/bootstrap.py):
demo data, user administration, the catalog and PII key rotation, without a running server."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal

from auth.rotation import left_behind, rotate_users
from auth.users import CITIZEN, OPS
from server.bootstrap import open_container
from server.demo import DEMO_CITIZENS
from server.settings import Settings
from services import audit, kpis, listing
from services.catalog import zero_trip_blockers
from services.uploads.rotation import rotate_uploads

log = logging.getLogger("lingpao.admin")
# How long a stopping worker lets deliveries in flight finish before it releases them.
OUTBOX_STOP_SECONDS = 10.0

# The demo population's ops officer (API.md): granted the ops role in development.
DEMO_OPS = (DEMO_CITIZENS["王五"], "王五")


async def seed_demo(settings: Settings) -> dict[str, int]:
    summary: dict[str, int] = {}
    async with open_container(settings) as c:
        _, created = await c.users.ensure(DEMO_OPS[0], DEMO_OPS[1], [CITIZEN, OPS])
        if created:
            summary["users"] = 1
        if not await audit.exists(action="system.demo_seeded"):
            await c.audit(actor="system", action="system.demo_seeded", target="demo")
    return summary


async def set_role(settings: Settings, id_number: str, role: str, present: bool) -> dict:
    async with open_container(settings) as c:
        return await c.auth.set_role(id_number, role, present)


async def set_disabled(settings: Settings, id_number: str, disabled: bool) -> int:
    async with open_container(settings) as c:
        return await c.auth.set_disabled(id_number, disabled)


async def sync_items(settings: Settings) -> dict[str, int]:
    async with open_container(settings) as c:
        return await c.catalog.sync()


async def list_items(settings: Settings, mode: str | None) -> list[dict]:
    async with open_container(settings) as c:
        items = listing.search(await c.catalog.all_items(), None, None, mode)
        return [
            {
                **i.summary(),
                "version": i.version,
                "blockers": [b["reason"] for b in zero_trip_blockers(i)],
            }
            for i in items
        ]


async def set_mode(settings: Settings, code: str, mode: str, reason: str) -> dict:
    actor = f"cli:{getpass.getuser()}"[:64]
    async with open_container(settings) as c:
        current = await c.catalog.get_item(code)
        item = await c.catalog.switch_mode(
            code, mode, reason, current.version, actor=actor, actor_user_id=None, request_id="cli"
        )
    return item.detail()


async def indicators(settings: Settings) -> list[dict]:
    async with open_container(settings) as c:
        return [i.as_dict() for i in await kpis.current(c.catalog, c.applications)]


async def rotate_pii(settings: Settings, batch_size: int, say=print) -> dict[str, int]:
    """Every ID number, stored file and OCR record sealed again under CRYPTO_SUITE and
    PII_KEY, a batch at a time; `say` hears after each batch. Safe to stop and run again,
    and beside a serving API: old rows read until they are rewritten (docs/crypto.md)."""
    done = {"users": 0, "uploads": 0, "users_left": 0}
    async with open_container(settings) as c:
        async for count in rotate_users(c.users.cipher, batch_size):
            done["users"] += count
            say(f"users: {done['users']} rewritten")
        async for count in rotate_uploads(c.uploads.store, batch_size):
            done["uploads"] += count
            say(f"uploads: {done['uploads']} files and records rewritten")
        done["users_left"] = await left_behind(c.users.cipher)
    return done


async def run_outbox_worker(settings: Settings) -> None:
    """The delivery loop on its own, until SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    async with open_container(settings) as c:
        log.info("outbox worker %s delivering", c.outbox.worker_id)
        task = asyncio.create_task(c.outbox.run(stopping))
        await stopping.wait()
        # In-flight deliveries finish; past the grace period they are released, unmarked.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, OUTBOX_STOP_SECONDS)
