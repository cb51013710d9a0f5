"""The one map from exceptions to the contract's error envelope.

    {"error": {"code": "snake_case", "message": "...", "request_id": "..."}}

Each exception type is mapped here and nowhere else; the generic 500 comes last and never
carries the exception's text or a traceback. The exception tree itself is drawn in
`core.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sanic import Sanic
from sanic import exceptions as sanic_exc
from sanic.request import Request
from sanic.response import HTTPResponse, json
from tortoise.exceptions import DBConnectionError

from core import errors as e
from server.observability import request_id_of

log = logging.getLogger("lingpao.errors")

# Status per class; a class not listed takes its nearest listed ancestor's (the MRO decides),
# so a row is here only where the status changes.
STATUS: dict[type[e.LingpaoError], int] = {
    e.LingpaoError: 400,
    e.UnsupportedMediaType: 415,
    e.UploadTooLarge: 413,
    e.UnsafeDocument: 422,
    e.PreconditionRequired: 428,
    e.MaterialsMissing: 422,
    e.InvalidSignature: 401,
    e.NotFound: 404,
    e.Conflict: 409,
    e.VersionMismatch: 412,
    e.RateLimited: 429,
    e.StoredDataCorrupt: 500,
    e.AuthError: 401,
    e.Forbidden: 403,
    e.Unavailable: 503,
    e.GatewayRejected: 502,
    e.GatewayBadAnswer: 502,
}


def status_of(exc: e.LingpaoError) -> int:
    return status_for(type(exc))


def status_for(kind: type[e.LingpaoError]) -> int:
    for cls in kind.__mro__:
        if cls in STATUS:
            return STATUS[cls]
    raise AssertionError("LingpaoError is in the table")  # pragma: no cover


def envelope(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    extra: Mapping[str, object] | None = None,
    top: Mapping[str, object] | None = None,
) -> HTTPResponse:
    """The contract's error body; `extra` goes inside `error`, `top` beside it."""
    rid = request_id_of(request)
    body = {
        **(top or {}),
        "error": {"code": code, "message": message, "request_id": rid, **(extra or {})},
    }
    all_headers = {"X-Request-ID": rid, **(headers or {})}
    return json(body, status=status, headers=all_headers, ensure_ascii=False)


def error_response(request: Request, exc: e.LingpaoError) -> HTTPResponse:
    status = status_of(exc)
    headers = {}
    if status == 401 and isinstance(exc, e.AuthError):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if exc.reason:
        what = "auth refused" if isinstance(exc, e.AuthError) else "refused"
        # A 500 raised on purpose is our fault (stored data that fails its check): say so.
        log.log(
            logging.ERROR if status == 500 else logging.INFO,
            "%s: %s (%s)",
            what,
            exc.code,
            exc.reason,
            extra={"request_id": request_id_of(request)},
        )
    return envelope(request, status, exc.code, exc.message, headers, extra=exc.details)


# A database or Redis that refuses, drops or stalls a connection: the dependency is down,
# which is a 503 with Retry-After (never a 500, and never naming what is down).
DEPENDENCY_DOWN: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    DBConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
)


def register_errors(app: Sanic) -> None:
    @app.exception(e.LingpaoError)
    async def lingpao_error(request: Request, exc: e.LingpaoError) -> HTTPResponse:
        return error_response(request, exc)

    @app.exception(*DEPENDENCY_DOWN)
    async def dependency_down(request: Request, exc: Exception) -> HTTPResponse:
        log.warning(
            "dependency down on %s: %s",
            _route_of(request),
            type(exc).__name__,
            extra={"request_id": request_id_of(request)},
        )
        return error_response(request, e.Unavailable(reason=type(exc).__name__))

    @app.exception(sanic_exc.RequestCancelled)  # type: ignore[arg-type] # a CancelledError
    async def client_gone(request: Request, exc: BaseException) -> HTTPResponse:
        # The client hung up before its answer (Sanic cancels the handler). Nobody reads
        # this response; without it Sanic's default made a 500, counted and logged as our
        # fault. 499 is nginx's "client closed request".
        return envelope(request, 499, "client_closed_request", "客户端已断开 Client went away")

    @app.exception(sanic_exc.NotFound)
    async def not_found(request: Request, exc: Exception) -> HTTPResponse:
        return envelope(request, 404, "not_found", "没有这个地址 No such route")

    @app.exception(sanic_exc.MethodNotAllowed)
    async def method_not_allowed(request: Request, exc: sanic_exc.MethodNotAllowed) -> HTTPResponse:
        allowed = ", ".join(_allowed_methods(request, exc))
        return envelope(
            request,
            405,
            "method_not_allowed",
            "该地址不支持此方法 Method not allowed",
            {"Allow": allowed} if allowed else None,
        )

    @app.exception(sanic_exc.PayloadTooLarge)
    async def too_large(request: Request, exc: Exception) -> HTTPResponse:
        # Sanic says which part was too large only in its message: headers are 431, not 413.
        if "header" in str(exc).lower():
            return envelope(
                request, 431, "request_header_too_large", "请求头过大 Request headers too large"
            )
        return envelope(request, 413, "payload_too_large", "请求体过大 Request body too large")

    @app.exception(sanic_exc.URITooLong)
    async def uri_too_long(request: Request, exc: Exception) -> HTTPResponse:
        return envelope(request, 414, "uri_too_long", "请求地址过长 Request URI too long")

    @app.exception(sanic_exc.HeaderNotFound, sanic_exc.InvalidHeader)
    async def bad_header(request: Request, exc: Exception) -> HTTPResponse:
        return envelope(request, 400, "bad_request", "请求头无效 Invalid request header")

    @app.exception(sanic_exc.SanicException)
    async def other_http(request: Request, exc: sanic_exc.SanicException) -> HTTPResponse:
        status = getattr(exc, "status_code", 500) or 500
        if status >= 500:
            return await unexpected(request, exc)
        return envelope(request, status, "bad_request", "请求无效 Bad request")

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception) -> HTTPResponse:
        # The log keeps the traceback for us (ID numbers are redacted by the log filter);
        # the client gets only the request id to quote.
        log.error(
            "unhandled %s on %s",
            type(exc).__name__,
            _route_of(request),
            exc_info=exc,
            extra={"request_id": request_id_of(request)},
        )
        return envelope(
            request,
            500,
            "internal_error",
            "服务器内部错误，请稍后重试 Internal error; quote the request id",
        )


def _allowed_methods(request: Request, exc: sanic_exc.MethodNotAllowed) -> list[str]:
    """The methods the path does answer, for the 405's `Allow` header."""
    named = getattr(exc, "allowed_methods", None)
    if named:
        return sorted(named)
    # Sanic names them only for paths without parameters (`/items`, not `/items/<code>`):
    # ask the router, method by method, as it would route the same path.
    router = request.app.router
    host = request.headers.get("host")
    allowed: list[str] = []
    for method in sorted(router.ALLOWED_METHODS):
        try:
            router.get(request.path, method, host)
        except sanic_exc.SanicException:
            continue
        allowed.append(method)
    return allowed


def _route_of(request: Request) -> str:
    route = getattr(request, "route", None)
    return route.path if route is not None else "<unmatched>"
