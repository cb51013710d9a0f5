"""The catalog as this process serves it: loaded once per catalog version, shared by the
public listing and the one-ID view so neither asks the database per request."""

from __future__ import annotations

from sanic.request import Request

from services import catalog


async def catalog_snapshot(request: Request) -> list[catalog.ItemView]:
    cache = request.app.ctx.catalog_version
    await cache.current()  # also moves the cache to the newest version it has heard of
    items = cache.get("snapshot")
    if items is None:
        items = await catalog.all_items()
        cache.put("snapshot", items)
    return items
