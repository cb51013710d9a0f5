"""The identity provider: sign-in for the demo people, and the JWKS the backend verifies
identity tokens with."""

from __future__ import annotations

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse, json

from mock_gateway.context import state
from mock_gateway.idp import TOKEN_LIFETIME_SECONDS
from mock_gateway.web import error, json_object

SIGN_IN = "/idp/token"
BROWSER_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "content-type",
    "Access-Control-Max-Age": "600",
}

bp = Blueprint("idp")


@bp.post(SIGN_IN)
async def idp_token(request: Request) -> HTTPResponse:
    body = json_object(request)
    if body is None:
        return error(400, "bad_request", "请求体必须是 JSON 对象")
    assurance = body.get("assurance", "face")
    if assurance not in ("face", "sms"):
        return error(400, "bad_assurance", "assurance must be face or sms")
    ctx = state(request)
    person = ctx.register.find(str(body.get("id_number", "")))
    if person is None or person.name != body.get("name"):
        return error(401, "unknown_person", "身份信息核验未通过")
    token = ctx.idp.issue(person, assurance, ctx.config.app_key)
    return json({"identity_token": token, "expires_in": TOKEN_LIFETIME_SECONDS})


@bp.get("/idp/jwks.json")
async def idp_jwks(request: Request) -> HTTPResponse:
    return json(state(request).idp.jwks())


def allow_browser_sign_in(app: Sanic) -> None:
    """Development only: the ops console (another origin) signs in from the browser, as the
    provincial sign-in page would; any origin may ask, since the token is bound to our app
    key and the demo people are public. The real IdP hands tokens over by redirect.

    On the app, not the blueprint: the preflight route and the header exist only in
    development, and the blueprint is shared by every app this process builds."""

    @app.options(SIGN_IN)
    async def idp_token_preflight(request: Request) -> HTTPResponse:
        return HTTPResponse(status=204, headers=BROWSER_CORS)

    @app.on_response
    async def allow_browsers(request: Request, response: BaseHTTPResponse) -> None:
        if request.path == SIGN_IN:
            response.headers["Access-Control-Allow-Origin"] = "*"
