"""The demo login: a demo citizen's access token through the mock IdP and our real login."""

from __future__ import annotations

import json

import httpx
import pytest

from server.demo import DemoError, login
from server.settings import Settings

SETTINGS = Settings.from_env({"PORT": "18000", "MOCK_GATEWAY_PORT": "18100"})


def servers(seen: list[httpx.Request], login_status: int = 200) -> httpx.MockTransport:
    """The mock IdP on :18100 and the API on :18000, as `make run` would place them."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.port == 18100 and request.url.path == "/idp/token":
            return httpx.Response(200, json={"identity_token": "id-tok", "expires_in": 300})
        if request.url.port == 18000 and request.url.path == "/api/v1/auth/login":
            if login_status != 200:
                error = {"code": "rate_limited", "message": "too many logins", "request_id": "r"}
                return httpx.Response(login_status, json={"error": error})
            return httpx.Response(200, json={"access_token": "acc-tok", "refresh_token": "r"})
        return httpx.Response(404)

    return httpx.MockTransport(answer)


def test_a_demo_citizen_gets_an_access_token_through_the_idp_and_the_real_login():
    seen: list[httpx.Request] = []
    assert login(SETTINGS, "张三", transport=servers(seen)) == "acc-tok"
    idp, our_login = seen
    assert json.loads(idp.content) == {
        "id_number": "330402199001011230",
        "name": "张三",
        "assurance": "face",
    }
    assert json.loads(our_login.content) == {"identity_token": "id-tok"}
    assert {r.headers["content-type"] for r in seen} == {"application/json"}


def test_the_demo_login_is_refused_in_production():
    production = Settings.from_env({"LINGPAO_ENV": "production"})
    seen: list[httpx.Request] = []
    with pytest.raises(DemoError, match="development only"):
        login(production, "张三", transport=servers(seen))
    assert seen == []


def test_an_unknown_name_is_refused_with_the_names_of_the_demo_citizens():
    with pytest.raises(DemoError) as refused:
        login(SETTINGS, "赵六", transport=servers([]))
    assert "赵六" in str(refused.value)
    assert all(name in str(refused.value) for name in ("张三", "李四", "王五"))


def test_a_server_that_is_not_running_is_named_with_its_address():
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(DemoError) as error:
        login(SETTINGS, "王五", transport=httpx.MockTransport(refused))
    assert "cannot reach the mock gateway's IdP at http://127.0.0.1:18100" in str(error.value)
    assert "make run" in str(error.value)


def test_a_refused_login_says_what_the_api_answered_without_the_id_number():
    with pytest.raises(DemoError) as error:
        login(SETTINGS, "李四", transport=servers([], login_status=429))
    assert "answered 429: rate_limited: too many logins" in str(error.value)
    assert "330411198506152348" not in str(error.value)
