"""What every request passes through, as at the real gateway's front door: the fault knobs
first, then the signature check; on the way out, the answer that comes late or never.

App-wide rather than per blueprint, so an unknown path meets the same faults and the same
signature check as a known one. /_admin/ is exempt: the knobs must stay within reach while
the gateway plays dead.
"""

from __future__ import annotations

import asyncio

from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse

from mock_gateway.context import App, state
from mock_gateway.faults import Faults
from mock_gateway.routes.intake import INTAKE
from mock_gateway.web import error

ADMIN = "/_admin/"
UNSIGNED_PREFIXES = ("/idp/", ADMIN, "/healthz")
RESET_HEADER = "x-mock-reset"
MAX_HANG_SECONDS = 120
OVERSIZED_BYTES = 3 * 1024 * 1024
REDIRECT_TO = "http://elsewhere.invalid/login"


def install(app: App) -> None:
    app.on_request(faults_then_signature)
    app.on_response(late_or_lost_answer)


async def faults_then_signature(request: Request) -> HTTPResponse | None:
    if request.path.startswith(ADMIN):
        return None
    ctx = state(request)
    faults = ctx.faults
    if faults.down:
        if request.transport is not None and hasattr(request.transport, "abort"):
            request.transport.abort()  # what an unreachable host looks like on a socket
        return error(503, "down", "gateway down")
    await _held_while_hanging(faults)
    if delay := faults.delay_seconds(ctx.rng):
        await asyncio.sleep(delay)
    if faults.should_fail(ctx.rng):
        return error(503, "service_busy", "系统繁忙，请稍后再试")
    if wrong := _wrong_answer(faults):
        return wrong
    if request.path.startswith(UNSIGNED_PREFIXES):
        return None
    path_qs = request.path + (f"?{request.query_string}" if request.query_string else "")
    problem = ctx.verifier.check(request.method, path_qs, request.headers, request.body)
    if problem:
        return error(401, problem, "签名校验失败")
    return None


async def late_or_lost_answer(request: Request, response: BaseHTTPResponse) -> None:
    if request.path.startswith(ADMIN):
        return
    faults = state(request).faults
    if faults.answer_delay_ms:
        await asyncio.sleep(faults.answer_delay_ms / 1000)
    took_it = request.method == "POST" and request.path == INTAKE and response.status < 300
    if took_it and faults.should_reset():
        # The work is done; the caller never hears of it. On a socket the connection is
        # cut; in-process, MockGatewayTransport turns this header into the same error.
        response.headers[RESET_HEADER] = "1"
        if request.transport is not None and hasattr(request.transport, "abort"):
            request.transport.abort()


async def _held_while_hanging(faults: Faults) -> None:
    waited = 0.0
    while faults.hang and waited < MAX_HANG_SECONDS:
        await asyncio.sleep(0.05)
        waited += 0.05


def _wrong_answer(faults: Faults) -> HTTPResponse | None:
    """The answers a broken gateway or a meddling proxy gives instead of the real one."""
    if faults.garbage:
        return HTTPResponse(b"<html><body>502 Bad Gateway</body></html>", status=200)
    if faults.oversized:
        filler = b"x" * OVERSIZED_BYTES
        return HTTPResponse(
            b'{"filler":"' + filler + b'"}', status=200, content_type="application/json"
        )
    if faults.redirect:
        return HTTPResponse(status=302, headers={"Location": REDIRECT_TO})
    return None
