"""Identity-token login, refresh, logout, the caller's profile and our public keys."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, empty, json
from sanic_ext import openapi

from server.body import SafeText, parse_body
from server.context import services
from server.guards import limit_caller, require_own_session, require_user

bp = Blueprint("auth")


class LoginBody(BaseModel):
    identity_token: str = Field(min_length=1, max_length=8192)
    device_id: SafeText = Field(default="", max_length=128)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


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
@openapi.summary("Exchange the provincial identity token for our access and refresh tokens")
@openapi.body({"application/json": LoginBody.model_json_schema()})
async def login(request: Request) -> HTTPResponse:
    c = services(request)
    await limit_caller(request, c.settings.login_rate_limit, "login-ip")
    body = parse_body(request, LoginBody)
    pair, user = await c.auth.login(body.identity_token, body.device_id, request.ctx.request_id)
    return _tokens(pair, user)


@bp.post("/api/v1/auth/refresh")
@openapi.summary("Rotate the refresh token; the old one stops working")
@openapi.body({"application/json": RefreshBody.model_json_schema()})
async def refresh(request: Request) -> HTTPResponse:
    c = services(request)
    await limit_caller(request, c.settings.refresh_rate_limit, "refresh-ip")
    body = parse_body(request, RefreshBody)
    pair, user = await c.auth.refresh(body.refresh_token, request.ctx.request_id)
    return _tokens(pair, user)


@bp.post("/api/v1/auth/logout")
@openapi.summary("End this session: the access token and its refresh family stop working")
@openapi.secured("bearer")
@require_own_session
async def logout(request: Request) -> HTTPResponse:
    await services(request).auth.logout(request.ctx.principal, request.ctx.request_id)
    return empty(status=204)


@bp.get("/api/v1/me")
@openapi.summary("The caller")
@openapi.secured("bearer")
@require_user
async def me(request: Request) -> HTTPResponse:
    p = request.ctx.principal
    return json(
        {
            "id": p.user_id,
            "name": p.name,
            "id_number_masked": p.id_number_masked,
            "roles": list(p.roles),
            "assurance": p.assurance,
        },
        ensure_ascii=False,
    )


@bp.get("/.well-known/jwks.json")
@openapi.summary("Our token-signing public keys, to verify our tokens and presentations")
async def jwks(request: Request) -> HTTPResponse:
    return json(services(request).tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})
