"""The ops console: static files at /ops/, the little configuration the page reads, and the
headers that keep the page's data from ever running as code.

The page (server/static/ops/) speaks only the public API. What it cannot know by itself —
whether this is development, where the mock IdP takes sign-ins, where production sends an
ops officer to sign in — comes from `GET /ops/config.json`, built from the settings.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sanic import Blueprint
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse, json, redirect

from server.admin import DEMO_OPS
from server.openapi import schemas as sc
from server.openapi.operations import Operation, Success, documented, static_page, undocumented
from server.settings import Settings

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "ops"
PREFIX = "/ops"

# The demo population every environment's mock gateway ships (API.md). Synthetic people
# whose numbers the README prints; offered by the page in development only.
DEMO_IDENTITIES = (
    (DEMO_OPS[1], DEMO_OPS[0], "运维人员 ops"),
    ("张三", "330402199001011230", "市民 citizen"),
    ("李四", "330411198506152348", "市民 citizen"),
)

bp = Blueprint("console")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings) -> str:
    """No inline script or style, no framing; the page talks to us, and in development to
    the mock IdP as well (a cross-origin POST it answers with CORS)."""
    connect = "'self'" if settings.production else f"'self' {_origin(settings.gateway_url)}"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def console_config(settings: Settings) -> dict:
    if settings.production:
        return {
            "environment": "production",
            "idp_token_url": None,
            "sign_in_url": settings.ops_sign_in_url or None,
            "demo_identities": [],
        }
    return {
        "environment": "development",
        "idp_token_url": settings.gateway_url.rstrip("/") + "/idp/token",
        "sign_in_url": settings.ops_sign_in_url or None,
        "demo_identities": [
            {"name": name, "id_number": number, "note": note}
            for name, number, note in DEMO_IDENTITIES
        ],
    }


@bp.get(PREFIX)
@undocumented
async def without_slash(request: Request) -> HTTPResponse:
    return redirect(PREFIX + "/", status=301)


@bp.get(PREFIX + "/config.json")
@documented(
    Operation(
        "get_console_config",
        "What the ops console needs to sign in: environment, mock IdP, sign-in page",
        "console",
        {200: Success("the console's configuration", sc.ConsoleConfig)},
        uses_dependencies=False,
    )
)
async def config(request: Request) -> HTTPResponse:
    return json(console_config(request.app.ctx.settings), ensure_ascii=False)


bp.static(
    PREFIX + "/",
    STATIC_DIR,
    name="ops_console",
    index="index.html",
    directory_view=False,
)


# The page itself, as the contract lists it: static routes carry no handler of ours.
static_page(
    PREFIX + "/",
    Operation(
        "ops_console",
        "The ops console, a web page (sign-in in the page; see docs/ops-console.md)",
        "console",
        {200: Success("the page, served with a strict CSP", media_type="text/html")},
        uses_dependencies=False,
    ),
)


@bp.on_response
async def page_headers(request: Request, response: BaseHTTPResponse) -> None:
    # The blueprint's own middleware: only its routes get these headers. A fresh copy of
    # the page is fetched at every load, so a fix reaches ops without a hard reload.
    response.headers["Content-Security-Policy"] = content_security_policy(request.app.ctx.settings)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-cache")
