"""A client that hangs up before its answer, against `python -m server serve` on a real
socket: Sanic cancels the handler, and that is the client's doing, not a bug of ours."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.auth_helpers import ZHANG
from tests.e2e.conftest import backend_running, mock_gateway_running

KEY, SECRET = "lingpao-hangup", "hangup-secret-0123456789"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hang-up")
    with (
        mock_gateway_running(KEY, SECRET, intake_delay=0) as gateway,
        backend_running(tmp, gateway, KEY, SECRET) as url,
    ):
        yield {"url": url, "gateway": gateway, "log": tmp / "server.log"}


def test_a_request_whose_client_hangs_up_is_logged_and_counted_as_499_never_500(world):
    identity = httpx.post(
        world["gateway"] + "/idp/token",
        json={"id_number": ZHANG[0], "name": ZHANG[1], "assurance": "face"},
    ).json()["identity_token"]
    login = httpx.post(world["url"] + "/api/v1/auth/login", json={"identity_token": identity})
    token = login.json()["access_token"]
    # The library answers slowly: the certificate list is still waiting when the client leaves.
    httpx.put(world["gateway"] + "/_admin/faults", json={"latency_ms": 1500}).raise_for_status()
    port = int(world["url"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"GET /api/v1/me/certificates HTTP/1.1\r\nHost: lingpao\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n\r\n"
        )
        time.sleep(0.3)
    time.sleep(2.5)  # the gateway's answer arrives; the handler was cancelled before it
    httpx.put(world["gateway"] + "/_admin/faults", json={"latency_ms": 0}).raise_for_status()
    lines = [
        line for line in world["log"].read_text().splitlines() if "api/v1/me/certificates" in line
    ]
    assert any('"status":499' in line for line in lines), lines
    assert not any('"status":500' in line for line in lines)
    metrics = httpx.get(world["url"] + "/metrics").text
    assert 'route="api/v1/me/certificates",status="500"' not in metrics
    # Counted out as well as in: the delivery loop would otherwise yield to it for good.
    assert "\nlingpao_http_requests_in_flight 1.0\n" in metrics  # the scrape itself
