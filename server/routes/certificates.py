"""Electronic certificates, 亮证 presentations, the one-ID view and the citizen's access log."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from core import errors as e
from core.errors import HolderNotFound, InvalidRequest, InvalidToken
from server.body import SafeText, parse_body
from server.context import services
from server.guards import limit_caller, require_face, require_user
from server.openapi import schemas as sc
from server.openapi.operations import (
    GATEWAY_ERRORS,
    PAGING,
    Operation,
    Success,
    documented,
    path,
    query,
)
from server.responses import fast_json
from services import audit, listing
from services.holders import Holder
from services.times import rfc3339

bp = Blueprint("certificates")


class PresentationBody(BaseModel):
    # Field names are echoed when unknown: control and bidi characters are refused first.
    fields: list[Annotated[SafeText, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=30
    )
    ttl_seconds: int = Field(default=300, ge=60, le=600, description="how long it can be shown")


class VerifyBody(BaseModel):
    token: str = Field(min_length=1, max_length=4096)


CERTIFICATE_EXAMPLE = {
    "id": "1.2.156.3005.2.111.11330400002570581X.0000001.001.F",
    "type": "111",
    "name": "居民身份证",
    "issuer": "嘉兴市公安局",
    "issued_at": "2016-04-12T00:00:00Z",
    "expires_at": "2036-04-12T00:00:00Z",
    "status": "valid",
    "fields": {
        "name": "张三",
        "gender": "男",
        "ethnicity": "汉",
        "birth_date": "1990-01-01",
        "id_number": "330402199001011230",
    },
    "signature_valid": True,
    "status_reason": None,
    "issuer_code": "11330400002570581X",
}
CERTIFICATE_ID = path("certificate_id", "the certificate's id", 128)


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
@documented(
    Operation(
        "list_certificates",
        "The caller's electronic certificates (face-verified login)",
        "certificates",
        {200: Success("a page of the caller's certificates", sc.page_of(sc.CertificateSummary))},
        auth="face",
        params=PAGING,
        errors=GATEWAY_ERRORS,
    )
)
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
@documented(
    Operation(
        "get_certificate",
        "One certificate with its fields; 404 also for someone else's",
        "certificates",
        {
            200: Success(
                "the certificate, its seal checked", sc.Certificate, example=CERTIFICATE_EXAMPLE
            )
        },
        description="A certificate whose issuer seal fails is answered with "
        "signature_valid false and status invalid_seal, never as valid.",
        auth="face",
        params=(CERTIFICATE_ID,),
        errors=(e.CertificateNotFound, *GATEWAY_ERRORS),
    )
)
@require_face
async def my_certificate(request: Request, certificate_id: str) -> HTTPResponse:
    found = await services(request).certificates.read(
        await holder_of(request), certificate_id, request.ctx.request_id
    )
    return fast_json(found.detail(), headers={"Cache-Control": "no-store"})


@bp.post("/api/v1/me/certificates/<certificate_id:str>/presentations")
@documented(
    Operation(
        "create_presentation",
        "亮证: a QR-sized signed token showing the certificate, or chosen fields",
        "certificates",
        {201: Success("the token to show", sc.Presentation)},
        auth="face",
        params=(CERTIFICATE_ID,),
        body=PresentationBody,
        body_example={"fields": ["name", "birth_date"], "ttl_seconds": 120},
        errors=(e.CertificateNotFound, e.Conflict, e.InvalidRequest, *GATEWAY_ERRORS),
    )
)
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
@documented(
    Operation(
        "verify_presentation",
        "Check a 亮证 token: valid with the disclosed fields, or why not",
        "certificates",
        {200: Success("valid with the disclosed fields, or the reason it is not", sc.Verification)},
        body=VerifyBody,
        errors=GATEWAY_ERRORS,
        rate_limited=True,
    )
)
async def verify(request: Request) -> HTTPResponse:
    c = services(request)
    await limit_caller(request, c.settings.verify_rate_limit, "verify-ip")
    body = parse_body(request, VerifyBody)
    answer = await c.presentations.verify(body.token, "verifier", request.ctx.request_id)
    return json(answer, ensure_ascii=False, headers={"Cache-Control": "no-store"})


@bp.get("/api/v1/me/one-id-items")
@documented(
    Operation(
        "list_one_id_items",
        "一证通办: per item, eligible or not, and the certificate for each material",
        "certificates",
        {200: Success("a page of items as they stand for the caller", sc.page_of(sc.OneIdItem))},
        auth="user",
        params=(
            query("eligible", {"type": "string", "enum": ["true", "false"]}, "only these"),
            *PAGING,
        ),
        errors=GATEWAY_ERRORS,
    )
)
@require_user
async def one_id_items(request: Request) -> HTTPResponse:
    wanted = request.args.get("eligible")
    if wanted not in (None, "true", "false"):
        raise InvalidRequest(fields=[{"field": "eligible", "problem": "true or false"}])
    try:
        views = await services(request).one_id.items(
            request.ctx.principal.user_id, request.ctx.request_id
        )
    except HolderNotFound as exc:
        raise InvalidToken(reason="user_gone") from exc
    if wanted is not None:
        views = [v for v in views if v["eligible"] == (wanted == "true")]
    chosen, next_cursor = _page(request, views, lambda v: v["code"])
    return fast_json({"items": chosen, "next_cursor": next_cursor})


@bp.get("/api/v1/me/access-log")
@documented(
    Operation(
        "list_access_log",
        "Who used the caller's certificates, when and for what purpose",
        "certificates",
        {200: Success("a page of accesses, newest first", sc.page_of(sc.AccessLogEntry))},
        auth="user",
        params=PAGING,
    )
)
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
