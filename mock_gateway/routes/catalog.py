"""The item catalog (事项库), as the backend's catalog sync fetches it."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from mock_gateway.context import state

bp = Blueprint("catalog")


@bp.get("/catalog/items")
async def catalog_items(request: Request) -> HTTPResponse:
    ctx = state(request)
    ctx.catalog_fetches += 1
    return json({"items": list(ctx.items.values())}, ensure_ascii=False)
