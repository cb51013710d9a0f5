"""The OpenAPI 3.1 document, built from the app's routes and what each one declares.

Every route must carry an `Operation` (or be marked `undocumented`): a route without one
stops the build, so the document cannot silently miss a route. Schemas come from the
pydantic models (request bodies are the very models the handlers parse with), their
`$defs` lifted into `components/schemas`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from sanic import Sanic

from core import errors as e
from server.errors import status_for
from server.openapi import schemas as s
from server.openapi.operations import STATIC_PAGES, Operation, Success

REF = "#/components/schemas/{model}"
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Schemas the models refer to by name but pydantic does not know as models.
EXTRA_SCHEMAS = s.FORM_SCHEMAS
AUTH_ERRORS: dict[str, tuple[type[e.LingpaoError], ...]] = {
    "none": (),
    "user": (e.InvalidToken, e.AccountDisabled),
    "face": (e.InvalidToken, e.AccountDisabled, e.AssuranceTooLow),
    "ops": (e.InvalidToken, e.AccountDisabled, e.Forbidden),
    "own_session": (e.InvalidToken,),
    "gateway": (e.InvalidSignature,),
}
BODY_ERRORS = (e.EmptyBody, e.MalformedJson, e.UnsupportedMediaType, e.InvalidRequest)
# What Sanic itself may answer on any route, in our envelope (server/errors.py).
ANY_ROUTE = (
    (400, "bad_request", "请求头无效 Invalid request header"),
    (414, "uri_too_long", "请求地址过长 Request URI too long"),
    (431, "request_header_too_large", "请求头过大 Request headers too large"),
    (500, "internal_error", "服务器内部错误，请稍后重试 Internal error; quote the request id"),
)
PAYLOAD_TOO_LARGE = (413, "payload_too_large", "请求体过大 Request body too large")
RETRY_AFTER = {
    "required": True,
    "description": "seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 0},
}
REQUEST_ID = {"$ref": "#/components/headers/X-Request-ID"}
# Whatever a signed-in caller is answered is about them (server/app.py `no_store`).
PERSONAL = ("user", "face", "ops", "own_session")
NO_STORE = {"required": True, "schema": {"type": "string", "const": "no-store"}}


def build(app: Sanic, title: str, version: str, description: str) -> dict[str, Any]:
    operations = _operations(app)
    components = _components(operations)
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for route_path, method, op in operations:
        paths[route_path][method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": "/"}],
        "tags": sorted(({"name": t} for t in {op.tag for _, _, op in operations}), key=str),
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "headers": {
                "X-Request-ID": {
                    "required": True,
                    "description": "the client's own when it sent a sane one; quote it to us",
                    "schema": {"type": "string"},
                }
            },
        },
    }


def _operations(app: Sanic) -> list[tuple[str, str, Operation]]:
    found: list[tuple[str, str, Operation]] = []
    for route in app.router.routes:
        uri = "/" + route.path.lstrip("/")
        if not set(route.methods) - SKIPPED_METHODS:
            continue  # Sanic's own HEAD twin of a GET route
        if getattr(route.extra, "static", False):
            continue  # files: documented by `static_page`
        if not hasattr(route.handler, "__openapi__"):
            raise LookupError(f"route {uri} declares no Operation (server.openapi.documented)")
        op = route.handler.__openapi__
        if op is None:
            continue
        for method in sorted(set(route.methods) - SKIPPED_METHODS):
            found.append((re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", uri), method, op))
    found.extend((page, "GET", op) for page, op in STATIC_PAGES.items())
    return found


def _components(operations: list[tuple[str, str, Operation]]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(s.Error, "serialization")]
    for _, _, op in operations:
        if op.body is not None:
            models.append((op.body, "validation"))
        models.extend((r.model, "serialization") for r in op.responses.values() if r.model)
    _, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    schemas = _placed(top.get("$defs", {}))
    return dict(sorted({**schemas, **EXTRA_SCHEMAS}.items()))


def _placed(value: Any) -> Any:
    """`value` with each {"x-form-value": true} marker turned into the FormValue $ref."""
    if isinstance(value, dict):
        if value.get("x-form-value") is True:
            return dict(s.FORM_VALUE_REF)
        return {k: _placed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placed(v) for v in value]
    return value


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": [p.as_dict() for p in op.params],
        "responses": {
            **{str(status): _success(r, op.auth) for status, r in op.responses.items()},
            **_errors(op),
        },
        "security": [{"bearer": []}] if op.auth in PERSONAL else [],
    }
    if op.description:
        doc["description"] = op.description
    if op.has_body:
        schema = _ref(op.body) if op.body is not None else dict(op.body_schema or {})
        media: dict[str, Any] = {"schema": schema}
        if op.body_example is not None:
            media["example"] = op.body_example
        doc["requestBody"] = {"required": True, "content": {op.body_media_type: media}}
    return doc


def _success(r: Success, auth: str) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": REQUEST_ID}
    if auth in PERSONAL:
        headers["Cache-Control"] = NO_STORE
    doc: dict[str, Any] = {
        "description": r.description,
        "headers": {**headers, **{k: dict(v) for k, v in r.headers.items()}},
    }
    if r.model is not None:
        media: dict[str, Any] = {"schema": _ref(r.model)}
        if r.example is not None:
            media["example"] = r.example
        doc["content"] = {r.media_type: media}
    elif r.media_type != "application/json":
        doc["content"] = {r.media_type: {"schema": {"type": "string"}}}
    return doc


def _errors(op: Operation) -> dict[str, Any]:
    raised: list[tuple[int, str, str]] = [
        (status_for(cls), cls.code, cls.message)
        for cls in (*AUTH_ERRORS[op.auth], *op.errors, *_query_errors(op))
    ]
    if op.has_body:
        raised += [(status_for(cls), cls.code, cls.message) for cls in BODY_ERRORS]
        raised.append(PAYLOAD_TOO_LARGE)
    if op.rate_limited:
        raised.append((429, e.RateLimited.code, e.RateLimited.message))
    if op.uses_dependencies:
        raised.append((503, e.Unavailable.code, e.Unavailable.message))
    raised += [(status, code, message) for status, code, message in ANY_ROUTE]
    raised += [(status, code, code) for status, code in op.framework_errors]
    by_status: dict[int, dict[str, str]] = defaultdict(dict)
    for status, code, message in raised:
        by_status[status].setdefault(code, message)
    return {str(status): _error(status, by_status[status]) for status in sorted(by_status)}


def _query_errors(op: Operation) -> tuple[type[e.LingpaoError], ...]:
    # Every query parameter is checked (a limit out of range, a cursor we did not issue, a
    # value not in its enum), and a bad one is 400 invalid_request.
    return (e.InvalidRequest,) if any(p.location == "query" for p in op.params) else ()


def _error(status: int, codes: dict[str, str]) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": REQUEST_ID}
    if status in (429, 503):
        headers["Retry-After"] = RETRY_AFTER
    examples = {
        code: {"value": {"error": {"code": code, "message": message, "request_id": "8f3c2a…"}}}
        for code, message in codes.items()
    }
    return {
        "description": "error code: " + ", ".join(codes),
        "headers": headers,
        "content": {"application/json": {"schema": _ref(s.Error), "examples": examples}},
        "x-error-codes": list(codes),
    }
