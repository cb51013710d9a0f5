"""Certificates by holder with a purpose, issuer signatures that verify, and every fault knob."""

from __future__ import annotations

import base64
import time

import gmssl_pyx
import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mock_gateway import certificates
from mock_gateway.certificates import canonical
from tests.mock_gateway.conftest import mock_config, start_gateway

ZHANG = "330402199001011230"
LI = "330411198506152348"


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def issuer_keys(gateway) -> dict:
    issuers = (await gateway.signed("GET", "/certs/issuers")).json()["issuers"]
    return {i["code"]: i["jwk"] for i in issuers}


def verifies(keys: dict, document: dict) -> bool:
    """Checked with the libraries directly, not with the backend's code."""
    jwk, seal = keys[document["signature"]["kid"]], document["signature"]
    assert seal["alg"] == jwk["alg"]
    signature, message = _b64url(seal["value"]), canonical(document)
    if jwk["crv"] == "SM2":
        public = _b64url(jwk["x"]) + _b64url(jwk["y"])
        return bool(gmssl_pyx.sm2_verify(public, message, signature))
    try:
        Ed25519PublicKey.from_public_bytes(_b64url(jwk["x"])).verify(signature, message)
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


async def test_some_issuers_seal_with_sm2_and_the_others_with_ed25519(gateway):
    keys = await issuer_keys(gateway)
    families = {(jwk["crv"], jwk["alg"]) for jwk in keys.values()}
    assert families == {("SM2", "sm2sign-with-sm3"), ("Ed25519", "EdDSA")}


async def test_the_tamper_knob_breaks_sm2_and_ed25519_seals_alike(gateway):
    keys = await issuer_keys(gateway)
    documents = (
        await gateway.signed("POST", "/certs/list", {"holder_id_number": ZHANG, "purpose": "查看"})
    ).json()["certificates"]
    by_family = {keys[d["signature"]["kid"]]["crv"]: d for d in documents}
    assert set(by_family) == {"SM2", "Ed25519"}
    for document in by_family.values():
        assert verifies(keys, document)
        await gateway.http.post(
            "/_admin/certificates/tamper", json={"certificate_id": document["id"]}
        )
        again = await gateway.signed(
            "POST",
            "/certs/get",
            {"certificate_id": document["id"], "holder_id_number": ZHANG, "purpose": "查看"},
        )
        assert not verifies(keys, again.json()["certificate"])


async def test_the_identifier_knob_serves_a_sealed_certificate_under_a_wrong_check_character(
    gateway,
):
    keys = await issuer_keys(gateway)
    documents = (
        await gateway.signed("POST", "/certs/list", {"holder_id_number": LI, "purpose": "查看"})
    ).json()["certificates"]
    answer = await gateway.http.post(
        "/_admin/certificates/tamper",
        json={"certificate_id": documents[0]["id"], "part": "identifier"},
    )
    wrong = answer.json()["tampered"]
    body, check = wrong.rsplit(".", 1)
    assert body == documents[0]["id"].rsplit(".", 1)[0]
    assert certificates.check_character(body) != check
    listed = (
        await gateway.signed("POST", "/certs/list", {"holder_id_number": LI, "purpose": "查看"})
    ).json()["certificates"]
    [misnumbered] = [d for d in listed if d["id"] == wrong]
    assert verifies(keys, misnumbered)


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
