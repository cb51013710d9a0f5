"""The catalog service: what the public reads, what ops switch, and the sync from the gateway.

A change to the catalog (a mode switch, a sync) bumps the shared catalog version here, so
every worker and instance drops its cached answers; no caller has to remember to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

from core.clock import Clock, utc, wall
from core.coalesce import SingleFlight
from core.errors import InvalidRequest, ItemNotFound, VersionMismatch
from core.tasks import in_own_task
from services.catalog.records import ItemRecords, ModeChange
from services.catalog.rules import ItemView, check_mode
from services.catalog.version import CatalogVersion
from services.gateway import Gateway

CODE_MAX_LENGTH = 32  # Item.code's column
# Longer than any pull from the gateway takes: past it, another process may fill the catalog.
BOOTSTRAP_CLAIM_SECONDS = 120.0

log = logging.getLogger("lingpao.catalog")


class Catalog:
    def __init__(
        self, records: ItemRecords, gateway: Gateway, version: CatalogVersion, clock: Clock = wall
    ) -> None:
        self.records = records
        self.gateway = gateway
        self.version = version
        self._clock = clock
        self._loads: SingleFlight[list[ItemView]] = SingleFlight()

    async def snapshot(self) -> list[ItemView]:
        """Every item as this process serves it: read once per catalog version."""
        return (await self.versioned_snapshot())[1]

    async def versioned_snapshot(self) -> tuple[int, list[ItemView]]:
        """The snapshot with the version it was read at: what is derived from it and cached
        must be kept under that version, not under a newer one that arrived meanwhile."""
        seen = await self.version.current()  # also moves to the newest version heard of
        items = self.version.get("snapshot")
        if items is None:
            # After a change every request misses at once: they share one read.
            items = await self._loads(seen, partial(self._load, seen))
        return seen, items

    async def _load(self, seen: int) -> list[ItemView]:
        items = await self.records.all_items()
        self.version.put("snapshot", items, seen)
        return items

    async def current_item(self, code: str) -> ItemView:
        """One item as the catalog is served now: as fresh as a catalog read (a switch that
        returned shows at once on every instance), without a database round trip."""
        seen, items = await self.versioned_snapshot()
        by_code = self.version.get("by_code")
        if by_code is None:
            by_code = {item.code: item for item in items}
            self.version.put("by_code", by_code, seen)
        found = by_code.get(code)
        if found is None:
            raise ItemNotFound()
        return found

    async def all_items(self) -> list[ItemView]:
        """Every item as the database has it now (ops views, KPIs)."""
        return await self.records.all_items()

    async def get_item(self, code: str) -> ItemView:
        if len(code) > CODE_MAX_LENGTH:
            raise ItemNotFound()  # none can have it; the database would refuse to compare
        item = await self.records.get(code)
        if item is None:
            raise ItemNotFound()
        return item

    async def issued_certificate_types(self) -> set[str]:
        return await self.records.issued_certificate_types()

    async def switch_mode(
        self,
        code: str,
        mode: str,
        reason: str,
        expected_version: int,
        *,
        actor: str,
        actor_user_id: str | None,
        request_id: str,
    ) -> ItemView:
        """The rule check, the row update with its audit entry, then the broadcast.

        The version is moved once before the update, so a Redis that cannot count refuses
        the switch (503) before anything changed, and once after, so no process keeps what
        it read in between.
        """
        reason = reason.strip()
        if not reason:
            raise InvalidRequest(
                "须说明切换原因 A reason is required",
                fields=[{"field": "reason", "problem": "required"}],
            )
        item = await self.get_item(code)
        check_mode(item, mode)
        if item.version != expected_version:
            raise VersionMismatch(current_version=item.version)
        change = ModeChange(
            code, mode, expected_version, reason, actor, actor_user_id, request_id, utc(self._clock)
        )
        await self.version.bump()
        if not await self.records.switch_mode(change, item):
            raise VersionMismatch(current_version=item.version)
        await self.version.bump_until_told()
        return await self.get_item(code)

    async def sync(self) -> dict[str, int]:
        """Upserts the gateway's catalog; a mode that ops set is never overwritten."""
        counts = await self._pull()
        await self.version.bump_until_told()
        return counts

    async def _pull(self) -> dict[str, int]:
        items = await self.gateway.catalog_items()
        types = await self.gateway.certificate_types()
        return await self.records.replace_from_gateway(items, types, utc(self._clock))

    async def fill_when_empty(
        self, stopping: asyncio.Event, pause: float = 2.0, max_pause: float = 60.0
    ) -> None:
        """Fills an empty catalog from the gateway, retrying until the gateway answers.

        Runs beside the server rather than before it, so a gateway that starts after us (as
        under `make run`) delays the catalog, not the API. It is stopped between attempts,
        never cancelled inside one: a sync cut off mid-transaction would hold the database.
        """
        synced = False
        while not stopping.is_set():
            try:
                if not synced:
                    if not await in_own_task(self.records.is_empty()):
                        return
                    synced = await self._fill_if_first()
                if synced:
                    # Until the version moves, other processes serve their empty catalog.
                    await self.version.bump()
                    return
            except Exception as exc:  # noqa: BLE001 - gateway, database or Redis: try later
                log.warning(
                    "catalog bootstrap failed (%s); retrying in %.0f s",
                    getattr(exc, "code", type(exc).__name__),
                    pause,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), pause)
            pause = min(max_pause, pause * 2)

    async def _fill_if_first(self) -> bool:
        """Fills the catalog unless another process is at it; whether this one did."""
        # Every worker of every instance starts at once: one fills, the others look again
        # after their pause and find the catalog filled (or, if the filler died, fill it).
        if not await self.version.claim_bootstrap(BOOTSTRAP_CLAIM_SECONDS):
            log.info("catalog being filled by another process; looking again later")
            return False
        try:
            # Filled by another between our look and our claim: nothing left to do.
            if not await in_own_task(self.records.is_empty()):
                return True
            counts = await in_own_task(self._pull())
        finally:
            await self.version.release_bootstrap()
        log.info("catalog synced from the gateway: %s", counts)
        return True
