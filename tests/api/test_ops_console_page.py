"""The ops console's files and configuration as the backend serves them (the page itself
is driven in a browser by tests/e2e/test_ops_console.py)."""

from __future__ import annotations

import re

from server.routes.console import STATIC_DIR


async def test_the_console_is_served_at_ops_with_a_strict_content_security_policy(client):
    response = await client.get("/ops/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "运维控制台" in response.text
    policy = response.headers["content-security-policy"]
    for rule in ("default-src 'self'", "script-src 'self'", "style-src 'self'"):
        assert rule in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_openapi_document_describes_the_console_and_its_configuration(client):
    paths = (await client.get("/docs/openapi.json")).json()["paths"]
    assert "/ops/" in paths and "/ops/config.json" in paths


async def test_every_console_file_comes_with_the_same_headers(client):
    for name in ("app.js", "app.css", "config.json"):
        response = await client.get(f"/ops/{name}")
        assert response.status_code == 200, name
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "script-src 'self'" in response.headers["content-security-policy"]
    assert (await client.get("/ops/app.js")).headers["content-type"].startswith("text/javascript")


async def test_ops_without_a_slash_leads_to_the_console(client):
    response = await client.get("/ops", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "/ops/"


async def test_nothing_outside_the_console_folder_is_served(client):
    for path in ("/ops/../settings.py", "/ops/%2e%2e/settings.py", "/ops/nope.js"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


async def test_in_development_the_console_is_told_where_the_mock_idp_signs_people_in(
    client, settings
):
    config = (await client.get("/ops/config.json")).json()
    assert config["environment"] == "development"
    assert config["idp_token_url"] == settings.gateway_url + "/idp/token"
    assert [p["name"] for p in config["demo_identities"]] == ["王五", "张三", "李四"]
    # The page may call the mock IdP, on the gateway's origin, and nowhere else.
    policy = (await client.get("/ops/")).headers["content-security-policy"]
    assert f"connect-src 'self' {settings.gateway_url}" in policy


def test_the_console_has_no_inline_script_or_style_and_builds_no_markup_from_strings():
    page = (STATIC_DIR / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert "<style" not in page and " style=" not in page
    assert re.search(r"\son[a-z]+=", page) is None  # no inline event handlers
    for script in STATIC_DIR.glob("*.js"):
        code = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in code, f"{script.name} uses {sink}"
