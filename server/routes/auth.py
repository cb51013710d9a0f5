"""Identity-token login, refresh, logout, the caller's profile and our public keys."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, empty, json

from core import errors as e
from server.body import SafeText, parse_body
from server.context import services
from server.guards import limit_caller, require_own_session, require_user
from server.openapi import schemas as s
from server.openapi.operations import Operation, Success, documented
from server.responses import fast_json

bp = Blueprint("auth")


class LoginBody(BaseModel):
    identity_token: str = Field(
        min_length=1, max_length=8192, description="the provincial IdP's signed token, used once"
    )
    device_id: SafeText = Field(default="", max_length=128)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


NO_STORE = {"Cache-Control": {"required": True, "schema": {"type": "string", "const": "no-store"}}}
USER_EXAMPLE = {
    "id": "0b6a1c9e-3f27-4a5e-9c1d-7d2f8e4b6a10",
    "name": "张三",
    "id_number_masked": "3304**********1230",
    "roles": ["citizen"],
    "assurance": "face",
}
TOKENS = Success(
    "our tokens: a short access token and a rotating refresh token",
    s.Tokens,
    headers=NO_STORE,
    example={
        "access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6ImxwLTEifQ.eyJzdWIiOi…",
        "refresh_token": "rt_4kQ9x…",
        "token_type": "Bearer",
        "expires_in": 900,
        "user": USER_EXAMPLE,
    },
)


def _tokens(pair, user: dict) -> HTTPResponse:
    return json(
        {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "token_type": "Bearer",
            "expires_in": pair.expires_in,
            "user": user,
        },
        headers={"Cache-Control": "no-store"},
        ensure_ascii=False,
    )


@bp.post("/api/v1/auth/login")
@documented(
    Operation(
        "login",
        "Exchange the provincial identity token for our access and refresh tokens",
        "auth",
        {200: TOKENS},
        body=LoginBody,
        body_example={"identity_token": "eyJhbGciOiJFUzI1NiJ9…", "device_id": "iPhone-张三"},
        errors=(e.InvalidIdentityToken, e.AccountDisabled, e.IdentityProviderUnavailable),
        rate_limited=True,
    )
)
async def login(request: Request) -> HTTPResponse:
    c = services(request)
    await limit_caller(request, c.settings.login_rate_limit, "login-ip")
    body = parse_body(request, LoginBody)
    pair, user = await c.auth.login(body.identity_token, body.device_id, request.ctx.request_id)
    return _tokens(pair, user)


@bp.post("/api/v1/auth/refresh")
@documented(
    Operation(
        "refresh",
        "Rotate the refresh token; the old one stops working",
        "auth",
        {200: TOKENS},
        description="A refresh token used twice revokes its whole family (401 "
        "refresh_token_reused): at most one of two concurrent refreshes succeeds.",
        body=RefreshBody,
        errors=(e.InvalidToken, e.RefreshTokenReused, e.AccountDisabled),
        rate_limited=True,
    )
)
async def refresh(request: Request) -> HTTPResponse:
    c = services(request)
    await limit_caller(request, c.settings.refresh_rate_limit, "refresh-ip")
    body = parse_body(request, RefreshBody)
    pair, user = await c.auth.refresh(body.refresh_token, request.ctx.request_id)
    return _tokens(pair, user)


@bp.post("/api/v1/auth/logout")
@documented(
    Operation(
        "logout",
        "End this session: the access token and its refresh family stop working",
        "auth",
        {204: Success("the session is over, on every instance at once")},
        auth="own_session",
    )
)
@require_own_session
async def logout(request: Request) -> HTTPResponse:
    await services(request).auth.logout(request.ctx.principal, request.ctx.request_id)
    return empty(status=204)


@bp.get("/api/v1/me")
@documented(
    Operation(
        "get_me",
        "The caller",
        "auth",
        {200: Success("the caller", s.User, example=USER_EXAMPLE)},
        auth="user",
    )
)
@require_user
async def me(request: Request) -> HTTPResponse:
    p = request.ctx.principal
    return fast_json(
        {
            "id": p.user_id,
            "name": p.name,
            "id_number_masked": p.id_number_masked,
            "roles": list(p.roles),
            "assurance": p.assurance,
        }
    )


@bp.get("/.well-known/jwks.json")
@documented(
    Operation(
        "get_jwks",
        "Our token-signing public keys, to verify our tokens and presentations",
        "auth",
        {200: Success("a JSON Web Key Set", s.Jwks)},
        uses_dependencies=False,
    )
)
async def jwks(request: Request) -> HTTPResponse:
    return json(services(request).tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})
