"""Every failure answers in the contract's envelope with the request id, never a traceback."""

from __future__ import annotations

import pytest


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    error = body["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    text = response.text
    assert "Traceback" not in text and "RuntimeError" not in text and "secret detail" not in text
    return error


async def test_unknown_route_is_a_404_envelope(client):
    assert_envelope(await client.get("/no/such/route"), 404, "not_found")


async def test_wrong_method_is_a_405_envelope_with_allow(client):
    response = await client.delete("/healthz")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_a_400_envelope(client):
    response = await client.post(
        "/_test/echo", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert_envelope(response, 400, "malformed_json")


async def test_empty_body_is_a_400_envelope(client):
    response = await client.post("/_test/echo", headers={"content-type": "application/json"})
    assert_envelope(response, 400, "empty_body")


async def test_wrong_content_type_is_a_415_envelope(client):
    response = await client.post(
        "/_test/echo", content=b"name=x", headers={"content-type": "text/plain"}
    )
    assert_envelope(response, 415, "unsupported_media_type")


async def test_body_over_the_limit_is_a_413_envelope(client):
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await client.post(
        "/_test/echo", content=big, headers={"content-type": "application/json"}
    )
    assert_envelope(response, 413, "payload_too_large")


async def test_invalid_fields_are_named_without_echoing_the_input(client):
    response = await client.post("/_test/echo", json={"name": "330402199001011230" * 2})
    error = assert_envelope(response, 400, "invalid_request")
    assert error["fields"][0]["field"] == "name"
    assert "330402199001011230" not in response.text


async def test_a_json_array_body_is_refused_as_invalid(client):
    response = await client.post("/_test/echo", json=["x"])
    assert_envelope(response, 400, "invalid_request")


async def test_a_valid_body_reaches_the_handler(client):
    response = await client.post("/_test/echo", json={"name": "张三"})
    assert response.status_code == 200
    assert response.json() == {"name": "张三"}


async def test_handler_exception_is_a_500_without_its_text(client, log_output):
    response = await client.get("/_test/boom", headers={"x-request-id": "req-500-check"})
    error = assert_envelope(response, 500, "internal_error")
    assert error["request_id"] == "req-500-check"
    # The log keeps the story for us, with the ID number masked.
    logged = log_output.getvalue()
    assert "unhandled RuntimeError" in logged
    assert "3304**********1230" in logged
    assert "330402199001011230" not in logged


@pytest.mark.parametrize("sent", ["client-id-123", "a" * 128])
async def test_a_sane_client_request_id_is_echoed(client, sent):
    response = await client.get("/healthz", headers={"x-request-id": sent})
    assert response.headers["x-request-id"] == sent


@pytest.mark.parametrize("sent", ["bad id with spaces", "x" * 200, "<script>"])
async def test_an_insane_client_request_id_is_replaced(client, sent):
    response = await client.get("/healthz", headers={"x-request-id": sent})
    assert response.headers["x-request-id"] != sent
    assert len(response.headers["x-request-id"]) == 32


async def test_head_is_answered_on_get_routes_without_a_body(client):
    for path in ("/healthz", "/api/v1/items", "/api/v1/items/HJ005"):
        got = await client.get(path)
        head = await client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
