"""Numbers clients write: ASCII digits only and within what we store, else a clear 400.

`str.isdigit()` is true for '²' and Arabic-Indic digits, which `int()` refuses or reads as
another number; a cursor may decode to a number no database column can hold.
"""

from __future__ import annotations

import pytest

from services.listing import encode_cursor
from tests.auth_helpers import bearer, catalog_ready, login, ops_login

NOT_NUMBERS = ["²", "١٢", "１２", "1e3", "-1", " 7", "9" * 40]


@pytest.fixture
async def ops(stack):
    await catalog_ready(stack)
    stack.ops = await ops_login(stack)
    stack.citizen = await login(stack)
    return stack


@pytest.mark.parametrize("limit", [*NOT_NUMBERS, "0", "101"])
async def test_a_limit_that_is_not_one_to_a_hundred_in_ascii_digits_is_a_400(ops, limit):
    for path, who in (
        ("/api/v1/items", None),
        ("/api/v1/me/access-log", ops.citizen),
        ("/api/v1/ops/audit", ops.ops),
        ("/api/v1/applications", ops.citizen),
    ):
        answer = await ops.client.get(
            path, params={"limit": limit}, headers=bearer(who) if who else {}
        )
        assert answer.status_code == 400, (path, limit, answer.text)
        assert answer.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("value", ["²", "１２", "9" * 19, "9" * 30])
async def test_an_id_cursor_that_is_no_row_number_we_could_hold_is_a_400(ops, value):
    for path, who in (
        ("/api/v1/me/access-log", ops.citizen),
        ("/api/v1/ops/audit", ops.ops),
        ("/api/v1/ops/outbox", ops.ops),
    ):
        answer = await ops.client.get(
            path, params={"cursor": encode_cursor(value)}, headers=bearer(who)
        )
        assert answer.status_code == 400, (path, value, answer.text)


@pytest.mark.parametrize("version", ["²", "١", "9" * 19, "1.0", '"3', "03", "W/3"])
async def test_an_if_match_that_is_no_version_is_a_400_and_nothing_switches(ops, version):
    answer = await ops.client.put(
        "/api/v1/ops/items/JY001/mode",
        json={"mode": "zero_trip", "reason": "测试"},
        headers={**bearer(ops.ops), "if-match": version.encode()},
    )
    assert answer.status_code == 400
    item = await ops.client.get("/api/v1/items/JY001")
    assert item.json()["mode"] == "one_trip"


async def test_an_if_match_past_every_version_is_a_version_mismatch_and_nothing_switches(ops):
    answer = await ops.client.put(
        "/api/v1/ops/items/JY001/mode",
        json={"mode": "zero_trip", "reason": "测试"},
        headers={**bearer(ops.ops), "if-match": "99999999999"},
    )
    assert answer.status_code == 412
    assert answer.json()["error"]["code"] == "version_mismatch"
    item = await ops.client.get("/api/v1/items/JY001")
    assert item.json()["mode"] == "one_trip"


@pytest.mark.parametrize("row_id", ["²", "١", "9" * 30])
async def test_a_requeue_of_a_row_id_that_cannot_exist_is_a_404(ops, row_id):
    answer = await ops.client.post(f"/api/v1/ops/outbox/{row_id}/requeue", headers=bearer(ops.ops))
    assert answer.status_code == 404


LONG = "Ⅹ" * 300  # longer than any column, and not ASCII either


@pytest.mark.parametrize(
    ("path", "who"),
    [
        (f"/api/v1/items/{LONG}", None),
        (f"/api/v1/items?category={LONG}&mode={LONG}&q={LONG}", None),
        (f"/api/v1/ops/audit?actor={LONG}&action={LONG}&target={LONG}", "ops"),
        (f"/api/v1/ops/outbox?state={LONG}", "ops"),
        (f"/api/v1/me/one-id-items?eligible={LONG}", "citizen"),
        (f"/api/v1/applications/{LONG}", "citizen"),
        (f"/api/v1/me/certificates/{LONG}", "citizen"),
    ],
)
async def test_codes_and_filters_longer_than_their_columns_are_a_4xx_not_a_500(ops, path, who):
    headers = bearer(getattr(ops, who)) if who else {}
    answer = await ops.client.get(path, headers=headers)
    assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
    assert LONG not in answer.text


async def test_a_mode_switch_of_an_item_code_longer_than_its_column_is_a_4xx_and_switches_nothing(
    ops,
):
    answer = await ops.client.put(
        f"/api/v1/ops/items/{LONG}/mode",
        json={"mode": "zero_trip", "reason": "测试"},
        headers={**bearer(ops.ops), "if-match": "1"},
    )
    assert 400 <= answer.status_code < 500, answer.text
    audit = (await ops.client.get("/api/v1/ops/audit", headers=bearer(ops.ops))).json()["items"]
    assert [e["action"] for e in audit if "mode" in e["action"]] == []
