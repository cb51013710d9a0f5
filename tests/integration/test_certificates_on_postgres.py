"""Certificate reads, presentations and the access ledger on real PostgreSQL and Redis."""

from __future__ import annotations

from store.db import apply_migrations
from tests.auth_helpers import ZHANG, bearer, login
from tests.conftest import backend_with_gateway, make_settings


async def test_read_present_verify_and_the_ledger(tmp_path, pg_url, redis_url):
    await apply_migrations(pg_url)
    settings = make_settings(tmp_path, database_url=pg_url, redis_url=redis_url)
    async with backend_with_gateway(settings) as stack:
        tokens = await login(stack, ZHANG)
        listed = (
            await stack.client.get(
                "/api/v1/me/certificates", params={"limit": 100}, headers=bearer(tokens)
            )
        ).json()["items"]
        card = next(c for c in listed if c["type"] == "111" and c["status"] == "valid")
        token = (
            await stack.client.post(
                f"/api/v1/me/certificates/{card['id']}/presentations",
                json={"fields": ["name"], "ttl_seconds": 60},
                headers=bearer(tokens),
            )
        ).json()["token"]
        verified = (
            await stack.client.post("/api/v1/presentations/verify", json={"token": token})
        ).json()
        assert verified["valid"] is True
        log = (await stack.client.get("/api/v1/me/access-log", headers=bearer(tokens))).json()
        assert [e["action"] for e in log["items"]][:3] == [
            "certificate.verify",
            "certificate.present",
            "certificate.list",
        ]
