"""The public catalog: the hottest path of the app, served from an in-process cache."""

from __future__ import annotations

import hashlib

import orjson
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from core.errors import ItemNotFound
from server.context import services
from server.openapi import schemas as sc
from server.openapi.operations import PAGING, Operation, Success, documented, header, path, query
from server.responses import answer
from services import listing
from services.catalog import MODES

bp = Blueprint("items")


def _serialised(body: dict) -> tuple[bytes, str]:
    data = orjson.dumps(body)
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _answer(request: Request, data: bytes, etag: str) -> HTTPResponse:
    sent = request.headers.get("if-none-match", "")
    if etag in (t.strip().removeprefix("W/") for t in sent.split(",")):
        return answer(b"", status=304, headers={"ETag": etag})
    return answer(data, headers={"ETag": etag, "Cache-Control": "no-cache"})


ETAG = {"ETag": {"required": True, "schema": {"type": "string"}}}
IF_NONE_MATCH = header(
    "If-None-Match",
    {"type": "string"},
    "the ETag of the copy the client holds: 304 while it is current",
    required=False,
)
NOT_MODIFIED = Success("the client's copy is current", headers=ETAG)
ITEM_EXAMPLE = {
    "code": "HJ001",
    "name": "户口迁移（市内）",
    "department": "嘉兴市公安局",
    "category": "户籍",
    "mode": "one_trip",
    "handheld": True,
    "livelihood": True,
    "secret": False,
    "online": True,
    "materials": [
        {
            "code": "HJ001-M1",
            "name": "居民身份证",
            "source": "certificate",
            "certificate_type": "111",
        },
        {
            "code": "HJ001-M2",
            "name": "居民户口簿",
            "source": "certificate",
            "certificate_type": "112",
        },
    ],
    "version": 3,
    "guide": {
        "address": "嘉兴市行政服务中心 A01 窗口",
        "hours": "工作日 9:00-17:00",
        "bring": ["HJ001-M1", "HJ001-M2"],
    },
}
FILTERS = (
    query(
        "q",
        {"type": "string", "maxLength": listing.MAX_QUERY_LENGTH},
        "words of the name or the department",
    ),
    query(
        "category",
        {"type": "string", "maxLength": listing.MAX_CATEGORY_LENGTH},
        "a category, exactly (e.g. 户籍)",
    ),
    query("mode", {"type": "string", "enum": list(MODES)}, "a handling mode"),
)


@bp.get("/api/v1/items")
@documented(
    Operation(
        "list_items",
        "Service items: search q (name, department), filters category and mode",
        "items",
        {
            200: Success("a page of items", sc.page_of(sc.ItemSummary), headers=ETAG),
            304: NOT_MODIFIED,
        },
        params=(*FILTERS, *PAGING, IF_NONE_MATCH),
    )
)
async def list_items(request: Request) -> HTTPResponse:
    # Keyed by the raw query string: a hit parses nothing (the cache is bounded, and the
    # same query written two ways merely takes two entries).
    key = ("list", request.query_string)
    catalog = services(request).catalog
    seen, items = await catalog.versioned_snapshot()
    cached = catalog.version.get(key)
    if cached is None:
        args = request.args
        limit = listing.parse_limit(args.get("limit"))
        found = listing.search(items, args.get("q"), args.get("category"), args.get("mode"))
        chosen, next_cursor = listing.page(found, lambda i: i.code, args.get("cursor"), limit)
        cached = _serialised({"items": [i.summary() for i in chosen], "next_cursor": next_cursor})
        catalog.version.put(key, cached, seen)
    return _answer(request, *cached)


@bp.get("/api/v1/items/<code:str>")
@documented(
    Operation(
        "get_item",
        "One service item with its materials, guide and version",
        "items",
        {200: Success("the item", sc.Item, headers=ETAG, example=ITEM_EXAMPLE), 304: NOT_MODIFIED},
        params=(path("code", "the item's code", 64), IF_NONE_MATCH),
        errors=(ItemNotFound,),
    )
)
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
