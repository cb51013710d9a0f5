"""一证通办 for 张三 and 李四 on the mock catalog, checked by hand against its data."""

from __future__ import annotations

import asyncio

import pytest

from store.db import apply_migrations
from tests.auth_helpers import LI, ZHANG, bearer, catalog_ready, login
from tests.conftest import backend_with_gateway, make_settings


async def one_id(stack, tokens, **params) -> dict[str, dict]:
    response = await stack.client.get(
        "/api/v1/me/one-id-items", params={"limit": 100, **params}, headers=bearer(tokens)
    )
    assert response.status_code == 200, response.text
    return {i["code"]: i for i in response.json()["items"]}


async def test_zhang_san_with_the_broad_set(stack):
    await catalog_ready(stack)
    items = await one_id(stack, await login(stack, ZHANG))
    assert len(items) == 46
    # 户口迁移 (one-trip): ID card, household register and property title — he holds all.
    assert items["HJ001"]["eligible"] is True
    assert all(m["satisfied_by"] for m in items["HJ001"]["materials"])
    # 离婚登记 (in person, paper declaration): never eligible, whatever he holds.
    assert items["HY002"]["eligible"] is False
    # 学历证明开具 (in person) and 教师资格认定 need a diploma he does not hold.
    jy003 = items["JY003"]
    assert jy003["eligible"] is False
    assert next(m for m in jy003["materials"] if m["code"] == "diploma")["satisfied_by"] is None
    assert "diploma" in jy003["missing"]
    # 生育津贴 needs a birth certificate (出生医学证明): he holds none.
    assert items["SY002"]["eligible"] is False


async def test_li_si_with_only_an_id_card_and_household_register(stack):
    await catalog_ready(stack)
    items = await one_id(stack, await login(stack, LI))
    assert items["HJ005"]["eligible"] is True  # 户籍证明: ID card + household register
    assert items["YB001"]["eligible"] is True  # 医保参保登记: ID card
    assert items["HJ001"]["eligible"] is False  # needs a property title
    assert items["SB002"]["eligible"] is False  # needs a social security card
    eligible = await one_id(stack, await login(stack, LI), eligible="true")
    assert all(i["eligible"] for i in eligible.values())
    assert "HJ005" in eligible and "HJ001" not in eligible
    not_eligible = await one_id(stack, await login(stack, LI), eligible="false")
    assert set(eligible).isdisjoint(not_eligible)
    assert len(eligible) + len(not_eligible) == 46


async def test_expired_and_revoked_certificates_do_not_count(stack):
    await catalog_ready(stack)
    tokens = await login(stack, ZHANG)
    items = await one_id(stack, tokens)
    used = {m["satisfied_by"] for i in items.values() for m in i["materials"] if m["satisfied_by"]}
    found = (
        await stack.client.get(
            "/api/v1/me/certificates", params={"limit": 100}, headers=bearer(tokens)
        )
    ).json()["items"]
    unusable = {c["id"] for c in found if c["status"] != "valid"}
    assert unusable and used.isdisjoint(unusable)


@pytest.fixture
async def briefly_remembering(tmp_path):
    """A stack whose one-ID view remembers certificate facts for one second only."""
    settings = make_settings(tmp_path, one_id_cache_seconds=1)
    await apply_migrations(settings.database_url)
    async with backend_with_gateway(settings) as running:
        yield running


async def test_a_forged_certificate_stops_counting_once_the_remembered_facts_expire(
    briefly_remembering,
):
    stack = briefly_remembering
    await catalog_ready(stack)
    tokens = await login(stack, LI)
    before = await one_id(stack, tokens)
    household = next(
        m["satisfied_by"] for m in before["HJ005"]["materials"] if m["code"] == "household_register"
    )
    await stack.gateway.post("/_admin/certificates/tamper", json={"certificate_id": household})
    await asyncio.sleep(1.2)
    after = await one_id(stack, tokens)
    assert after["HJ005"]["eligible"] is False


async def test_a_forged_certificate_never_counts_when_nothing_is_remembered(tmp_path):
    settings = make_settings(tmp_path, one_id_cache_seconds=0)
    await apply_migrations(settings.database_url)
    async with backend_with_gateway(settings) as stack:
        await catalog_ready(stack)
        tokens = await login(stack, LI)
        before = await one_id(stack, tokens)
        household = next(
            m["satisfied_by"]
            for m in before["HJ005"]["materials"]
            if m["code"] == "household_register"
        )
        await stack.gateway.post("/_admin/certificates/tamper", json={"certificate_id": household})
        after = await one_id(stack, tokens)
        assert after["HJ005"]["eligible"] is False


async def test_a_repeated_look_asks_the_library_once_and_logs_one_access(stack):
    await catalog_ready(stack)
    tokens = await login(stack, ZHANG)
    first = await one_id(stack, tokens)
    calls = library_calls(stack)
    assert calls > 0
    second = await one_id(stack, tokens)
    assert second == first
    assert library_calls(stack) == calls
    log = (await stack.client.get("/api/v1/me/access-log", headers=bearer(tokens))).json()
    assert [e["purpose"] for e in log["items"]].count("一证通办资格核验") == 1


def library_calls(stack) -> float:
    registry = stack.app.ctx.metrics.registry
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "lingpao_gateway_calls"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("endpoint") == "/certs/list"
    )


async def test_a_bad_eligible_filter_is_400(stack):
    response = await stack.client.get(
        "/api/v1/me/one-id-items",
        params={"eligible": "maybe"},
        headers=bearer(await login(stack, LI)),
    )
    assert response.status_code == 400
