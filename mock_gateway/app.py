"""The mock provincial gateway as a Sanic app: IdP, register, certificates, catalog, intake."""

from __future__ import annotations

import asyncio
import random
from urllib.parse import urlsplit

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from mock_gateway import catalog, certificates, holdings, population, results, signing
from mock_gateway.config import MockConfig
from mock_gateway.faults import Faults
from mock_gateway.idp import TOKEN_LIFETIME_SECONDS, IdentityProvider
from mock_gateway.intake import Intake, IntakeError

UNSIGNED_PREFIXES = ("/idp/", "/_admin/", "/healthz")
RESET_HEADER = "x-mock-reset"
INTAKE = "/intake/applications"
CALLBACK_SENDERS = 32
SIGN_IN = "/idp/token"
MAX_HANG_SECONDS = 120
OVERSIZED_BYTES = 3 * 1024 * 1024
REDIRECT_TO = "http://elsewhere.invalid/login"


def error(status: int, code: str, message: str) -> HTTPResponse:
    # The real gateway's own error shape, not Lingpao's: the backend must translate it.
    return json({"error": code, "message": message}, status=status, ensure_ascii=False)


def create_app(
    config: MockConfig,
    *,
    name: str = "mock_gateway",
    callback_transport: httpx.AsyncBaseTransport | None = None,
) -> Sanic:
    app = Sanic(name, configure_logging=False)
    # No OpenAPI document: the mock needs none, and sanic-ext's start banner would announce
    # documentation on the mock's port, where a reader of the run log looks for the API's.
    app.config.OAS = False
    # No automatic OPTIONS/HEAD routes: they slow every start and the backend sends neither.
    app.config.HTTP_AUTO_OPTIONS = False
    app.config.HTTP_AUTO_HEAD = False
    app.config.CORS_AUTOMATIC_OPTIONS = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.config = config
    people = population.generate(config.seed)
    app.ctx.register = population.Register(people)
    app.ctx.library = holdings.build(people, config.seed)
    app.ctx.items = {item["code"]: item for item in catalog.build()}
    app.ctx.idp = IdentityProvider(config.issuer, config.seed)
    app.ctx.faults = Faults()
    app.ctx.catalog_fetches = 0
    app.ctx.rng = random.Random(config.seed)
    app.ctx.verifier = signing.Verifier({config.app_key: config.app_secret}, config.signature)

    @app.before_server_start
    async def start(app: Sanic) -> None:
        # Callbacks go out through a fixed set of senders, as a real gateway's pusher does:
        # a burst of thousands of applications queues its callbacks here, rather than all
        # racing for the client's connections and failing the pool's wait (PoolTimeout),
        # which then piled retries on top of the burst.
        app.ctx.callback_senders = asyncio.Semaphore(CALLBACK_SENDERS)
        app.ctx.callback_http = httpx.AsyncClient(
            transport=callback_transport or _callback_sockets(),  # its own connection limit
            timeout=5.0,
        )
        app.ctx.intake = Intake(
            app.ctx.items,
            _certificate_checker(app),
            _deliverer(app),
            config.intake_delay_seconds,
            results.issuer(app.ctx.library, app.ctx.register),
        )

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await app.ctx.intake.close()
        await app.ctx.callback_http.aclose()

    @app.on_request
    async def faults_then_signature(request: Request):
        if request.path.startswith("/_admin/"):
            return None
        faults: Faults = app.ctx.faults
        if faults.down:
            if request.transport is not None and hasattr(request.transport, "abort"):
                request.transport.abort()  # what an unreachable host looks like on a socket
            return error(503, "down", "gateway down")
        await _held_while_hanging(faults)
        if delay := faults.delay_seconds(app.ctx.rng):
            await asyncio.sleep(delay)
        if faults.should_fail(app.ctx.rng):
            return error(503, "service_busy", "系统繁忙，请稍后再试")
        if wrong := _wrong_answer(faults):
            return wrong
        if request.path.startswith(UNSIGNED_PREFIXES):
            return None
        path_qs = request.path + (f"?{request.query_string}" if request.query_string else "")
        problem = app.ctx.verifier.check(request.method, path_qs, request.headers, request.body)
        if problem:
            return error(401, problem, "签名校验失败")
        return None

    @app.on_response
    async def late_or_lost_answer(request: Request, response):  # noqa: ANN001 - Sanic's
        if request.path.startswith("/_admin/"):
            return
        faults: Faults = app.ctx.faults
        if faults.answer_delay_ms:
            await asyncio.sleep(faults.answer_delay_ms / 1000)
        took_it = request.method == "POST" and request.path == INTAKE and response.status < 300
        if took_it and faults.should_reset():
            # The work is done; the caller never hears of it. On a socket the connection is
            # cut; in-process, MockGatewayTransport turns this header into the same error.
            response.headers[RESET_HEADER] = "1"
            if request.transport is not None and hasattr(request.transport, "abort"):
                request.transport.abort()

    _routes(app)
    if config.development:
        _browser_sign_in(app)
    return app


def _browser_sign_in(app: Sanic) -> None:
    """Development only: the ops console (another origin) signs in from the browser, as the
    provincial sign-in page would; any origin may ask, since the token is bound to our app
    key and the demo people are public. The real IdP hands tokens over by redirect."""
    cors = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "content-type",
        "Access-Control-Max-Age": "600",
    }

    @app.options(SIGN_IN)
    async def idp_token_preflight(request: Request):
        return HTTPResponse(status=204, headers=cors)

    @app.on_response
    async def allow_browsers(request: Request, response):  # noqa: ANN001 - Sanic's
        if request.path == SIGN_IN:
            response.headers["Access-Control-Allow-Origin"] = "*"


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


def _certificate_checker(app: Sanic):
    def check(certificate_id: str, holder: str, type_code: str) -> bool:
        document = app.ctx.library.get(certificate_id, holder)
        return bool(
            document and document["status"] == "valid" and document["type_code"] == type_code
        )

    return check


def _callback_sockets() -> AiohttpTransport:
    """Callbacks over aiohttp's pool, as Lingpao's own gateway client sends: httpcore's
    walks and polls every pooled connection on each call, which was 88% of this mock's CPU
    under a filing burst, on the machine the bench shares with the worker it measures."""

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=CALLBACK_SENDERS, limit_per_host=CALLBACK_SENDERS)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return AiohttpTransport(client=session)


def _deliverer(app: Sanic):
    config: MockConfig = app.ctx.config

    async def deliver(url: str, payload: dict) -> bool:
        async with app.ctx.callback_senders:
            return await send(url, payload)

    async def send(url: str, payload: dict) -> bool:
        body = orjson.dumps(payload)
        parts = urlsplit(url)
        path_qs = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = signing.signed_headers(
            config.app_key, config.app_secret, "POST", path_qs, body, algorithm=config.signature
        )
        headers["Content-Type"] = "application/json"
        response = await app.ctx.callback_http.post(url, content=body, headers=headers)
        return 200 <= response.status_code < 300

    return deliver


def _json_object(request: Request) -> dict | None:
    try:
        body = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _routes(app: Sanic) -> None:
    @app.get("/healthz")
    async def healthz(request: Request):
        return json({"status": "ok"})

    @app.post(SIGN_IN)
    async def idp_token(request: Request):
        body = _json_object(request)
        if body is None:
            return error(400, "bad_request", "请求体必须是 JSON 对象")
        assurance = body.get("assurance", "face")
        if assurance not in ("face", "sms"):
            return error(400, "bad_assurance", "assurance must be face or sms")
        person = app.ctx.register.find(str(body.get("id_number", "")))
        if person is None or person.name != body.get("name"):
            return error(401, "unknown_person", "身份信息核验未通过")
        token = app.ctx.idp.issue(person, assurance, app.ctx.config.app_key)
        return json({"identity_token": token, "expires_in": TOKEN_LIFETIME_SECONDS})

    @app.get("/idp/jwks.json")
    async def idp_jwks(request: Request):
        return json(app.ctx.idp.jwks())

    @app.get("/ping")
    async def ping(request: Request):
        return json({"status": "ok"})

    @app.get("/catalog/items")
    async def catalog_items(request: Request):
        app.ctx.catalog_fetches += 1
        return json({"items": list(app.ctx.items.values())}, ensure_ascii=False)

    @app.get("/certs/issuers")
    async def cert_issuers(request: Request):
        return json({"issuers": app.ctx.library.issuer_keys()}, ensure_ascii=False)

    @app.get("/certs/types")
    async def cert_types(request: Request):
        return json({"types": certificates.type_list()}, ensure_ascii=False)

    @app.post("/certs/list")
    async def certs_list(request: Request):
        body = _json_object(request)
        if not body or not body.get("holder_id_number") or not body.get("purpose"):
            return error(400, "purpose_required", "查询证照须提供持证人和用证事由")
        documents = app.ctx.library.list_for(str(body["holder_id_number"]))
        return json({"certificates": documents}, ensure_ascii=False)

    @app.post("/certs/get")
    async def certs_get(request: Request):
        body = _json_object(request)
        if (
            not body
            or not body.get("holder_id_number")
            or not body.get("purpose")
            or not body.get("certificate_id")
        ):
            return error(400, "purpose_required", "调取证照须提供证照标识、持证人和用证事由")
        document = app.ctx.library.get(str(body["certificate_id"]), str(body["holder_id_number"]))
        if document is None:
            return error(404, "certificate_not_found", "证照不存在")
        return json({"certificate": document}, ensure_ascii=False)

    @app.post(INTAKE)
    async def intake_submit(request: Request):
        key = request.headers.get("idempotency-key", "")
        body = _json_object(request)
        if not key or body is None:
            return error(400, "bad_request", "缺少幂等键或申请内容")
        try:
            application, created = app.ctx.intake.submit(request.headers["x-app-key"], key, body)
        except IntakeError as exc:
            return error(exc.status, exc.code, exc.message)
        return json(
            app.ctx.intake.public(application), status=201 if created else 200, ensure_ascii=False
        )

    @app.get("/intake/applications/<application_id:str>")
    async def intake_get(request: Request, application_id: str):
        application = app.ctx.intake.by_id.get(application_id)
        if application is None:
            return error(404, "application_not_found", "办件不存在")
        return json(app.ctx.intake.public(application), ensure_ascii=False)

    _admin_routes(app)


def _admin_routes(app: Sanic) -> None:
    def development_only() -> HTTPResponse | None:
        if not app.ctx.config.development:
            return error(404, "not_found", "not found")
        return None

    @app.get("/_admin/faults")
    async def get_faults(request: Request):
        return development_only() or json(app.ctx.faults.as_dict())

    @app.put("/_admin/faults")
    async def put_faults(request: Request):
        if refused := development_only():
            return refused
        body = _json_object(request)
        if body is None:
            return error(400, "bad_request", "body must be a JSON object")
        problem = app.ctx.faults.update(body)
        if problem:
            return error(400, "bad_fault", problem)
        return json(app.ctx.faults.as_dict())

    @app.post("/_admin/idp/rotate")
    async def rotate(request: Request):
        if refused := development_only():
            return refused
        return json({"kid": app.ctx.idp.rotate()})

    @app.post("/_admin/certificates/tamper")
    async def tamper(request: Request):
        if refused := development_only():
            return refused
        body = _json_object(request) or {}
        # part "fields" (the default) forges the content; "identifier" breaks the check
        # character of the GB/T 36904 identifier and seals it again.
        part = body.get("part", "fields")
        if part not in ("fields", "identifier"):
            return error(400, "bad_request", "part is 'fields' or 'identifier'")
        change = app.ctx.library.tamper if part == "fields" else app.ctx.library.misnumber
        document = change(str(body.get("certificate_id", "")))
        if document is None:
            return error(404, "certificate_not_found", "证照不存在")
        return json({"tampered": document["id"]})

    @app.get("/_admin/tally")
    async def tally(request: Request):
        # What a test of several senders checks: the catalog fetched once, each key sent once.
        return development_only() or json(
            {
                "catalog_fetches": app.ctx.catalog_fetches,
                "intake_submissions": app.ctx.intake.submissions,
            }
        )

    @app.get("/_admin/callbacks")
    async def callbacks(request: Request):
        return development_only() or json({"callbacks": app.ctx.intake.callbacks})
