"""Applications (办件): filing, the caller's list and one application, and the gateway's
status callbacks."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from core import errors as e
from server.body import SAFE_PATTERN, SafeText, bounded_json, parse_body
from server.context import services
from server.guards import require_user
from server.openapi import schemas as sc
from server.openapi.operations import (
    GATEWAY_ERRORS,
    PAGING,
    Operation,
    Success,
    documented,
    header,
    path,
)
from services import listing
from services.applications import Filing
from services.applications.service import IDEMPOTENCY_KEY_PATTERN

bp = Blueprint("applications")

Code = Annotated[SafeText, StringConstraints(min_length=1, max_length=64)]
Ref = Annotated[SafeText, StringConstraints(min_length=1, max_length=128)]
# How deep a form nests: the document spells the levels out (server/openapi/schemas.py),
# and the server refuses what the document does not describe.
FORM_DEPTH = 3
Form = Annotated[
    dict[str, object],
    AfterValidator(lambda form: bounded_json(form, max_depth=FORM_DEPTH)),
    Field(
        json_schema_extra={
            "propertyNames": {"pattern": SAFE_PATTERN},
            # pydantic would look the $ref up among its own models: set after it.
            "additionalProperties": {"x-form-value": True},
            "description": "the item's form: values at most two containers deep, 1,000 "
            "entries in all",
        }
    ),
]


def _keys_are_codes(schema: dict[str, Any]) -> None:
    # pydantic files a dict's value schema under patternProperties keyed by the key's
    # pattern; said plainly, every key is a material code and every value a MaterialRef.
    (value,) = schema.pop("patternProperties").values()
    schema["additionalProperties"] = value
    schema["propertyNames"]["pattern"] = SAFE_PATTERN


def _exactly_one_of(schema: dict[str, Any]) -> None:
    for prop in schema["properties"].values():
        prop.pop("default", None)
    schema["oneOf"] = [{"required": [name]} for name in schema["properties"]]


class MaterialRef(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_of)

    # Exactly one is given, and never as null: absent is the only "not this one".
    certificate_id: Ref = None  # type: ignore[assignment]
    upload_id: Ref = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def exactly_one(self) -> MaterialRef:
        if (self.certificate_id is None) == (self.upload_id is None):
            raise ValueError("give exactly one of certificate_id and upload_id")
        return self

    def as_ref(self) -> dict[str, str]:
        if self.certificate_id is not None:
            return {"certificate_id": self.certificate_id}
        return {"upload_id": str(self.upload_id)}


class CallbackBody(BaseModel):
    """What the gateway pushes; read only once its signature holds."""

    idempotency_key: str = Field(description="our application id, sent as the key on intake")
    status: str = Field(examples=["accepted", "approved", "rejected"])
    result_certificate_id: str | None = Field(default=None, description="when one was issued")


class ApplicationBody(BaseModel):
    # Unknown fields are refused, not ignored: an owner or a status is never the client's.
    model_config = ConfigDict(extra="forbid")

    item_code: Code
    materials: dict[Code, MaterialRef] = Field(
        default_factory=dict, max_length=50, json_schema_extra=_keys_are_codes
    )
    form: Form = Field(default_factory=dict, max_length=100)

    def filing(self) -> Filing:
        return Filing(self.item_code, {k: v.as_ref() for k, v in self.materials.items()}, self.form)


NO_STORE = {"Cache-Control": "no-store"}
APPLICATION_EXAMPLE = {
    "id": "5f0c8a2e-6b1d-4c3a-9e7f-1a2b3c4d5e6f",
    "item_code": "HJ001",
    "status": "queued",
    "history": [{"status": "queued", "at": "2026-11-26T08:00:00Z"}],
    "created_at": "2026-11-26T08:00:00Z",
    "materials_verified": True,
    "result_certificate_id": None,
}
IDEMPOTENCY_KEY = header(
    "Idempotency-Key",
    {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    "the client's own id for this filing (a UUID, say): the same key and body answer the "
    "same application; the same key with another body is 409 idempotency_key_reused",
    required=True,
)


@bp.post("/api/v1/applications")
@documented(
    Operation(
        "file_application",
        "File an application once: Idempotency-Key required; 202 queued",
        "applications",
        {
            202: Success(
                "queued: it reaches the provincial gateway even while the gateway is down",
                sc.Application,
                headers={
                    "Location": {"required": True, "schema": {"type": "string"}},
                    "Idempotent-Replayed": {
                        "required": False,
                        "description": "true when an earlier filing with this key is answered",
                        "schema": {"type": "string", "const": "true"},
                    },
                },
                example=APPLICATION_EXAMPLE,
            )
        },
        description="409 item_requires_visit carries the item's guide; 422 "
        "materials_missing lists each material and what keeps it from serving.",
        auth="user",
        params=(IDEMPOTENCY_KEY,),
        body=ApplicationBody,
        body_example={
            "item_code": "HJ001",
            "materials": {
                "HJ001-M1": {
                    "certificate_id": "1.2.156.3005.2.111.11330400002570581X.0000001.001.F"
                },
                "HJ001-M2": {"upload_id": "u-7d2f8e4b"},
            },
            "form": {"迁入地址": "嘉兴市南湖区某路 1 号"},
        },
        errors=(
            e.IdempotencyKeyRequired,
            e.IdempotencyKeyReused,
            e.IdempotencyKeyInFlight,
            e.ItemNotFound,
            e.ItemRequiresVisit,
            e.MaterialsMissing,
            *GATEWAY_ERRORS,
        ),
    )
)
@require_user
async def file_application(request: Request) -> HTTPResponse:
    body = parse_body(request, ApplicationBody)
    filed = await services(request).applications.file(
        request.ctx.principal.user_id,
        request.headers.get("idempotency-key"),
        body.filing(),
        request.ctx.request_id,
    )
    headers = {**NO_STORE, "Location": f"/api/v1/applications/{filed.application.id}"}
    if filed.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json(filed.application.as_dict(), status=202, headers=headers, ensure_ascii=False)


@bp.get("/api/v1/applications")
@documented(
    Operation(
        "list_applications",
        "The caller's applications, newest first",
        "applications",
        {200: Success("a page of applications", sc.page_of(sc.Application))},
        auth="user",
        params=PAGING,
    )
)
@require_user
async def my_applications(request: Request) -> HTTPResponse:
    found, next_cursor = await services(request).applications.page(
        request.ctx.principal.user_id,
        request.args.get("cursor"),
        listing.parse_limit(request.args.get("limit")),
    )
    return json(
        {"items": [a.as_dict() for a in found], "next_cursor": next_cursor},
        headers=NO_STORE,
        ensure_ascii=False,
    )


@bp.get("/api/v1/applications/<application_id:str>")
@documented(
    Operation(
        "get_application",
        "One application with its status history; 404 also for someone else's",
        "applications",
        {200: Success("the application", sc.Application, example=APPLICATION_EXAMPLE)},
        auth="user",
        params=(path("application_id", "the application's id", 64),),
        errors=(e.ApplicationNotFound,),
    )
)
@require_user
async def my_application(request: Request, application_id: str) -> HTTPResponse:
    found = await services(request).applications.get(request.ctx.principal.user_id, application_id)
    return json(found.as_dict(), headers=NO_STORE, ensure_ascii=False)


@bp.post("/api/v1/gateway/callbacks")
@documented(
    Operation(
        "gateway_callback",
        "Status pushed by the provincial gateway (HMAC-signed)",
        "gateway",
        {200: Success("taken; changed says whether the status moved", sc.CallbackAnswer)},
        description="Signed as our calls to the gateway are: X-App-Key, X-Timestamp, "
        "X-Nonce and X-Signature = hex HMAC-SHA256 of the method, path, timestamp, nonce "
        "and body digest. A nonce is taken once; a stale timestamp is refused.",
        auth="gateway",
        params=tuple(
            header(name, {"type": "string", "maxLength": 256}, "", required=True)
            for name in ("X-App-Key", "X-Timestamp", "X-Nonce", "X-Signature")
        ),
        body=CallbackBody,
        errors=(e.InvalidRequest, e.ApplicationNotFound),
    )
)
async def gateway_callback(request: Request) -> HTTPResponse:
    path_qs = request.path + (f"?{request.query_string}" if request.query_string else "")
    changed = await services(request).applications.accept_callback(
        request.method, path_qs, request.body or b"", request.headers
    )
    return json({"ok": True, "changed": changed})
