"""A mode switch on one instance is served by another at once, through real Redis."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from mock_gateway.inprocess import MockGatewayTransport
from server.app import create_app
from store.db import apply_migrations
from tests.auth_helpers import bearer, catalog_ready, ops_login
from tests.conftest import backend_with_gateway, make_settings, serve_in_process


async def test_a_switch_on_instance_a_is_served_by_instance_b(tmp_path, pg_url, redis_url):
    await apply_migrations(pg_url)
    settings = make_settings(tmp_path, database_url=pg_url, redis_url=redis_url)
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(backend_with_gateway(settings))
        await catalog_ready(a)
        b_app = create_app(
            settings, name="b", gateway_transport=MockGatewayTransport(a.gateway_app)
        )
        b = await stack.enter_async_context(serve_in_process(b_app))
        before = await b.get("/api/v1/items/JY001")
        assert before.json()["mode"] == "one_trip"
        etag = before.headers["etag"]
        assert (
            await b.get("/api/v1/items/JY001", headers={"if-none-match": etag})
        ).status_code == 304  # B now holds the item in its cache

        ops = await ops_login(a)
        switched = await a.client.put(
            "/api/v1/ops/items/JY001/mode",
            json={"mode": "zero_trip", "reason": "入学材料均可电子调取"},
            headers={**bearer(ops), "if-match": str(before.json()["version"])},
        )
        assert switched.status_code == 200

        # B hears the new version over pub/sub; allow the message its milliseconds.
        for _ in range(50):
            after = await b.get("/api/v1/items/JY001", headers={"if-none-match": etag})
            if after.status_code == 200:
                break
            await asyncio.sleep(0.01)
        assert after.status_code == 200
        assert after.json()["mode"] == "zero_trip"
        listed = await b.get("/api/v1/items", params={"category": "教育"})
        assert next(i for i in listed.json()["items"] if i["code"] == "JY001")["mode"] == (
            "zero_trip"
        )
