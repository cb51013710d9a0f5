"""The certificate library (证照库): issuers' keys, types, and a holder's certificates, which
are only shown to a caller that names the purpose of the use (用证事由)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from mock_gateway import certificates
from mock_gateway.context import state
from mock_gateway.web import error, json_object

bp = Blueprint("certificates")


@bp.get("/certs/issuers")
async def cert_issuers(request: Request) -> HTTPResponse:
    return json({"issuers": state(request).library.issuer_keys()}, ensure_ascii=False)


@bp.get("/certs/types")
async def cert_types(request: Request) -> HTTPResponse:
    return json({"types": certificates.type_list()}, ensure_ascii=False)


@bp.post("/certs/list")
async def certs_list(request: Request) -> HTTPResponse:
    body = json_object(request)
    if not body or not body.get("holder_id_number") or not body.get("purpose"):
        return error(400, "purpose_required", "查询证照须提供持证人和用证事由")
    documents = state(request).library.list_for(str(body["holder_id_number"]))
    return json({"certificates": documents}, ensure_ascii=False)


@bp.post("/certs/get")
async def certs_get(request: Request) -> HTTPResponse:
    body = json_object(request)
    if (
        not body
        or not body.get("holder_id_number")
        or not body.get("purpose")
        or not body.get("certificate_id")
    ):
        return error(400, "purpose_required", "调取证照须提供证照标识、持证人和用证事由")
    library = state(request).library
    document = library.get(str(body["certificate_id"]), str(body["holder_id_number"]))
    if document is None:
        return error(404, "certificate_not_found", "证照不存在")
    return json({"certificate": document}, ensure_ascii=False)
