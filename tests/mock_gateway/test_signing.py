"""Signed requests: the shared vectors, and refusal of bad, stale and replayed signatures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import orjson
import pytest

from mock_gateway.signing import sign, signed_headers, string_to_sign
from tests.mock_gateway.conftest import APP_KEY, SECRET

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "signing.json").read_text("utf-8"))


def algorithm(case: dict) -> str:
    return case.get("algorithm", "hmac-sha256")


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_the_mock_reproduces_every_shared_signing_vector(case):
    body = case["body"].encode()
    assert (
        string_to_sign(
            case["method"], case["path_qs"], case["timestamp"], case["nonce"], body, algorithm(case)
        ).decode()
        == case["string_to_sign"]
    )
    assert (
        sign(
            case["secret"],
            case["method"],
            case["path_qs"],
            case["timestamp"],
            case["nonce"],
            body,
            algorithm(case),
        )
        == case["signature"]
    )


async def test_a_correctly_signed_request_is_answered(gateway):
    assert (await gateway.signed("GET", "/ping")).status_code == 200


async def test_an_unsigned_request_is_refused(gateway):
    response = await gateway.http.get("/catalog/items")
    assert response.status_code == 401


async def test_a_wrong_signature_is_refused(gateway):
    headers = signed_headers(APP_KEY, "not-the-secret", "GET", "/ping", b"")
    response = await gateway.http.get("/ping", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"


async def test_a_body_changed_after_signing_is_refused(gateway):
    body = orjson.dumps({"holder_id_number": "330402199001011230", "purpose": "查看"})
    headers = signed_headers(APP_KEY, SECRET, "POST", "/certs/list", body)
    forged = body.replace(b"1230", b"2348")
    response = await gateway.http.post("/certs/list", content=forged, headers=headers)
    assert response.status_code == 401


async def test_a_timestamp_more_than_300_seconds_off_is_refused(gateway):
    for skew in (-301, 301):
        response = await gateway.signed("GET", "/ping", now=time.time() + skew)
        assert response.status_code == 401
        assert response.json()["error"] == "stale_timestamp"


async def test_a_replayed_nonce_is_refused(gateway):
    headers = signed_headers(APP_KEY, SECRET, "GET", "/ping", b"")
    assert (await gateway.http.get("/ping", headers=headers)).status_code == 200
    replay = await gateway.http.get("/ping", headers=headers)
    assert replay.status_code == 401
    assert replay.json()["error"] == "replayed_nonce"


async def test_the_query_string_is_part_of_the_signature(gateway):
    headers = signed_headers(APP_KEY, SECRET, "GET", "/catalog/items?page=1", b"")
    response = await gateway.http.get("/catalog/items?page=2", headers=headers)
    assert response.status_code == 401
