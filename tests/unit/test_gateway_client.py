"""The gateway client through httpx.MockTransport: retries, timeouts, breaker, bad answers."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from core.errors import GatewayBadAnswer, GatewayRejected, GatewayTimeout, GatewayUnavailable
from services.gateway import GatewayClient, signing
from services.gateway.breaker import CircuitBreaker
from tests.fakes import FakeClock

SECRET = "unit-secret-0123456789"


class Upstream:
    """A scripted gateway: each call pops the next answer (a Response or an exception)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(body: dict | None = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"status": "ok"})


def client(upstream: Upstream, base_url: str = "http://gw.test", **kw) -> GatewayClient:
    kw.setdefault("backoff_initial", 0.001)
    kw.setdefault("backoff_max", 0.002)
    return GatewayClient(base_url, "app", SECRET, transport=httpx.MockTransport(upstream), **kw)


async def test_every_request_is_signed_verifiably():
    upstream = Upstream(ok({"certificates": []}))
    await client(upstream).list_certificates("330402199001011230", "查看")
    request = upstream.calls[0]
    assert (
        signing.verify_headers(
            "app", SECRET, "POST", "/certs/list", request.content, request.headers
        )
        is None
    )


async def test_a_503_is_retried_and_each_retry_is_signed_afresh():
    upstream = Upstream(httpx.Response(503), httpx.Response(503), ok({"items": []}))
    assert await client(upstream).catalog_items() == []
    assert len(upstream.calls) == 3
    assert len({r.headers["x-nonce"] for r in upstream.calls}) == 3


async def test_retries_are_bounded_and_end_in_unavailable():
    upstream = Upstream(httpx.Response(503))
    with pytest.raises(GatewayUnavailable):
        await client(upstream, attempts=3).catalog_items()
    assert len(upstream.calls) == 3


async def test_a_read_timeout_becomes_gateway_timeout_after_retries():
    upstream = Upstream(httpx.ReadTimeout("slow"))
    with pytest.raises(GatewayTimeout):
        await client(upstream).catalog_items()
    assert len(upstream.calls) == 3


async def test_a_slow_gateway_is_cut_off_at_the_deadline():
    async def slow(request):
        await asyncio.sleep(1)
        return ok()

    gw = GatewayClient(
        "http://gw.test",
        "app",
        SECRET,
        transport=httpx.MockTransport(slow),
        timeout_seconds=0.05,
        connect_timeout_seconds=0.05,
        attempts=2,
        backoff_initial=0.001,
        backoff_max=0.002,
    )
    started = asyncio.get_running_loop().time()
    with pytest.raises(GatewayTimeout):
        await gw.catalog_items()
    assert asyncio.get_running_loop().time() - started < 0.5


async def test_calls_beyond_the_connections_wait_their_turn_and_no_longer_than_the_deadline():
    started: list[float] = []
    release = asyncio.Event()

    async def held(request):
        started.append(asyncio.get_running_loop().time())
        await release.wait()
        return ok()

    gw = GatewayClient(
        "http://gw.test",
        "app",
        SECRET,
        transport=httpx.MockTransport(held),
        timeout_seconds=0.1,
        connect_timeout_seconds=0.1,
        attempts=1,
        max_connections=2,
    )
    began = asyncio.get_running_loop().time()
    calls = [asyncio.ensure_future(gw.ping()) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert len(started) == 2  # the third waits for a connection
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, GatewayTimeout) for r in results)
    # Waiting counts against the call's own deadline: nobody waits past it.
    assert asyncio.get_running_loop().time() - began < 0.5


async def test_a_connection_failure_becomes_unavailable():
    upstream = Upstream(httpx.ConnectError("refused"))
    with pytest.raises(GatewayUnavailable):
        await client(upstream).catalog_items()


async def test_a_call_after_the_client_closed_is_unavailable_and_reaches_no_gateway():
    upstream = Upstream(ok())
    gateway = client(upstream)
    await gateway.ping()
    await gateway.aclose()
    with pytest.raises(GatewayUnavailable):
        await gateway.catalog_items()
    assert len(upstream.calls) == 1


async def test_a_gateway_under_a_path_prefix_is_called_under_it():
    upstream = Upstream(ok({"items": []}))
    await client(upstream, "https://gw.test/zjzwfw/").catalog_items()
    assert str(upstream.calls[0].url) == "https://gw.test/zjzwfw/catalog/items"
    assert upstream.calls[0].headers["host"] == "gw.test"


async def test_a_ping_is_not_retried():
    upstream = Upstream(httpx.Response(503))
    with pytest.raises(GatewayUnavailable):
        await client(upstream).ping()
    assert len(upstream.calls) == 1


async def test_a_rejection_is_not_retried_and_hides_the_gateway_text():
    upstream = Upstream(
        httpx.Response(
            401, json={"error": "bad_signature", "message": "签名校验失败 internal detail"}
        )
    )
    with pytest.raises(GatewayRejected) as info:
        await client(upstream).catalog_items()
    assert len(upstream.calls) == 1
    assert "internal detail" not in info.value.message
    assert info.value.upstream_code == "bad_signature"
    assert info.value.details == {}


async def test_garbage_is_a_bad_answer():
    upstream = Upstream(httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(GatewayBadAnswer):
        await client(upstream).catalog_items()


async def test_json_of_the_wrong_shape_is_a_bad_answer():
    upstream = Upstream(ok({"items": "not a list"}))
    with pytest.raises(GatewayBadAnswer):
        await client(upstream).catalog_items()


async def test_an_oversized_answer_is_refused():
    big = httpx.Response(200, content=b'{"items": ["' + b"x" * 5000 + b'"]}')
    with pytest.raises(GatewayBadAnswer):
        await client(Upstream(big), max_response_bytes=1000).catalog_items()


async def test_an_oversized_answer_without_length_is_refused_while_streaming():
    async def chunks():
        for _ in range(100):
            yield b"x" * 100

    streamed = httpx.Response(200, content=chunks())
    with pytest.raises(GatewayBadAnswer):
        await client(Upstream(streamed), max_response_bytes=1000).catalog_items()


async def test_a_redirect_is_refused_and_not_followed():
    upstream = Upstream(httpx.Response(302, headers={"location": "http://evil.test/"}))
    with pytest.raises(GatewayBadAnswer):
        await client(upstream).catalog_items()
    assert all(r.url.host == "gw.test" for r in upstream.calls)


async def test_a_404_on_get_certificate_is_none():
    upstream = Upstream(httpx.Response(404, json={"error": "certificate_not_found"}))
    assert await client(upstream).get_certificate("1.2", "330402199001011230", "查看") is None


async def test_the_breaker_opens_fails_fast_then_half_opens_and_closes():
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, reset_after=5, clock=clock)
    upstream = Upstream(httpx.ConnectError("down"))
    gw = client(upstream, attempts=1, breaker=breaker)
    for _ in range(3):
        with pytest.raises(GatewayUnavailable):
            await gw.catalog_items()
    assert breaker.state == "open"
    calls = len(upstream.calls)
    with pytest.raises(GatewayUnavailable) as info:
        await gw.catalog_items()
    assert len(upstream.calls) == calls  # failed fast: nothing went out
    assert info.value.retry_after is not None and info.value.retry_after >= 1
    clock.advance(5)
    upstream.answers = [ok({"items": []})]
    assert await gw.catalog_items() == []
    assert breaker.state == "closed"


async def test_a_rejection_does_not_count_against_the_gateways_health():
    breaker = CircuitBreaker(threshold=2)
    upstream = Upstream(httpx.Response(400, json={"error": "purpose_required"}))
    gw = client(upstream, breaker=breaker)
    for _ in range(3):
        with pytest.raises(GatewayRejected):
            await gw.catalog_items()
    assert breaker.state == "closed"


async def test_outcomes_are_reported_per_endpoint():
    seen = []
    upstream = Upstream(ok({"items": []}))
    gw = client(upstream, on_outcome=lambda endpoint, outcome: seen.append((endpoint, outcome)))
    await gw.catalog_items()
    upstream.answers = [httpx.Response(503)]
    with pytest.raises(GatewayUnavailable):
        await gw.catalog_items()
    assert seen == [("/catalog/items", "ok"), ("/catalog/items", "GatewayUnavailable")]


async def test_a_hanging_gateway_costs_one_deadline_not_one_per_retry():
    calls = []

    async def hanging(request):
        calls.append(request)
        await asyncio.sleep(10)
        return ok()

    gw = GatewayClient(
        "http://gw.test",
        "app",
        SECRET,
        transport=httpx.MockTransport(hanging),
        timeout_seconds=0.1,
        connect_timeout_seconds=0.05,
        attempts=3,
        backoff_initial=0.001,
        backoff_max=0.002,
    )
    with pytest.raises(GatewayTimeout):
        await gw.catalog_items()
    # The first attempt spent the call's whole deadline: no retry got a fresh one.
    assert len(calls) == 1


async def test_quick_failures_are_still_retried_inside_the_deadline():
    upstream = Upstream(httpx.Response(503), httpx.Response(503), ok({"items": []}))
    assert await client(upstream).catalog_items() == []
    assert len(upstream.calls) == 3


async def test_the_mock_idps_token_is_asked_for_unsigned_and_once():
    upstream = Upstream(ok({"identity_token": "id-tok", "expires_in": 300}))
    assert await client(upstream).identity_token("330402199001011230", "张三", "sms") == "id-tok"
    (request,) = upstream.calls
    assert (request.method, request.url.path) == ("POST", "/idp/token")
    assert orjson.loads(request.content) == {
        "id_number": "330402199001011230",
        "name": "张三",
        "assurance": "sms",
    }
    assert "x-signature" not in request.headers


@pytest.mark.parametrize(
    ("answer", "becomes"),
    [
        (httpx.ConnectError("refused"), GatewayUnavailable),
        (httpx.ReadTimeout("slow"), GatewayTimeout),
        (httpx.Response(503), GatewayUnavailable),
        (httpx.Response(401, json={"error": "unknown_person"}), GatewayRejected),
        (ok({"expires_in": 300}), GatewayBadAnswer),
    ],
)
async def test_a_failed_identity_token_call_is_one_of_our_errors_and_not_retried(answer, becomes):
    upstream = Upstream(answer)
    with pytest.raises(becomes):
        await client(upstream).identity_token("330402199001011230", "张三", "face")
    assert len(upstream.calls) == 1
