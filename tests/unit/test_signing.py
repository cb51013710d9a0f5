"""The backend's signing reproduces the shared vectors and verifies the gateway's callbacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.gateway import signing

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "signing.json").read_text("utf-8"))


def algorithm(case: dict) -> str:
    return case.get("algorithm", "hmac-sha256")


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_the_backend_reproduces_every_shared_signing_vector(case):
    body = case["body"].encode()
    assert (
        signing.string_to_sign(
            case["method"], case["path_qs"], case["timestamp"], case["nonce"], body, algorithm(case)
        ).decode()
        == case["string_to_sign"]
    )
    assert (
        signing.signature(
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


def headers_for(case: dict, app_key: str = "app") -> dict:
    return {
        "x-app-key": app_key,
        "x-timestamp": case["timestamp"],
        "x-nonce": case["nonce"],
        "x-signature": case["signature"],
    }


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_a_vector_verifies_inside_its_window(case):
    now = int(case["timestamp"]) + 10
    assert (
        signing.verify_headers(
            "app",
            case["secret"],
            case["method"],
            case["path_qs"],
            case["body"].encode(),
            headers_for(case),
            now=now,
            algorithm=algorithm(case),
        )
        is None
    )


def test_a_signature_made_with_one_algorithm_is_refused_by_a_side_configured_for_the_other():
    sha, sm3 = VECTORS["cases"][1], VECTORS["cases"][4]
    assert sha["path_qs"] == sm3["path_qs"] and sm3["algorithm"] == "hmac-sm3"
    for case, other in ((sha, "hmac-sm3"), (sm3, "hmac-sha256")):
        refused = signing.verify_headers(
            "app",
            case["secret"],
            case["method"],
            case["path_qs"],
            case["body"].encode(),
            headers_for(case),
            now=int(case["timestamp"]),
            algorithm=other,
        )
        assert refused == "bad_signature"


def test_a_changed_body_a_stale_time_and_a_foreign_app_are_refused():
    case = VECTORS["cases"][1]
    now = int(case["timestamp"])
    args = ("app", case["secret"], case["method"], case["path_qs"])
    assert signing.verify_headers(*args, b"{}", headers_for(case), now=now) == "bad_signature"
    assert (
        signing.verify_headers(*args, case["body"].encode(), headers_for(case), now=now + 301)
        == "stale_timestamp"
    )
    assert (
        signing.verify_headers(*args, case["body"].encode(), headers_for(case, "other"), now=now)
        == "unknown_app"
    )
    assert signing.verify_headers(*args, case["body"].encode(), {}, now=now) == (
        "missing_signature"
    )


def test_sign_headers_uses_a_fresh_nonce_each_time():
    a = signing.sign_headers("app", "s", "GET", "/ping", b"", 1764000000)
    b = signing.sign_headers("app", "s", "GET", "/ping", b"", 1764000000)
    assert a["X-Nonce"] != b["X-Nonce"] and a["X-Signature"] != b["X-Signature"]
    assert a["X-Timestamp"] == "1764000000"
