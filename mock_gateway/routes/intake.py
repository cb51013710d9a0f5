"""Application intake (办件受理): the backend files applications here, idempotently on its
key, and reads them back; their progress goes out as callbacks (mock_gateway/callbacks.py)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from mock_gateway.context import state
from mock_gateway.intake import IntakeError
from mock_gateway.web import error, json_object

INTAKE = "/intake/applications"

bp = Blueprint("intake")


@bp.post(INTAKE)
async def intake_submit(request: Request) -> HTTPResponse:
    key = request.headers.get("idempotency-key", "")
    body = json_object(request)
    if not key or body is None:
        return error(400, "bad_request", "缺少幂等键或申请内容")
    intake = state(request).intake
    try:
        application, created = intake.submit(request.headers["x-app-key"], key, body)
    except IntakeError as exc:
        return error(exc.status, exc.code, exc.message)
    return json(intake.public(application), status=201 if created else 200, ensure_ascii=False)


@bp.get(INTAKE + "/<application_id:str>")
async def intake_get(request: Request, application_id: str) -> HTTPResponse:
    intake = state(request).intake
    application = intake.by_id.get(application_id)
    if application is None:
        return error(404, "application_not_found", "办件不存在")
    return json(intake.public(application), ensure_ascii=False)
