"""The public catalog: search, filters, pagination, detail and conditional requests."""

from __future__ import annotations

import pytest

from tests.auth_helpers import bearer, catalog_ready, ops_login


@pytest.fixture
async def ready(stack):
    await catalog_ready(stack)
    return stack


async def items(stack, **params) -> dict:
    response = await stack.client.get("/api/v1/items", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_catalog_is_synced_from_the_gateway_at_start(ready):
    page = await items(ready, limit=100)
    assert len(page["items"]) == 46
    first = page["items"][0]
    assert set(first) >= {
        "code",
        "name",
        "department",
        "category",
        "mode",
        "handheld",
        "livelihood",
    }


async def test_search_matches_names_and_departments(ready):
    by_name = await items(ready, q="公积金")
    assert by_name["items"] and all(
        "公积金" in i["name"] or "公积金" in i["department"] for i in by_name["items"]
    )
    by_department = await items(ready, q="民政局", limit=100)
    assert {i["code"] for i in by_department["items"]} >= {"HY001", "MZ001"}
    assert (await items(ready, q="没有这个事项"))["items"] == []


async def test_filters_by_category_and_mode(ready):
    marriage = await items(ready, category="婚姻登记", limit=100)
    assert {i["code"] for i in marriage["items"]} == {"HY001", "HY002", "HY003", "HY004"}
    zero = await items(ready, mode="zero_trip", limit=100)
    assert zero["items"] and all(i["mode"] == "zero_trip" for i in zero["items"])
    both = await items(ready, category="社保", mode="in_person")
    assert [i["code"] for i in both["items"]] == ["SB006"]


async def test_pagination_walks_every_item_once(ready):
    seen, cursor = [], None
    while True:
        page = await items(ready, limit=7, **({"cursor": cursor} if cursor else {}))
        seen += [i["code"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 46 == len(set(seen))
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"mode": "teleport"}, {"cursor": "%%%"}],
)
async def test_bad_list_parameters_are_400(ready, params):
    response = await ready.client.get("/api/v1/items", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


async def test_an_item_shows_materials_guide_and_version(ready):
    response = await ready.client.get("/api/v1/items/HY001")
    assert response.status_code == 200
    item = response.json()
    assert item["version"] == 1
    assert {m["source"] for m in item["materials"]} == {"certificate", "paper"}
    assert item["guide"]["address"] and item["guide"]["hours"]
    assert item["guide"]["bring"] == [m["code"] for m in item["materials"]]
    id_card = next(m for m in item["materials"] if m["code"] == "id_card")
    assert id_card["certificate_type"] == "111"


async def test_an_unknown_item_is_404_item_not_found(ready):
    response = await ready.client.get("/api/v1/items/NOPE")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "item_not_found"


async def test_an_unchanged_catalog_answers_304_and_a_switch_gives_200_again(ready):
    first = await ready.client.get("/api/v1/items", params={"category": "户籍"})
    etag = first.headers["etag"]
    again = await ready.client.get(
        "/api/v1/items", params={"category": "户籍"}, headers={"if-none-match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    ops = await ops_login(ready)
    switched = await ready.client.put(
        "/api/v1/ops/items/HJ006/mode",
        headers={**bearer(ops), "if-match": "1"},
        json={"mode": "zero_trip", "reason": "租赁合同可上传"},
    )
    assert switched.status_code == 200
    after = await ready.client.get(
        "/api/v1/items", params={"category": "户籍"}, headers={"if-none-match": etag}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert next(i for i in after.json()["items"] if i["code"] == "HJ006")["mode"] == "zero_trip"
    detail = await ready.client.get("/api/v1/items/HJ006")
    assert detail.json()["mode"] == "zero_trip" and detail.json()["version"] == 2


async def test_the_item_detail_also_answers_304(ready):
    first = await ready.client.get("/api/v1/items/YB001")
    again = await ready.client.get(
        "/api/v1/items/YB001", headers={"if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304
