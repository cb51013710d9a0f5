"""The public catalog: the hottest path of the app, served from an in-process cache."""

from __future__ import annotations

import hashlib

import orjson
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, empty, raw
from sanic_ext import openapi

from core.errors import ItemNotFound
from server.context import services
from services import listing

bp = Blueprint("items")


def _serialised(body: dict) -> tuple[bytes, str]:
    data = orjson.dumps(body)
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _answer(request: Request, data: bytes, etag: str) -> HTTPResponse:
    sent = request.headers.get("if-none-match", "")
    if etag in (t.strip().removeprefix("W/") for t in sent.split(",")):
        return empty(status=304, headers={"ETag": etag})
    return raw(
        data, content_type="application/json", headers={"ETag": etag, "Cache-Control": "no-cache"}
    )


@bp.get("/api/v1/items")
@openapi.summary("Service items: search q (name, department), filters category and mode")
@openapi.parameter("q", str)
@openapi.parameter("category", str)
@openapi.parameter("mode", str)
@openapi.parameter("cursor", str)
@openapi.parameter("limit", int)
async def list_items(request: Request) -> HTTPResponse:
    args = request.args
    key = (
        "list",
        args.get("q"),
        args.get("category"),
        args.get("mode"),
        args.get("cursor"),
        args.get("limit"),
    )
    catalog = services(request).catalog
    seen, items = await catalog.versioned_snapshot()
    cached = catalog.version.get(key)
    if cached is None:
        limit = listing.parse_limit(args.get("limit"))
        found = listing.search(items, args.get("q"), args.get("category"), args.get("mode"))
        chosen, next_cursor = listing.page(found, lambda i: i.code, args.get("cursor"), limit)
        cached = _serialised({"items": [i.summary() for i in chosen], "next_cursor": next_cursor})
        catalog.version.put(key, cached, seen)
    return _answer(request, *cached)


@bp.get("/api/v1/items/<code:str>")
@openapi.summary("One service item with its materials, guide and version")
async def get_item(request: Request, code: str) -> HTTPResponse:
    catalog = services(request).catalog
    seen, items = await catalog.versioned_snapshot()
    cached = catalog.version.get(("item", code))
    if cached is None:
        found = next((i for i in items if i.code == code), None)
        if found is None:
            raise ItemNotFound()
        cached = _serialised(found.detail())
        catalog.version.put(("item", code), cached, seen)
    return _answer(request, *cached)
