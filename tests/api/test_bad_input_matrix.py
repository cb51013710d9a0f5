"""The bad-input matrix (issue 11): each row is one bad input, answered with a clear 4xx in
the contract's envelope, and nothing is stored because of it.

Many rows are also tested where their rule lives (test_login, test_error_envelope,
test_numbers_from_outside, test_ops, test_applications, test_client_address); this is the
one place that lists them all. "Nothing stored" is checked by counting the rows of every
table a request could write, before and after.

The rows share one backend (a fresh one per row would take a minute); every check is
relative to the state before the row, so the rows run in any order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from tortoise.models import Model

from auth.models import RefreshFamily, RefreshToken, RevokedAccessToken, UsedIdentityToken, User
from store.db import apply_migrations
from store.models import (
    Application,
    AuditEntry,
    IdempotencyRecord,
    OutboxRow,
    Presentation,
    Upload,
)
from tests.api.test_applications import materials_for
from tests.api.test_error_envelope import assert_envelope
from tests.auth_helpers import (
    ZHANG,
    bearer,
    catalog_ready,
    forged,
    identity_token,
    login,
    ops_login,
)
from tests.conftest import Stack, backend_with_gateway, logged_with, make_settings
from tests.unit.test_identity_and_crypto import with_check

pytestmark = pytest.mark.timeout(60)

AUDIENCE = "lingpao-test"
VERIFY_LIMIT = 5
STORED: tuple[type[Model], ...] = (
    User,
    RefreshFamily,
    RefreshToken,
    RevokedAccessToken,
    UsedIdentityToken,
    Application,
    IdempotencyRecord,
    OutboxRow,
    Presentation,
    Upload,
    AuditEntry,
)


async def row_counts() -> dict[str, int]:
    return {model.__name__: await model.all().count() for model in STORED}


class NothingStored:
    """`async with NothingStored(world): ...` fails when a table gained or lost a row, or
    an item's mode or version changed; `allow` names tables that may change (the audit,
    for a refusal that is itself audited)."""

    def __init__(self, world: World, allow: tuple[type[Model], ...] = ()) -> None:
        self.world = world
        self.allow = {model.__name__ for model in allow}

    async def item_versions(self) -> list[tuple[str, str, int]]:
        items = await self.world.stack.app.ctx.container.catalog.all_items()
        return sorted((i.code, i.mode, i.version) for i in items)

    async def __aenter__(self) -> NothingStored:
        self.before = await row_counts()
        self.versions = await self.item_versions()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None:
            return
        after = await row_counts()
        for name, count in self.before.items():
            assert after[name] == count or name in self.allow, (name, count, after[name])
        assert await self.item_versions() == self.versions


@dataclass
class Route:
    """A route that takes a JSON body, what it needs besides, and a good body in which
    `free` is the path to a field of client text."""

    method: str
    path: str
    headers: dict[str, str]
    good: dict
    free: tuple[str, ...]
    idempotent: bool = False

    def headers_for(self, content_type: str | None = "application/json") -> dict[str, str]:
        headers = dict(self.headers)
        if self.idempotent:
            headers["idempotency-key"] = uuid.uuid4().hex
        if content_type is not None:
            headers["content-type"] = content_type
        return headers

    def body_with(self, value: object) -> dict:
        body = json.loads(json.dumps(self.good))
        where = body
        for key in self.free[:-1]:
            where = where[key]
        where[self.free[-1]] = value
        return body

    def raw_with(self, raw: bytes) -> bytes:
        """The good body with the free field written as `raw`, which may be no JSON at all
        or more than a JSON encoder would write."""
        placeholder = "@@free@@"
        return (
            json.dumps(self.body_with(placeholder), ensure_ascii=False)
            .encode()
            .replace(json.dumps(placeholder).encode(), raw)
        )


@dataclass
class World:
    stack: Stack
    citizen: dict
    ops: dict
    routes: dict[str, Route] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def matrix_stores(tmp_path_factory) -> AsyncIterator[dict[str, str | None]]:
    """The database and Redis the matrix runs on: SQLite and the stand-in here, real ones
    where tests/integration/api overrides this fixture."""
    yield {"database_url": f"sqlite://{tmp_path_factory.mktemp('matrix-db') / 'm.sqlite3'}"}


@pytest.fixture(scope="module")
async def world(tmp_path_factory, matrix_stores) -> AsyncIterator[World]:
    # Logins are many here: only the verify limit is low, for the X-Forwarded-For row.
    settings = make_settings(
        tmp_path_factory.mktemp("matrix"),
        login_rate_limit="10000/minute",
        verify_rate_limit=f"{VERIFY_LIMIT}/minute",
        **matrix_stores,
    )
    await apply_migrations(settings.database_url)
    async with backend_with_gateway(settings) as stack:
        await catalog_ready(stack)
        citizen = await login(stack)
        ops = await ops_login(stack)
        listed = await stack.client.get(
            "/api/v1/me/certificates", params={"limit": 100}, headers=bearer(citizen)
        )
        card = next(
            c for c in listed.json()["items"] if c["type"] == "111" and c["status"] == "valid"
        )
        world = World(stack, citizen, ops)
        world.routes = {
            "application": Route(
                "POST",
                "/api/v1/applications",
                bearer(citizen),
                {
                    "item_code": "HJ005",
                    "materials": await materials_for(stack, citizen, "HJ005"),
                    "form": {"备注": "无"},
                },
                ("form", "备注"),
                idempotent=True,
            ),
            "presentation": Route(
                "POST",
                f"/api/v1/me/certificates/{card['id']}/presentations",
                bearer(citizen),
                {"fields": ["name"], "ttl_seconds": 120},
                ("fields",),
            ),
            "mode switch": Route(
                "PUT",
                "/api/v1/ops/items/HJ001/mode",
                bearer(ops) | {"if-match": "1"},
                {"mode": "zero_trip", "reason": "已电子化"},
                ("reason",),
            ),
            "login": Route(
                "POST",
                "/api/v1/auth/login",
                {},
                {"identity_token": "x", "device_id": "phone-1"},
                ("device_id",),
            ),
        }
        yield world


ROUTES = ["application", "presentation", "mode switch", "login"]


# --- ID numbers at login (GB 11643) ----------------------------------------------------------

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "id_number",
    [
        pytest.param("330402199001011231", id="a wrong check digit"),
        pytest.param(with_check("33040219901301123"), id="month 13"),
        pytest.param(with_check("33040219900230123"), id="30 February"),
        pytest.param(with_check("33040220990101123"), id="a birth date yet to come"),
        pytest.param(ZHANG[0][:17], id="17 characters"),
        pytest.param(ZHANG[0] + "0", id="19 characters"),
        pytest.param(ZHANG[0].translate(FULL_WIDTH), id="full-width digits"),
        pytest.param(ZHANG[0][:17] + "０", id="one full-width digit"),
        pytest.param(ZHANG[0].translate(ARABIC_INDIC), id="Arabic-Indic digits"),
        pytest.param("3304 0219 9001 0112 30", id="spaces inside"),
    ],
)
async def test_a_login_with_a_bad_id_number_is_a_401_and_makes_no_user(world, id_number):
    # The refusal itself is audited, anonymously; no user, session or used jti is kept.
    async with NothingStored(world, allow=(AuditEntry,)):
        answer = await world.stack.client.post(
            "/api/v1/auth/login",
            json={"identity_token": forged(world.stack, AUDIENCE, id_number=id_number)},
        )
        assert_envelope(answer, 401, "invalid_identity_token")
    newest = await AuditEntry.all().order_by("-id").first()
    assert newest is not None and newest.actor == "anonymous"
    assert newest.outcome == "failed"


@pytest.mark.parametrize("first", ["x", "X"], ids=["lowercase first", "uppercase first"])
async def test_a_lowercase_x_is_normalised_to_the_same_user_as_an_uppercase_x(world, first):
    # Normalisation, not refusal: two logins, one user. A number of its own per row.
    number = "11010519491231002X" if first == "x" else "11010519800101106X"
    then = "X" if first == "x" else "x"
    users = []
    for last in (first, then):
        token = forged(world.stack, AUDIENCE, id_number=number[:17] + last, name="测试")
        answer = await world.stack.client.post("/api/v1/auth/login", json={"identity_token": token})
        assert answer.status_code == 200, answer.text
        users.append(answer.json()["user"])
    assert users[0]["id"] == users[1]["id"]
    assert users[0]["id_number_masked"] == users[1]["id_number_masked"]
    assert users[0]["id_number_masked"].endswith("X")
    assert await User.filter(id=users[0]["id"]).count() == 1


# --- Bodies that are not a JSON object of the route's shape ---------------------------------


def nested(levels: int) -> bytes:
    return b"[" * (levels - 1) + b"0" + b"]" * (levels - 1)


HUNDRED_THOUSAND = b"[" + b",".join([b"0"] * 100_000) + b"]"

# (row name, body for the route, content type, status, code)
BAD_BODIES = [
    ("malformed JSON", lambda r: b'{"a": ', "application/json", 400, "malformed_json"),
    ("an empty body", lambda r: b"", "application/json", 400, "empty_body"),
    ("a JSON array body", lambda r: b"[1, 2]", "application/json", 400, "invalid_request"),
    ("a JSON null body", lambda r: b"null", "application/json", 400, "invalid_request"),
    (
        "JSON nested 1,000 deep in a field",
        lambda r: r.raw_with(nested(1000)),
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "JSON nested 1,000 deep as the body",
        lambda r: nested(1000),
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "JSON nested 100,000 deep",
        lambda r: nested(100_000),
        "application/json",
        400,
        "malformed_json",
    ),
    (
        "a 100,000-element array in a field",
        lambda r: r.raw_with(HUNDRED_THOUSAND),
        "application/json",
        400,
        "invalid_request",
    ),
    (
        "a 5,000-digit integer in a field",
        lambda r: r.raw_with(b"9" * 5000),
        "application/json",
        400,
        "malformed_json",
    ),
    (
        "good JSON sent as text/plain",
        lambda r: json.dumps(r.good).encode(),
        "text/plain",
        415,
        "unsupported_media_type",
    ),
    (
        "a form-encoded body",
        lambda r: b"reason=x&mode=zero_trip&item_code=HJ005",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    (
        "good JSON without a content type",
        lambda r: json.dumps(r.good).encode(),
        None,
        415,
        "unsupported_media_type",
    ),
]


@pytest.mark.parametrize("route_name", ROUTES)
@pytest.mark.parametrize(
    ("make", "content_type", "status", "code"),
    [pytest.param(*row[1:], id=row[0]) for row in BAD_BODIES],
)
async def test_a_bad_body_is_a_clear_4xx_and_nothing_is_stored(
    world, route_name, make, content_type, status, code
):
    route = world.routes[route_name]
    async with NothingStored(world):
        answer = await world.stack.client.request(
            route.method, route.path, content=make(route), headers=route.headers_for(content_type)
        )
        assert_envelope(answer, status, code)


async def test_the_good_body_of_each_route_in_the_matrix_is_accepted(world):
    # The control row: the refusals are about the input, not about the route or the caller.
    client = world.stack.client
    for name, route in world.routes.items():
        body = dict(route.good)
        headers = route.headers_for()
        if name == "login":
            body["identity_token"] = await identity_token(world.stack)
        if name == "mode switch":
            item = await world.stack.app.ctx.container.catalog.get_item("HJ001")
            headers["if-match"] = str(item.version)
            body["mode"] = "zero_trip" if item.mode != "zero_trip" else "one_trip"
        answer = await client.request(route.method, route.path, json=body, headers=headers)
        assert answer.status_code in (200, 201, 202), (name, answer.text)


# --- Control and bidi characters in free text ------------------------------------------------

UNSAFE_TEXT = [
    pytest.param("已电子化\u202e化子电已", id="a right-to-left override"),
    pytest.param("第一行\r\n2026-11-26 INFO 伪造", id="CR LF"),
    pytest.param("空\x00字符", id="NUL"),
    pytest.param("删除\x7f", id="DEL"),
    pytest.param("隔离\u2066内容\u2069", id="a bidi isolate"),
]


@pytest.mark.parametrize("route_name", ROUTES)
@pytest.mark.parametrize("text", UNSAFE_TEXT)
async def test_control_or_bidi_characters_in_free_text_are_a_400_naming_them(
    world, route_name, text
):
    route = world.routes[route_name]
    value = [text] if route_name == "presentation" else text
    async with NothingStored(world):
        answer = await world.stack.client.request(
            route.method, route.path, json=route.body_with(value), headers=route.headers_for()
        )
        error = assert_envelope(answer, 400, "invalid_request")
        assert "U+" in json.dumps(error["fields"])
    assert text not in answer.text


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"form": {"备\u202e注": "无"}}, id="in a form key"),
        pytest.param({"form": {"联系人": [{"姓名": "张\u202e三"}]}}, id="deep in a form"),
        pytest.param({"item_code": "HJ005\u202e"}, id="in the item code"),
        pytest.param(
            {"materials": {"id_card\u202e": {"certificate_id": "c"}}}, id="in a material code"
        ),
    ],
)
async def test_a_bidi_override_anywhere_in_an_application_is_a_400(world, change):
    route = world.routes["application"]
    async with NothingStored(world):
        answer = await world.stack.client.post(
            route.path, json=route.good | change, headers=route.headers_for()
        )
        assert_envelope(answer, 400, "invalid_request")


# --- Tokens and ID numbers in query strings --------------------------------------------------


def access_lines(log_output) -> list[dict]:
    return [
        json.loads(line.split("lingpao.access ", 1)[1])
        for line in log_output.getvalue().splitlines()
        if "lingpao.access " in line
    ]


@pytest.mark.parametrize(
    ("method", "path", "query", "with_bearer", "status", "code"),
    [
        pytest.param(
            "GET", "/api/v1/me", "access_token", False, 401, "invalid_token", id="an access token"
        ),
        pytest.param(
            "GET",
            "/api/v1/me",
            "access_token",
            True,
            200,
            None,
            id="an access token beside a bearer",
        ),
        pytest.param(
            "POST",
            "/api/v1/auth/refresh",
            "refresh_token",
            False,
            400,
            "empty_body",
            id="a refresh",
        ),
        pytest.param(
            "POST", "/api/v1/auth/login", "identity_token", False, 400, "empty_body", id="a login"
        ),
        pytest.param("GET", "/api/v1/items", "id_number", False, 200, None, id="an ID number"),
        pytest.param(
            "GET", "/api/v1/items", "q", False, 200, None, id="an ID number as the search"
        ),
        pytest.param(
            "GET",
            "/api/v1/me/certificates",
            "id_number",
            True,
            200,
            None,
            id="an ID number, signed in",
        ),
    ],
)
async def test_a_secret_in_the_query_string_is_not_taken_and_never_logged(
    world, log_output, method, path, query, with_bearer, status, code
):
    secrets = {
        "access_token": world.citizen["access_token"],
        "refresh_token": world.citizen["refresh_token"],
        "identity_token": await identity_token(world.stack),
        "id_number": ZHANG[0],
        "q": ZHANG[0],
    }
    secret = secrets[query]
    request_id = f"query-{uuid.uuid4().hex}"
    headers = {"x-request-id": request_id} | (bearer(world.citizen) if with_bearer else {})
    # Reading one's certificates is audited, as it should be; nothing else is written.
    audited = (AuditEntry,) if path == "/api/v1/me/certificates" else ()
    async with NothingStored(world, allow=audited):
        answer = await world.stack.client.request(
            method, path, params={query: secret, "id_number": ZHANG[0]}, headers=headers
        )
    assert answer.status_code == status, answer.text
    if code is not None:
        assert_envelope(answer, status, code)
    assert secret not in answer.text and ZHANG[0] not in answer.text
    logged = await logged_with(log_output, request_id)
    assert secret not in logged and ZHANG[0] not in logged
    (line,) = [entry for entry in access_lines(log_output) if entry["request_id"] == request_id]
    assert line["route"] == path.lstrip("/") and "?" not in json.dumps(line)
    if query == "identity_token":
        # Not taken from the query, so not used up either: it still logs in from the body.
        again = await world.stack.client.post("/api/v1/auth/login", json={"identity_token": secret})
        assert again.status_code == 200


# --- Methods a read route does not have ------------------------------------------------------


@pytest.mark.parametrize("method", ["DELETE", "TRACE", "PATCH"])
@pytest.mark.parametrize(
    ("path", "signed_in", "allowed"),
    [
        pytest.param("/api/v1/items", False, {"GET", "HEAD"}, id="items"),
        pytest.param("/api/v1/items/HJ005", False, {"GET", "HEAD"}, id="one item"),
        pytest.param("/api/v1/me", True, {"GET", "HEAD"}, id="me"),
        pytest.param("/api/v1/me/certificates", True, {"GET", "HEAD"}, id="my certificates"),
        pytest.param("/api/v1/applications", True, {"GET", "HEAD", "POST"}, id="applications"),
    ],
)
async def test_a_method_a_read_route_lacks_is_a_405_with_allow(
    world, method, path, signed_in, allowed
):
    headers = bearer(world.citizen) if signed_in else {}
    async with NothingStored(world):
        answer = await world.stack.client.request(method, path, headers=headers)
        assert_envelope(answer, 405, "method_not_allowed")
    assert {m.strip() for m in answer.headers["allow"].split(",")} == allowed
    # TRACE echoes nothing back: not the bearer token, not the request.
    assert world.citizen["access_token"] not in answer.text
    if signed_in:  # and DELETE /me logged nobody out
        me = await world.stack.client.get("/api/v1/me", headers=bearer(world.citizen))
        assert me.status_code == 200


# --- A spoofed X-Forwarded-For, with no trusted proxy ----------------------------------------


async def test_spoofed_forwarding_headers_do_not_escape_the_rate_limit_or_reach_the_log(
    world, log_output
):
    # No proxy is trusted (TRUSTED_PROXIES=0): every request below comes from the same
    # socket address, whatever it claims, so all share one bucket of VERIFY_LIMIT.
    spoofed = [
        {"x-forwarded-for": f"203.0.113.{n}"}
        | ({"x-real-ip": f"198.51.100.{n}"} if n % 2 else {"forwarded": f"for=192.0.2.{n}"})
        for n in range(1, VERIFY_LIMIT + 2)
    ]
    answers = [
        await world.stack.client.post(
            "/api/v1/presentations/verify", json={"token": "x"}, headers=headers
        )
        for headers in spoofed
    ]
    assert [a.status_code for a in answers] == [200] * VERIFY_LIMIT + [429]
    assert_envelope(answers[-1], 429, "rate_limited")
    assert int(answers[-1].headers["retry-after"]) >= 1
    logged = log_output.getvalue()
    for prefix in ("203.0.113.", "198.51.100.", "192.0.2."):
        assert prefix not in logged
