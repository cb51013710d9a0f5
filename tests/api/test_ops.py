"""Ops: blockers, mode switches and their errors, the audit log, KPIs and the ops guard."""

from __future__ import annotations

import asyncio

import pytest

from tests.auth_helpers import LI, bearer, catalog_ready, login, ops_login


@pytest.fixture
async def ops(stack):
    await catalog_ready(stack)
    stack.ops = await ops_login(stack)
    return stack


async def switch(
    stack,
    code: str,
    mode: str,
    version: str | None = "1",
    reason: str | None = "测试切换",
    tokens: dict | None = None,
):
    headers = bearer(tokens or stack.ops)
    if version is not None:
        headers["if-match"] = version
    body = {"mode": mode} | ({"reason": reason} if reason is not None else {})
    return await stack.client.put(f"/api/v1/ops/items/{code}/mode", headers=headers, json=body)


def error_code(response) -> str:
    return response.json()["error"]["code"]


async def test_ops_items_list_the_zero_trip_blockers(ops):
    page = (
        await ops.client.get("/api/v1/ops/items", params={"limit": 100}, headers=bearer(ops.ops))
    ).json()
    by_code = {i["code"]: i for i in page["items"]}
    assert [b["reason"] for b in by_code["HY001"]["zero_trip_blockers"]] == ["paper_original"]
    assert {b["reason"] for b in by_code["HY002"]["zero_trip_blockers"]} == {
        "paper_original",
        "gateway_cannot_take_online",
    }
    assert by_code["YB001"]["zero_trip_blockers"] == []
    assert by_code["YB001"]["version"] == 1


async def test_a_switch_to_zero_trip_succeeds_without_blockers(ops):
    response = await switch(ops, "HJ001", "zero_trip")
    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "zero_trip" and body["version"] == 2
    assert body["mode_changed_by"] == "3304**********3454"
    assert response.headers["etag"] == '"2"'


async def test_zero_trip_is_refused_for_an_item_with_a_paper_original(ops):
    response = await switch(ops, "HJ004", "zero_trip")
    assert response.status_code == 409
    assert error_code(response) == "mode_blocked"
    assert response.json()["error"]["blockers"][0]["code"] == "paper_signed_declaration"


async def test_zero_trip_and_one_trip_are_refused_when_the_gateway_cannot_take_it_online(ops):
    zero = await switch(ops, "CRJ002", "zero_trip")
    assert zero.status_code == 409
    assert zero.json()["error"]["blockers"][0]["reason"] == "gateway_cannot_take_online"
    one = await switch(ops, "CRJ002", "one_trip")
    assert one.status_code == 409 and error_code(one) == "mode_blocked"


async def test_in_person_is_always_allowed(ops):
    response = await switch(ops, "BDC004", "in_person")
    assert response.status_code == 200


async def test_a_stale_version_is_412(ops):
    assert (await switch(ops, "JT002", "zero_trip", version="1")).status_code == 200
    stale = await switch(ops, "JT002", "in_person", version="1")
    assert stale.status_code == 412
    assert error_code(stale) == "version_mismatch"


async def test_a_switch_without_if_match_is_428(ops):
    response = await switch(ops, "JT002", "zero_trip", version=None)
    assert response.status_code == 428
    assert error_code(response) == "if_match_required"


@pytest.mark.parametrize(
    ("mode", "reason"), [("zero_trip", None), ("zero_trip", ""), ("teleport", "x")]
)
async def test_a_switch_without_a_reason_or_with_an_unknown_mode_is_400(ops, mode, reason):
    response = await switch(ops, "JT002", mode, reason=reason)
    assert response.status_code == 400


async def test_an_unknown_item_is_404(ops):
    response = await switch(ops, "NOPE", "in_person")
    assert response.status_code == 404 and error_code(response) == "item_not_found"


async def test_a_citizen_calling_ops_routes_gets_403(ops):
    citizen = await login(ops, LI)
    for method, path in (
        ("GET", "/api/v1/ops/items"),
        ("GET", "/api/v1/ops/kpis"),
        ("GET", "/api/v1/ops/audit"),
        ("PUT", "/api/v1/ops/items/HJ001/mode"),
    ):
        response = await ops.client.request(
            method,
            path,
            headers={**bearer(citizen), "if-match": "1"},
            json={"mode": "zero_trip", "reason": "x"},
        )
        assert response.status_code == 403, path
        assert error_code(response) == "forbidden"
    assert (await switch(ops, "HJ001", "zero_trip", tokens=citizen)).status_code == 403


async def test_two_ops_switching_the_same_version_at_once_give_one_200_and_one_412(ops):
    answers = await asyncio.gather(
        switch(ops, "GJJ002", "zero_trip"), switch(ops, "GJJ002", "in_person")
    )
    assert sorted(a.status_code for a in answers) == [200, 412]
    item = await ops.app.ctx.container.catalog.get_item("GJJ002")
    assert item.version == 2


async def test_a_sync_after_a_switch_keeps_the_switch(ops):
    assert (await switch(ops, "SB003", "zero_trip")).status_code == 200
    counts = await ops.app.ctx.container.catalog.sync()
    assert counts["kept_ops_mode"] == 1
    item = await ops.app.ctx.container.catalog.get_item("SB003")
    assert item.mode == "zero_trip" and item.version == 2


async def test_a_switch_is_audited_with_before_after_reason_and_request_id(ops):
    await ops.client.put(
        "/api/v1/ops/items/HY003/mode",
        headers={**bearer(ops.ops), "if-match": "1", "x-request-id": "switch-hy003"},
        json={"mode": "zero_trip", "reason": "婚姻记录已电子化"},
    )
    page = (
        await ops.client.get(
            "/api/v1/ops/audit", params={"action": "item.mode_switch"}, headers=bearer(ops.ops)
        )
    ).json()
    entry = page["items"][0]
    assert entry["target"] == "item:HY003"
    assert entry["before"] == {"mode": "one_trip", "version": 1}
    assert entry["after"] == {"mode": "zero_trip", "version": 2}
    assert entry["reason"] == "婚姻记录已电子化"
    assert entry["request_id"] == "switch-hy003"
    assert entry["actor"] == "3304**********3454"
    assert entry["at"].endswith("Z")


async def test_a_refused_switch_leaves_no_audit_entry_and_no_change(ops):
    await switch(ops, "HJ004", "zero_trip")
    page = (
        await ops.client.get(
            "/api/v1/ops/audit", params={"target": "item:HJ004"}, headers=bearer(ops.ops)
        )
    ).json()
    assert page["items"] == []
    assert (await ops.app.ctx.container.catalog.get_item("HJ004")).version == 1


async def test_the_audit_log_filters_and_pages(ops):
    for code in ("HJ001", "HJ002", "HJ003"):
        item = await ops.app.ctx.container.catalog.get_item(code)
        await switch(ops, code, "in_person", version=str(item.version))
    headers = bearer(ops.ops)
    first = (
        await ops.client.get(
            "/api/v1/ops/audit", params={"action": "item.mode_switch", "limit": 2}, headers=headers
        )
    ).json()
    assert [e["target"] for e in first["items"]] == ["item:HJ003", "item:HJ002"]
    second = (
        await ops.client.get(
            "/api/v1/ops/audit",
            params={"action": "item.mode_switch", "limit": 2, "cursor": first["next_cursor"]},
            headers=headers,
        )
    ).json()
    assert [e["target"] for e in second["items"]] == ["item:HJ001"]
    assert second["next_cursor"] is None
    by_actor = (
        await ops.client.get(
            "/api/v1/ops/audit",
            params={"actor": "3304**********3454", "action": "auth.login"},
            headers=headers,
        )
    ).json()
    assert by_actor["items"] and all(e["actor"] == "3304**********3454" for e in by_actor["items"])
    future = (
        await ops.client.get(
            "/api/v1/ops/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=headers
        )
    ).json()
    assert future["items"] == []
    bad = await ops.client.get("/api/v1/ops/audit", params={"since": "yesterday"}, headers=headers)
    assert bad.status_code == 400


async def test_kpis_move_when_ops_switch_an_item(ops):
    def value(body, key):
        return next(i for i in body["indicators"] if i["key"] == key)

    before = (await ops.client.get("/api/v1/ops/kpis", headers=bearer(ops.ops))).json()
    zero = value(before, "zero_trip")
    assert zero["target"] == 0.9 and zero["met"] is False
    assert {i["key"] for i in before["indicators"]} == {
        "online_available",
        "zero_trip",
        "handheld",
        "one_id",
        "online_completion",
    }
    await switch(ops, "YB002", "zero_trip")
    after = (await ops.client.get("/api/v1/ops/kpis", headers=bearer(ops.ops))).json()
    assert value(after, "zero_trip")["numerator"] == zero["numerator"] + 1
    assert value(after, "zero_trip")["denominator"] == zero["denominator"]
    metrics = (await ops.client.get("/metrics")).text
    expected = round((zero["numerator"] + 1) / zero["denominator"], 4)
    assert f'lingpao_kpi_value{{key="zero_trip"}} {expected}' in metrics


@pytest.mark.parametrize("cursor", ["%%%", "YWJj"])  # not base64; base64 of "abc"
async def test_a_bad_audit_cursor_is_400(ops, cursor):
    response = await ops.client.get(
        "/api/v1/ops/audit", params={"cursor": cursor}, headers=bearer(ops.ops)
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "reason", ["已电子化\u202e化子电已", "第一行\r\n2026-11-26 INFO 伪造", "制表\t符", "\x00"]
)
async def test_a_reason_with_control_or_bidi_characters_is_refused_and_nothing_switches(
    ops, reason
):
    answer = await switch(ops, "HJ001", "zero_trip", reason=reason)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert "U+" in str(answer.json()["error"]["fields"])
    assert (await ops.app.ctx.container.catalog.get_item("HJ001")).version == 1


async def test_a_switch_while_redis_is_down_is_refused_with_a_503_and_changes_nothing(ops):
    from tests.api.test_refusals_survive_redis import redis_down

    redis_down(ops, True)
    try:
        answer = await switch(ops, "HJ001", "zero_trip")
    finally:
        redis_down(ops, False)
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "service_unavailable"
    assert answer.headers["retry-after"]
    assert (await ops.app.ctx.container.catalog.get_item("HJ001")).version == 1
    assert (await switch(ops, "HJ001", "zero_trip")).status_code == 200
