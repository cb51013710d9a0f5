"""The gateway client against `python -m mock_gateway` on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest

from core.errors import GatewayBadAnswer, GatewayError, GatewayTimeout, GatewayUnavailable
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


class RawGateway:
    """An HTTP server on a real socket that answers every request with `answer` (after
    `delay` seconds) and keeps the head of each request it read in `requests`."""

    def __init__(self, answer: bytes, delay: float = 0.0) -> None:
        self.answer, self.delay = answer, delay
        self.requests: list[str] = []

    async def _serve(self, reader, writer):
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.requests.append(head.decode("latin-1").lower())
                await asyncio.sleep(self.delay)
                writer.write(self.answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc) -> None:
        self.server.close()


def http_answer(body: bytes, *headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", *headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def test_a_cookie_the_gateway_sets_is_never_sent_back_on_later_calls():
    gateway = RawGateway(http_answer(b"{}", "Set-Cookie: gw_session=citizen-a; Path=/"))
    async with gateway as url:
        client = GatewayClient(url, "k", "s", attempts=1)
        await client.ping()
        await client.ping()
        await client.aclose()
    assert len(gateway.requests) == 2
    assert all("cookie" not in head for head in gateway.requests)


async def test_the_client_asks_for_an_uncompressed_answer_and_a_corrupt_gzip_is_a_bad_answer():
    gateway = RawGateway(http_answer(b"not gzip at all", "Content-Encoding: gzip"))
    async with gateway as url:
        client = GatewayClient(url, "k", "s", attempts=1)
        with pytest.raises(GatewayBadAnswer):
            await client.ping()
        await client.aclose()
    assert "accept-encoding: identity" in gateway.requests[0]


async def test_a_call_in_flight_when_the_client_closes_ends_at_once_as_unavailable():
    # Shutdown does not wait out a hanging gateway's deadline: the call's connection is
    # closed under it (aiohttp's pool; httpcore's had left it to its timeout).
    gateway = RawGateway(http_answer(b"{}"), delay=10)
    async with gateway as url:
        client = GatewayClient(url, "k", "s", attempts=1, timeout_seconds=8)
        call = asyncio.create_task(client.ping())
        async with asyncio.timeout(2):
            while not gateway.requests:  # sent, and waiting for an answer that never comes
                await asyncio.sleep(0.01)
        started = time.monotonic()
        await client.aclose()
        with pytest.raises(GatewayUnavailable):
            await asyncio.wait_for(call, 2)
        assert time.monotonic() - started < 1


async def test_a_call_waiting_for_a_connection_when_the_client_closes_is_unavailable():
    async with RawGateway(http_answer(b"{}"), delay=0.5) as url:
        client = GatewayClient(url, "k", "s", attempts=1, max_connections=1, timeout_seconds=1)
        first = asyncio.create_task(client.ping())
        await asyncio.sleep(0.1)  # the first holds the only connection
        waiting = asyncio.create_task(client.ping())
        await asyncio.sleep(0.05)
        await client.aclose()
        with pytest.raises(GatewayUnavailable):
            await waiting
        # The one in flight ends within its own deadline, as one of ours, whatever it was.
        with contextlib.suppress(GatewayError):
            await first
