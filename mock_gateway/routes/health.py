"""Is the gateway there: /healthz for whoever runs the mock, /ping (signed) for the backend."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

bp = Blueprint("health")


@bp.get("/healthz")
async def healthz(request: Request) -> HTTPResponse:
    return json({"status": "ok"})


@bp.get("/ping")
async def ping(request: Request) -> HTTPResponse:
    # Signed like any business route: the backend's readiness check proves its key too.
    return json({"status": "ok"})
