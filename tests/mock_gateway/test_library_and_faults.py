"""Certificates by holder with a purpose, issuer signatures that verify, and every fault knob."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mock_gateway.certificates import canonical
from tests.mock_gateway.conftest import mock_config, start_gateway

ZHANG = "330402199001011230"
LI = "330411198506152348"


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def issuer_keys(gateway) -> dict:
    issuers = (await gateway.signed("GET", "/certs/issuers")).json()["issuers"]
    return {i["code"]: Ed25519PublicKey.from_public_bytes(_b64url(i["jwk"]["x"])) for i in issuers}


def verifies(keys: dict, document: dict) -> bool:
    try:
        keys[document["signature"]["kid"]].verify(
            _b64url(document["signature"]["value"]), canonical(document)
        )
    except InvalidSignature:
        return False
    return True


async def test_listing_needs_a_purpose(gateway):
    response = await gateway.signed("POST", "/certs/list", {"holder_id_number": ZHANG})
    assert response.status_code == 400


async def test_every_certificate_of_a_holder_verifies_against_its_issuer_key(gateway):
    keys = await issuer_keys(gateway)
    documents = (
        await gateway.signed(
            "POST", "/certs/list", {"holder_id_number": ZHANG, "purpose": "一证通办"}
        )
    ).json()["certificates"]
    assert len(documents) >= 6
    assert all(verifies(keys, d) for d in documents)
    assert all(d["holder_id_number"] == ZHANG for d in documents)


async def test_fetching_one_needs_the_holder_to_match(gateway):
    documents = (
        await gateway.signed("POST", "/certs/list", {"holder_id_number": ZHANG, "purpose": "查看"})
    ).json()["certificates"]
    cert_id = documents[0]["id"]
    mine = await gateway.signed(
        "POST",
        "/certs/get",
        {"certificate_id": cert_id, "holder_id_number": ZHANG, "purpose": "查看"},
    )
    assert mine.status_code == 200 and mine.json()["certificate"]["id"] == cert_id
    theirs = await gateway.signed(
        "POST", "/certs/get", {"certificate_id": cert_id, "holder_id_number": LI, "purpose": "查看"}
    )
    assert theirs.status_code == 404
    no_purpose = await gateway.signed(
        "POST", "/certs/get", {"certificate_id": cert_id, "holder_id_number": ZHANG}
    )
    assert no_purpose.status_code == 400


async def test_a_tampered_certificate_no_longer_verifies(gateway):
    keys = await issuer_keys(gateway)
    documents = (
        await gateway.signed("POST", "/certs/list", {"holder_id_number": LI, "purpose": "查看"})
    ).json()["certificates"]
    await gateway.http.post(
        "/_admin/certificates/tamper", json={"certificate_id": documents[0]["id"]}
    )
    again = (
        await gateway.signed(
            "POST",
            "/certs/get",
            {"certificate_id": documents[0]["id"], "holder_id_number": LI, "purpose": "查看"},
        )
    ).json()
    assert not verifies(keys, again["certificate"])


async def test_latency_fault_delays_answers(gateway):
    await gateway.http.put("/_admin/faults", json={"latency_ms": 200})
    started = time.perf_counter()
    await gateway.signed("GET", "/ping")
    assert time.perf_counter() - started >= 0.2


async def test_error_rate_fault_answers_503(gateway):
    await gateway.http.put("/_admin/faults", json={"error_rate": 1})
    assert (await gateway.signed("GET", "/ping")).status_code == 503
    await gateway.http.put("/_admin/faults", json={"error_rate": 0})
    assert (await gateway.signed("GET", "/ping")).status_code == 200


async def test_down_fault_makes_the_gateway_unreachable_until_lifted(gateway):
    state = (await gateway.http.put("/_admin/faults", json={"down": True})).json()
    assert state["down"] is True
    with pytest.raises(httpx.ConnectError):
        await gateway.signed("GET", "/ping")
    await gateway.http.put("/_admin/faults", json={"down": False})
    assert (await gateway.signed("GET", "/ping")).status_code == 200


@pytest.mark.parametrize(
    "body", [{"error_rate": 2}, {"latency_ms": -1}, {"down": "yes"}, {"explode": True}]
)
async def test_bad_fault_settings_are_refused(gateway, body):
    assert (await gateway.http.put("/_admin/faults", json=body)).status_code == 400


async def test_faults_and_rotation_do_not_exist_outside_development():
    gw, manager = await start_gateway(mock_config(development=False))
    try:
        assert (await gw.http.put("/_admin/faults", json={"down": True})).status_code == 404
        assert (await gw.http.post("/_admin/idp/rotate")).status_code == 404
    finally:
        await gw.http.aclose()
        await manager.__aexit__(None, None, None)
