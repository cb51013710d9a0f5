"""The gateway client against `python -m mock_gateway` on a real socket."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.errors import GatewayTimeout, GatewayUnavailable
from services.gateway import GatewayClient


@pytest.fixture
async def gateway(mock_gateway_process):
    info = mock_gateway_process
    client = GatewayClient(
        info["url"],
        info["app_key"],
        info["secret"],
        timeout_seconds=0.3,
        connect_timeout_seconds=0.3,
        backoff_initial=0.01,
        backoff_max=0.02,
    )
    async with httpx.AsyncClient(base_url=info["url"]) as admin:
        yield client, admin
        await admin.put("/_admin/faults", json={"down": False, "latency_ms": 0, "error_rate": 0})
    await client.aclose()


async def test_signed_calls_work_over_a_real_socket(gateway):
    client, _ = gateway
    await client.ping()
    assert len(await client.catalog_items()) >= 40


async def test_a_gateway_that_drops_connections_is_unavailable(gateway):
    client, admin = gateway
    await admin.put("/_admin/faults", json={"down": True})
    with pytest.raises(GatewayUnavailable):
        await client.catalog_items()


async def test_a_gateway_slower_than_the_timeout_is_a_timeout(gateway):
    client, admin = gateway
    await admin.put("/_admin/faults", json={"latency_ms": 2000})
    with pytest.raises(GatewayTimeout):
        await client.ping()


async def test_a_closed_port_is_unavailable():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = GatewayClient(f"http://127.0.0.1:{port}", "k", "s", attempts=1)
    with pytest.raises(GatewayUnavailable):
        await client.ping()
    await client.aclose()


async def test_a_server_that_does_not_speak_http_is_unavailable_not_a_crash():
    async def garbage(reader, writer):
        await reader.read(1024)
        writer.write(b"\x00\x01 this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = GatewayClient(f"http://127.0.0.1:{port}", "k", "s", attempts=1)
    try:
        with pytest.raises(GatewayUnavailable):
            await client.ping()
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_a_server_that_accepts_and_never_answers_is_a_timeout():
    async def silent(reader, writer):
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = GatewayClient(f"http://127.0.0.1:{port}", "k", "s", attempts=1, timeout_seconds=0.3)
    try:
        with pytest.raises(GatewayTimeout):
            await client.ping()
    finally:
        await client.aclose()
        server.close()
