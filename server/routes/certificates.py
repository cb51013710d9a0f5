"""Electronic certificates, 亮证 presentations, the one-ID view and the citizen's access log."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from core.errors import HolderNotFound, InvalidRequest, InvalidToken
from server.body import SafeText, parse_body
from server.context import services
from server.guards import limit_caller, require_face, require_user
from services import audit, listing
from services.certificates import PURPOSE_ONE_ID
from services.holders import Holder
from services.one_id import one_id_views
from services.times import rfc3339

bp = Blueprint("certificates")


class PresentationBody(BaseModel):
    # Field names are echoed when unknown: control and bidi characters are refused first.
    fields: list[Annotated[SafeText, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=30
    )
    ttl_seconds: int = Field(default=300)


class VerifyBody(BaseModel):
    token: str = Field(min_length=1, max_length=4096)


async def holder_of(request: Request) -> Holder:
    try:
        return await services(request).holders.of_user(request.ctx.principal.user_id)
    except HolderNotFound as exc:
        # The token is good but its user is gone: for this caller, "log in again".
        raise InvalidToken(reason="user_gone") from exc


def _page(request: Request, rows: list, key) -> tuple[list, str | None]:
    return listing.page(
        rows, key, request.args.get("cursor"), listing.parse_limit(request.args.get("limit"))
    )


@bp.get("/api/v1/me/certificates")
@openapi.summary("The caller's electronic certificates (face-verified login)")
@openapi.secured("bearer")
@require_face
async def my_certificates(request: Request) -> HTTPResponse:
    found = await services(request).certificates.list_for(
        await holder_of(request), request.ctx.request_id
    )
    chosen, next_cursor = _page(request, found, lambda c: c.id)
    return json(
        {"items": [c.summary() for c in chosen], "next_cursor": next_cursor}, ensure_ascii=False
    )


@bp.get("/api/v1/me/certificates/<certificate_id:str>")
@openapi.summary("One certificate with its fields; 404 also for someone else's")
@openapi.secured("bearer")
@require_face
async def my_certificate(request: Request, certificate_id: str) -> HTTPResponse:
    found = await services(request).certificates.read(
        await holder_of(request), certificate_id, request.ctx.request_id
    )
    return json(found.detail(), ensure_ascii=False, headers={"Cache-Control": "no-store"})


@bp.post("/api/v1/me/certificates/<certificate_id:str>/presentations")
@openapi.summary("亮证: a QR-sized signed token showing the certificate, or chosen fields")
@openapi.secured("bearer")
@openapi.body({"application/json": PresentationBody.model_json_schema()})
@require_face
async def present(request: Request, certificate_id: str) -> HTTPResponse:
    body = parse_body(request, PresentationBody)
    issued = await services(request).presentations.present(
        await holder_of(request),
        certificate_id,
        body.fields,
        body.ttl_seconds,
        request.ctx.request_id,
    )
    return json(
        {"token": issued.token, "expires_at": rfc3339(issued.expires_at)},
        status=201,
        headers={"Cache-Control": "no-store"},
    )


@bp.post("/api/v1/presentations/verify")
@openapi.summary("Check a 亮证 token: valid with the disclosed fields, or why not")
@openapi.body({"application/json": VerifyBody.model_json_schema()})
async def verify(request: Request) -> HTTPResponse:
    c = services(request)
    await limit_caller(request, c.settings.verify_rate_limit, "verify-ip")
    body = parse_body(request, VerifyBody)
    answer = await c.presentations.verify(body.token, "verifier", request.ctx.request_id)
    return json(answer, ensure_ascii=False, headers={"Cache-Control": "no-store"})


@bp.get("/api/v1/me/one-id-items")
@openapi.summary("一证通办: per item, eligible or not, and the certificate for each material")
@openapi.parameter("eligible", str)
@openapi.secured("bearer")
@require_user
async def one_id_items(request: Request) -> HTTPResponse:
    wanted = request.args.get("eligible")
    if wanted not in (None, "true", "false"):
        raise InvalidRequest(fields=[{"field": "eligible", "problem": "true or false"}])
    c = services(request)
    certs = await c.certificates.list_for(
        await holder_of(request), request.ctx.request_id, purpose=PURPOSE_ONE_ID
    )
    views = one_id_views(await c.catalog.snapshot(), certs)
    if wanted is not None:
        views = [v for v in views if v["eligible"] == (wanted == "true")]
    chosen, next_cursor = _page(request, views, lambda v: v["code"])
    return json({"items": chosen, "next_cursor": next_cursor}, ensure_ascii=False)


@bp.get("/api/v1/me/access-log")
@openapi.summary("Who used the caller's certificates, when and for what purpose")
@openapi.secured("bearer")
@require_user
async def access_log(request: Request) -> HTTPResponse:
    entries, next_cursor = await audit.query(
        subject_user_id=request.ctx.principal.user_id,
        action_prefix="certificate.",
        cursor=request.args.get("cursor"),
        limit=listing.parse_limit(request.args.get("limit")),
    )
    items = [
        {k: e[k] for k in ("id", "at", "actor", "action", "target", "purpose", "outcome")}
        for e in entries
    ]
    return json({"items": items, "next_cursor": next_cursor}, ensure_ascii=False)
