"""The published document: valid OpenAPI 3.1, every route of the contract in it with its
errors, and every example true to its own schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from server.openapi.document import _errors
from server.openapi.operations import PAGING, Operation, Success
from tests.conftest import conformance

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "API.md"
# The API's routes in the contract (../shared/API.md), parameters as {}: the mock gateway's
# are its own, and GET /ops/ is the console page.
CONTRACT_ROUTES = """GET /healthz;GET /readyz;GET /metrics;POST /api/v1/auth/login;
POST /api/v1/auth/refresh;POST /api/v1/auth/logout;GET /api/v1/me;GET /api/v1/items;
GET /api/v1/items/{};GET /api/v1/me/one-id-items;GET /api/v1/me/certificates;
GET /api/v1/me/certificates/{};POST /api/v1/me/certificates/{}/presentations;
POST /api/v1/presentations/verify;POST /api/v1/applications;GET /api/v1/applications;
GET /api/v1/applications/{};POST /api/v1/uploads;POST /api/v1/gateway/callbacks;
GET /api/v1/ops/items;PUT /api/v1/ops/items/{}/mode;GET /api/v1/ops/kpis;
GET /api/v1/ops/audit;GET /api/v1/ops/outbox;POST /api/v1/ops/outbox/{}/requeue"""

# Routes the contract names that are not served yet, each with the issue that adds it: a
# route the contract gains unannounced, or one served since, fails the test below.
NOT_YET_SERVED = {
    "GET /api/v1/applications/{}/evaluation": "好差评 (issue 28)",
    "POST /api/v1/applications/{}/evaluation": "好差评 (issue 28)",
    "GET /api/v1/ops/evaluations": "好差评 (issue 28)",
    "POST /api/v1/ops/evaluations/{}/appeal": "好差评 (issue 28)",
    "POST /api/v1/ops/evaluations/{}/appeal-decision": "好差评 (issue 28)",
    "POST /api/v1/ops/evaluations/{}/rectification": "好差评 (issue 28)",
    "GET /log/checkpoint": "transparency log (issue 29)",
    "GET /log/key": "transparency log (issue 29)",
    "GET /log/tile/{}/{}[.p/{}]": "transparency log (issue 29)",
    "GET /api/v1/me/access-log/{}/proof": "transparency log (issue 29)",
    "GET /api/v1/ops/log/consistency": "transparency log (issue 29)",
    "GET /api/v1/me/sessions": "a citizen's own data (issue 35)",
    "DELETE /api/v1/me/sessions/{}": "a citizen's own data (issue 35)",
    "GET /api/v1/me/export": "a citizen's own data (issue 35)",
    "POST /api/v1/me/deletion": "a citizen's own data (issue 35)",
}


@pytest.fixture(scope="module")
def doc():
    return conformance().document


def shape(path: str) -> str:
    return re.sub(r"\{\w*\}", "{}", path)


def contract_routes() -> set[str]:
    return {r.strip() for r in CONTRACT_ROUTES.split(";")}


@pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/API.md is not beside this clone")
def test_the_list_of_contract_routes_is_the_contract_s():
    found = re.findall(r"^\| (GET|POST|PUT|DELETE) (/[^ ?|]+)", CONTRACT.read_text(), re.M)
    skipped = ("/idp", "/_admin", "/gateway", "/ops/", "/certificates")
    named = {f"{m} {shape(p)}" for m, p in found if not p.startswith(skipped)}
    assert named == contract_routes() | set(NOT_YET_SERVED)
    assert not contract_routes() & set(NOT_YET_SERVED)


def test_the_document_is_valid_openapi_3_1(doc):
    validate(doc)
    assert doc["openapi"] == "3.1.0"


def test_every_route_of_the_contract_is_in_the_document(doc):
    documented = {
        f"{method.upper()} {shape(path)}" for path, ops in doc["paths"].items() for method in ops
    }
    assert contract_routes() <= documented, contract_routes() - documented


def test_every_operation_lists_its_errors_with_the_envelope_and_their_codes(doc):
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
            assert "500" in errors, (method, path)
            for status, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
                assert response["x-error-codes"], (method, path, status)
            if op["security"]:
                assert "invalid_token" in errors["401"]["x-error-codes"], (method, path)


def test_the_errors_routes_raise_are_listed_where_they_happen(doc):
    switch = doc["paths"]["/api/v1/ops/items/{code}/mode"]["put"]["responses"]
    assert switch["409"]["x-error-codes"] == ["mode_blocked"]
    assert switch["412"]["x-error-codes"] == ["version_mismatch"]
    assert switch["428"]["x-error-codes"] == ["if_match_required"]
    filing = doc["paths"]["/api/v1/applications"]["post"]["responses"]
    assert "materials_missing" in filing["422"]["x-error-codes"]
    assert "idempotency_key_required" in filing["400"]["x-error-codes"]
    assert "Retry-After" in filing["503"]["headers"]
    login = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert login["429"]["headers"]["Retry-After"]["required"] is True


def test_every_route_with_query_parameters_lists_invalid_request(doc):
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            if any(p["in"] == "query" for p in op.get("parameters", [])):
                codes = op["responses"]["400"]["x-error-codes"]
                assert "invalid_request" in codes, (method, path)


def test_invalid_request_is_derived_from_query_parameters_not_spelled_out():
    page = Operation("a_page", "a page", "t", {200: Success("ok")}, params=PAGING)
    assert "invalid_request" in _errors(page)["400"]["x-error-codes"]
    bare = Operation("a_thing", "a thing", "t", {200: Success("ok")})
    assert "invalid_request" not in _errors(bare)["400"]["x-error-codes"]


def test_parameters_carry_their_constraints(doc):
    params = {p["name"]: p for p in doc["paths"]["/api/v1/items"]["get"]["parameters"]}
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert params["mode"]["schema"]["enum"] == ["in_person", "one_trip", "zero_trip"]
    switch = doc["paths"]["/api/v1/ops/items/{code}/mode"]["put"]
    assert any(p["name"] == "If-Match" and p["required"] for p in switch["parameters"])
    filing = doc["paths"]["/api/v1/applications"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in filing["parameters"])
    assert filing["requestBody"]["required"] is True


@pytest.mark.parametrize(
    "path, method, status",
    [
        ("/api/v1/auth/login", "post", "200"),
        ("/api/v1/items/{code}", "get", "200"),
        ("/api/v1/me/certificates/{certificate_id}", "get", "200"),
        ("/api/v1/applications", "post", "202"),
    ],
)
def test_the_main_operations_have_examples_true_to_their_schema(doc, path, method, status):
    media = doc["paths"][path][method]["responses"][status]["content"]["application/json"]
    schema = {**media["schema"], "components": conformance().components}
    errors = list(Draft202012Validator(schema).iter_errors(media["example"]))
    assert not errors, [e.message for e in errors]


def test_request_examples_are_true_to_their_schema(doc):
    for methods in doc["paths"].values():
        for op in methods.values():
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            if media and "example" in media:
                schema = {**media["schema"], "components": doc["components"]}
                assert not list(Draft202012Validator(schema).iter_errors(media["example"]))
