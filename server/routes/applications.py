"""Applications (办件): filing, the caller's list and one application, and the gateway's
status callbacks."""

from __future__ import annotations

from typing import Annotated

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
from sanic_ext import openapi

from server.body import SafeText, bounded_json, parse_body
from server.context import services
from server.guards import require_user
from services import listing
from services.applications import Filing

bp = Blueprint("applications")

Code = Annotated[SafeText, StringConstraints(min_length=1, max_length=64)]
Ref = Annotated[SafeText, StringConstraints(min_length=1, max_length=128)]
# Free-form, but bounded: see `bounded_json`.
Form = Annotated[dict[str, object], AfterValidator(bounded_json)]


class MaterialRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_id: Ref | None = None
    upload_id: Ref | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> MaterialRef:
        if (self.certificate_id is None) == (self.upload_id is None):
            raise ValueError("give exactly one of certificate_id and upload_id")
        return self

    def as_ref(self) -> dict[str, str]:
        if self.certificate_id is not None:
            return {"certificate_id": self.certificate_id}
        return {"upload_id": str(self.upload_id)}


class ApplicationBody(BaseModel):
    # Unknown fields are refused, not ignored: an owner or a status is never the client's.
    model_config = ConfigDict(extra="forbid")

    item_code: Code
    materials: dict[Code, MaterialRef] = Field(default_factory=dict, max_length=50)
    form: Form = Field(default_factory=dict, max_length=100)

    def filing(self) -> Filing:
        return Filing(self.item_code, {k: v.as_ref() for k, v in self.materials.items()}, self.form)


NO_STORE = {"Cache-Control": "no-store"}


@bp.post("/api/v1/applications")
@openapi.summary("File an application once: Idempotency-Key required; 202 queued")
@openapi.secured("bearer")
@openapi.body({"application/json": ApplicationBody.model_json_schema()})
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
@openapi.summary("The caller's applications, newest first")
@openapi.secured("bearer")
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
@openapi.summary("One application with its status history; 404 also for someone else's")
@openapi.secured("bearer")
@require_user
async def my_application(request: Request, application_id: str) -> HTTPResponse:
    found = await services(request).applications.get(request.ctx.principal.user_id, application_id)
    return json(found.as_dict(), headers=NO_STORE, ensure_ascii=False)


@bp.post("/api/v1/gateway/callbacks")
@openapi.summary("Status pushed by the provincial gateway (HMAC-signed)")
async def gateway_callback(request: Request) -> HTTPResponse:
    path_qs = request.path + (f"?{request.query_string}" if request.query_string else "")
    changed = await services(request).applications.accept_callback(
        request.method, path_qs, request.body or b"", request.headers
    )
    return json({"ok": True, "changed": changed})
