"""Route guards: who may call. 401 when we do not know the caller, 403 when we do."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from sanic.request import Request

from auth.tokens import Principal
from core.errors import AssuranceTooLow, Forbidden, InvalidToken
from server.context import services
from server.ratelimit import client_address


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken(reason="missing_bearer")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    principal = await services(request).sessions.authenticate(_bearer(request))
    request.ctx.principal = principal
    return principal


def require_own_session(handler: Callable) -> Callable:
    """For logout only: a token of ours, even one already revoked. A logout cut off halfway
    (the database failed between its two writes) must be possible to finish by retrying,
    and a token can only end its own session."""

    @wraps(handler)
    async def guarded(request: Request, *args, **kwargs):
        request.ctx.principal = services(request).sessions.tokens.verify(_bearer(request))
        return await handler(request, *args, **kwargs)

    return guarded


def require_user(handler: Callable) -> Callable:
    @wraps(handler)
    async def guarded(request: Request, *args, **kwargs):
        await authenticate(request)
        return await handler(request, *args, **kwargs)

    return guarded


def require_face(handler: Callable) -> Callable:
    @wraps(handler)
    async def guarded(request: Request, *args, **kwargs):
        principal = await authenticate(request)
        if principal.assurance != "face":
            raise AssuranceTooLow()
        return await handler(request, *args, **kwargs)

    return guarded


def require_ops(handler: Callable) -> Callable:
    @wraps(handler)
    async def guarded(request: Request, *args, **kwargs):
        principal = await authenticate(request)
        if "ops" not in principal.roles:
            raise Forbidden()
        return await handler(request, *args, **kwargs)

    return guarded


async def limit_caller(request: Request, rate: str, scope: str) -> None:
    """One hit against `rate` for the caller's address (X-Forwarded-For only through the
    trusted proxies); raises RateLimited when over."""
    c = services(request)
    await c.limiter.hit(rate, scope, client_address(request, c.settings.trusted_proxies))
