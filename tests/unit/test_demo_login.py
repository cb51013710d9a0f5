"""The demo login: a demo citizen's identity token through the gateway client, exchanged by
`AuthService` in-process for an access token; each failure said in words, never a number."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx
import pytest

from auth.tokens import AccessTokens
from core.errors import CommandFailed
from mock_gateway.idp import IdentityProvider
from mock_gateway.population import Person
from server.demo import login
from server.settings import Settings
from store.db import apply_migrations
from tests.conftest import make_settings

ZHANG_ID = "330402199001011230"


class MockGateway(httpx.MockTransport):
    """The mock gateway's IdP as the gateway client meets it: `answer` is what `/idp/token`
    does (a status, or an exception to raise); `calls` records every request."""

    def __init__(self, settings: Settings, answer: int | Exception = 200) -> None:
        super().__init__(self.handle)
        self.idp = IdentityProvider(settings.idp_issuer, seed=7)
        self.audience = settings.gateway_app_key
        self.answer = answer
        self.calls: list[httpx.Request] = []
        self.closed = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.url.path == "/idp/jwks.json":
            return httpx.Response(200, json=self.idp.jwks())
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer != 200:
            message = {"error": "unknown_person", "message": "身份信息核验未通过"}
            return httpx.Response(self.answer, json=message)
        body = json.loads(request.content)
        person = Person(body["id_number"], body["name"], "男", date(1990, 1, 1), "330402", "-")
        token = self.idp.issue(person, body["assurance"], self.audience)
        return httpx.Response(200, json={"identity_token": token, "expires_in": 300})

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
async def migrated(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    await apply_migrations(settings.database_url)
    return settings


async def test_a_demo_citizen_is_signed_in_with_a_token_the_server_accepts(migrated):
    gateway = MockGateway(migrated)
    token = await login(migrated, "张三", gateway_transport=gateway)

    principal = AccessTokens(migrated.token_private_key_pem()).verify(token)
    assert (principal.name, principal.assurance) == ("张三", "face")
    asked = gateway.calls[0]
    assert (asked.method, asked.url.path) == ("POST", "/idp/token")
    assert json.loads(asked.content) == {"id_number": ZHANG_ID, "name": "张三", "assurance": "face"}
    assert [c.url.path for c in gateway.calls] == ["/idp/token", "/idp/jwks.json"]
    assert gateway.closed


async def test_the_assurance_asked_for_is_the_one_the_token_carries(migrated):
    token = await login(migrated, "李四", "sms", gateway_transport=MockGateway(migrated))
    assert AccessTokens(migrated.token_private_key_pem()).verify(token).assurance == "sms"


async def test_the_demo_login_is_refused_in_production_before_anything_is_opened(tmp_path):
    production = Settings.from_env({"LINGPAO_ENV": "production"})
    gateway = MockGateway(production)
    with pytest.raises(CommandFailed, match="development only"):
        await login(production, "张三", gateway_transport=gateway)
    assert gateway.calls == []


async def test_an_unknown_name_is_refused_with_the_names_of_the_demo_citizens(tmp_path):
    settings = make_settings(tmp_path)
    gateway = MockGateway(settings)
    with pytest.raises(CommandFailed) as refused:
        await login(settings, "赵六", gateway_transport=gateway)
    assert "赵六" in str(refused.value)
    assert all(name in str(refused.value) for name in ("张三", "李四", "王五"))
    assert gateway.calls == []


async def test_a_gateway_that_is_down_is_named_with_its_address_and_what_to_check(tmp_path):
    settings = make_settings(tmp_path)
    gateway = MockGateway(settings, httpx.ConnectError("connection refused"))
    with pytest.raises(CommandFailed) as error:
        await login(settings, "王五", gateway_transport=gateway)
    said = str(error.value)
    assert "cannot reach the mock gateway at http://gateway.test" in said
    assert "make run" in said and "MOCK_GATEWAY_PORT" in said
    assert "330402197803203454" not in said
    assert len(gateway.calls) == 1  # a new token each call: not retried
    assert gateway.closed


async def test_a_gateway_that_answers_503_is_treated_as_down(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(CommandFailed, match="cannot reach the mock gateway"):
        await login(settings, "张三", gateway_transport=MockGateway(settings, 503))


async def test_a_gateway_that_does_not_answer_in_time_says_so(tmp_path):
    settings = make_settings(tmp_path)
    gateway = MockGateway(settings, httpx.ReadTimeout("slow"))
    with pytest.raises(CommandFailed, match="did not answer in time") as error:
        await login(settings, "张三", gateway_transport=gateway)
    assert ZHANG_ID not in str(error.value)
    assert gateway.closed


async def test_a_refused_sign_in_says_what_the_gateway_answered_without_the_id_number(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(CommandFailed) as error:
        await login(settings, "李四", gateway_transport=MockGateway(settings, 401))
    assert "refused the sign-in (401 unknown_person)" in str(error.value)
    assert "330411198506152348" not in str(error.value)


async def test_an_identity_token_our_login_refuses_is_said_with_the_reason(migrated):
    gateway = MockGateway(replace(migrated, gateway_app_key="another-app"))  # not our audience
    with pytest.raises(CommandFailed, match="the login was refused: invalid_identity_token"):
        await login(migrated, "张三", gateway_transport=gateway)
