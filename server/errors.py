"""The one map from exceptions to the contract's error envelope.

    {"error": {"code": "snake_case", "message": "...", "request_id": "..."}}

Each exception type is mapped here and nowhere else; the generic 500 comes last and never
carries the exception's text or a traceback.
"""

from __future__ import annotations

import logging

from sanic import Sanic
from sanic import exceptions as sanic_exc
from sanic.request import Request
from sanic.response import HTTPResponse, json

from auth import errors as auth
from server.observability import request_id_of
from services import errors as domain

log = logging.getLogger("lingpao.errors")


class HttpError(Exception):
    """An error of the HTTP layer itself (content type, body framing)."""

    status = 400
    code = "bad_request"
    message = "请求无效 Bad request"

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or type(self).message
        self.details = details
        super().__init__(self.message)


class UnsupportedMediaType(HttpError):
    """The body is not declared as application/json."""

    status = 415
    code = "unsupported_media_type"
    message = "请求体必须是 application/json Body must be application/json"


class MalformedJson(HttpError):
    """The body does not parse as JSON."""

    code = "malformed_json"
    message = "请求体不是合法的 JSON Body is not valid JSON"


class PreconditionRequired(HttpError):
    """A conditional write came without If-Match."""

    status = 428
    code = "if_match_required"
    message = "修改须带 If-Match 版本号 If-Match with the item version is required"


class EmptyBody(HttpError):
    """A JSON body was required and none was sent."""

    code = "empty_body"
    message = "请求体为空 Request body is empty"


# Status per domain error; the most specific class in an exception's MRO wins.
DOMAIN_STATUS: dict[type[domain.LingpaoError], int] = {
    domain.LingpaoError: 400,
    domain.InvalidRequest: 400,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.VersionMismatch: 412,
    domain.RateLimited: 429,
    domain.Unavailable: 503,
    domain.GatewayError: 503,
    domain.GatewayTimeout: 503,
    domain.GatewayRejected: 502,
    domain.GatewayBadAnswer: 502,
}


AUTH_STATUS: dict[type[auth.AuthError], int] = {
    auth.AuthError: 401,
    auth.InvalidIdentityToken: 401,
    auth.InvalidToken: 401,
    auth.RefreshTokenReused: 401,
    auth.AccountDisabled: 403,
    auth.AssuranceTooLow: 403,
    auth.Forbidden: 403,
    auth.IdentityProviderUnavailable: 503,
}


def envelope(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> HTTPResponse:
    rid = request_id_of(request)
    body = {"error": {"code": code, "message": message, "request_id": rid, **extra}}
    all_headers = {"X-Request-ID": rid, **(headers or {})}
    return json(body, status=status, headers=all_headers, ensure_ascii=False)


def _status_for(exc: Exception, table: dict) -> int:
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return 400


def register_errors(app: Sanic) -> None:
    @app.exception(domain.LingpaoError)
    async def domain_error(request: Request, exc: domain.LingpaoError):
        headers = {}
        if isinstance(exc, domain.Unavailable | domain.RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return envelope(request, _status_for(exc, DOMAIN_STATUS), exc.code, exc.message, headers,
                        **exc.details)

    @app.exception(auth.AuthError)
    async def auth_error(request: Request, exc: auth.AuthError):
        status = _status_for(exc, AUTH_STATUS)
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        elif status == 503:
            headers["Retry-After"] = "5"
        if exc.reason:
            log.info("auth refused: %s (%s)", exc.code, exc.reason,
                     extra={"request_id": request_id_of(request)})
        return envelope(request, status, exc.code, exc.message, headers)

    @app.exception(HttpError)
    async def http_error(request: Request, exc: HttpError):
        return envelope(request, exc.status, exc.code, exc.message, **exc.details)

    @app.exception(sanic_exc.NotFound)
    async def not_found(request: Request, exc: Exception):
        return envelope(request, 404, "not_found", "没有这个地址 No such route")

    @app.exception(sanic_exc.MethodNotAllowed)
    async def method_not_allowed(request: Request, exc: sanic_exc.MethodNotAllowed):
        allowed = ", ".join(sorted(getattr(exc, "allowed_methods", None) or []))
        return envelope(
            request, 405, "method_not_allowed", "该地址不支持此方法 Method not allowed",
            {"Allow": allowed} if allowed else None,
        )

    @app.exception(sanic_exc.PayloadTooLarge)
    async def too_large(request: Request, exc: Exception):
        return envelope(request, 413, "payload_too_large", "请求体过大 Request body too large")

    @app.exception(sanic_exc.HeaderNotFound, sanic_exc.InvalidHeader)
    async def bad_header(request: Request, exc: Exception):
        return envelope(request, 400, "bad_request", "请求头无效 Invalid request header")

    @app.exception(sanic_exc.SanicException)
    async def other_http(request: Request, exc: sanic_exc.SanicException):
        status = getattr(exc, "status_code", 500) or 500
        if status >= 500:
            return await unexpected(request, exc)
        return envelope(request, status, "bad_request", "请求无效 Bad request")

    @app.exception(Exception)
    async def unexpected(request: Request, exc: Exception):
        # The log keeps the traceback for us (ID numbers are redacted by the log filter);
        # the client gets only the request id to quote.
        log.error(
            "unhandled %s on %s", type(exc).__name__, _route_of(request),
            exc_info=exc, extra={"request_id": request_id_of(request)},
        )
        return envelope(
            request, 500, "internal_error",
            "服务器内部错误，请稍后重试 Internal error; quote the request id",
        )


def _route_of(request: Request) -> str:
    route = getattr(request, "route", None)
    return route.path if route is not None else "<unmatched>"
