"""The published OpenAPI document and its reading page.

Built once per worker from the routes themselves (`server.openapi.document`), then served
as bytes: mobile teams generate their clients from it.
"""

from __future__ import annotations

import orjson
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, html, raw

from server.openapi import document
from server.openapi.operations import undocumented
from server.settings import DOCS_PATH

bp = Blueprint("docs")

TITLE = "Lingpao 零跑 API"
VERSION = "1.0"
DESCRIPTION = (
    "Backend of a mobile mini-app for zero-trip government services (最多跑一次). "
    "Errors share one envelope, `Error`; each operation lists the codes it can answer."
)
# ReDoc renders the document in the browser; the page is nothing but that.
PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Lingpao 零跑 API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="__SPEC__"></redoc>
<script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
</body></html>"""


@bp.get(DOCS_PATH + "/openapi.json")
@undocumented
async def openapi_json(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    if ctx.openapi is None:
        built = document.build(request.app, TITLE, VERSION, DESCRIPTION)
        ctx.openapi = orjson.dumps(built)
    return raw(ctx.openapi, content_type="application/json")


@bp.get(DOCS_PATH)
@undocumented
async def reading_page(request: Request) -> HTTPResponse:
    return html(PAGE.replace("__SPEC__", DOCS_PATH + "/openapi.json"))
