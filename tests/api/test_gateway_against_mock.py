"""The one gateway client against the real mock gateway, in-process."""

from __future__ import annotations

import time

import httpx
import pytest
from asgi_lifespan import LifespanManager

from core.errors import GatewayRejected, GatewayTimeout, GatewayUnavailable
from mock_gateway.app import create_app as create_gateway
from mock_gateway.config import MockConfig
from mock_gateway.inprocess import MockGatewayTransport
from services.gateway import GatewayClient
from services.gateway.breaker import CircuitBreaker
from services.issuers import IssuerSeals, issuer_key_cache
from tests.fakes import FakeClock

KEY, SECRET = "lingpao-test", "in-process-secret-0123456789"
ZHANG, LI = "330402199001011230", "330411198506152348"


class Replaying(httpx.AsyncBaseTransport):
    """Sends the first request's signature headers again on the second: a replay."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.first: dict[str, str] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        names = ("x-app-key", "x-timestamp", "x-nonce", "x-signature")
        if self.first is None:
            self.first = {n: request.headers[n] for n in names}
        else:
            for name, value in self.first.items():
                request.headers[name] = value
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def mock():
    app = create_gateway(
        MockConfig(app_key=KEY, app_secret=SECRET, intake_delay_seconds=0), name="mock_gateway"
    )
    async with LifespanManager(app):
        admin = httpx.AsyncClient(transport=MockGatewayTransport(app), base_url="http://gw.test")
        app.ctx.admin = admin
        yield app
        await admin.aclose()


def gateway(mock, **kw) -> GatewayClient:
    kw.setdefault("transport", MockGatewayTransport(mock))
    kw.setdefault("backoff_initial", 0.001)
    kw.setdefault("backoff_max", 0.002)
    return GatewayClient("http://gw.test", KEY, SECRET, **kw)


async def test_certificates_come_back_and_every_signature_verifies(mock):
    client = gateway(mock)
    keys = IssuerSeals(issuer_key_cache(client.certificate_issuers))
    documents = await client.list_certificates(ZHANG, "一证通办")
    assert len(documents) >= 6
    assert [await keys.verify(d) for d in documents] == [True] * len(documents)
    assert keys.keys.fetches == 1


async def test_a_tampered_certificate_is_reported_as_failing_its_signature(mock):
    client = gateway(mock)
    keys = IssuerSeals(issuer_key_cache(client.certificate_issuers))
    cert_id = (await client.list_certificates(LI, "查看"))[0]["id"]
    await mock.ctx.admin.post("/_admin/certificates/tamper", json={"certificate_id": cert_id})
    document = await client.get_certificate(cert_id, LI, "查看")
    assert document is not None and not await keys.verify(document)


async def test_a_signature_by_an_unknown_issuer_refetches_once_then_fails(mock):
    client = gateway(mock)
    keys = IssuerSeals(issuer_key_cache(client.certificate_issuers, refetch_interval=60))
    document = (await client.list_certificates(LI, "查看"))[0]
    forged = {**document, "signature": {**document["signature"], "kid": "no-such-issuer"}}
    assert await keys.verify(document)
    assert not await keys.verify(forged)
    assert not await keys.verify(forged)
    # One refetch for the unknown kid (a new issuer would be picked up at once), then none
    # for the rest of the interval.
    assert keys.keys.fetches == 2


async def test_issuer_keys_stay_usable_while_the_gateway_is_down(mock):
    client = gateway(mock, attempts=1)
    keys = IssuerSeals(issuer_key_cache(client.certificate_issuers, ttl=0, refetch_interval=0))
    document = (await client.list_certificates(LI, "查看"))[0]
    assert await keys.verify(document)
    await mock.ctx.admin.put("/_admin/faults", json={"down": True})
    assert await keys.verify(document)


async def test_another_holders_certificate_is_not_found(mock):
    client = gateway(mock)
    cert_id = (await client.list_certificates(ZHANG, "查看"))[0]["id"]
    assert await client.get_certificate(cert_id, LI, "查看") is None


async def test_a_skewed_clock_is_refused_by_the_gateway(mock):
    client = gateway(mock, clock=lambda: time.time() - 400)
    with pytest.raises(GatewayRejected) as info:
        await client.catalog_items()
    assert info.value.upstream_code == "stale_timestamp"


async def test_a_replayed_nonce_is_refused_by_the_gateway(mock):
    client = gateway(mock, transport=Replaying(MockGatewayTransport(mock)))
    await client.catalog_items()
    with pytest.raises(GatewayRejected) as info:
        await client.catalog_items()
    assert info.value.upstream_code == "replayed_nonce"


async def test_a_wrong_secret_is_refused_by_the_gateway(mock):
    client = GatewayClient(
        "http://gw.test", KEY, "not-the-secret", transport=MockGatewayTransport(mock)
    )
    with pytest.raises(GatewayRejected):
        await client.catalog_items()


async def test_error_rate_exhausts_the_retries_and_opens_the_breaker(mock):
    breaker = CircuitBreaker(threshold=3, reset_after=60)
    client = gateway(mock, breaker=breaker)
    await mock.ctx.admin.put("/_admin/faults", json={"error_rate": 1})
    with pytest.raises(GatewayUnavailable):
        await client.catalog_items()
    assert breaker.state == "open"
    await mock.ctx.admin.put("/_admin/faults", json={"error_rate": 0})
    with pytest.raises(GatewayUnavailable):  # still open: fails fast without asking
        await client.catalog_items()


async def test_a_down_gateway_is_unavailable_and_recovers_after_the_breaker_resets(mock):
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, reset_after=5, clock=clock)
    client = gateway(mock, breaker=breaker, attempts=1)
    await mock.ctx.admin.put("/_admin/faults", json={"down": True})
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            await client.ping()
    assert breaker.state == "open"
    await mock.ctx.admin.put("/_admin/faults", json={"down": False})
    clock.advance(5)
    assert breaker.state == "half_open"
    await client.ping()
    assert breaker.state == "closed"


async def test_latency_beyond_the_timeout_is_a_gateway_timeout(mock):
    client = gateway(mock, timeout_seconds=0.1, connect_timeout_seconds=0.05, attempts=1)
    await mock.ctx.admin.put("/_admin/faults", json={"latency_ms": 1000})
    with pytest.raises(GatewayTimeout):
        await client.catalog_items()


async def test_the_catalog_and_the_idp_keys_come_through(mock):
    client = gateway(mock)
    assert len(await client.catalog_items()) >= 40
    jwks = await client.idp_jwks()
    assert jwks["keys"][0]["alg"] == "ES256"


async def test_with_hmac_sm3_on_both_sides_requests_pass_and_a_mismatched_side_is_refused():
    app = create_gateway(
        MockConfig(app_key=KEY, app_secret=SECRET, intake_delay_seconds=0, signature="hmac-sm3"),
        name="mock_gateway_sm3",
    )
    async with LifespanManager(app):
        sm3 = gateway(app, signature="hmac-sm3")
        assert len(await sm3.list_certificates(ZHANG, "一证通办")) >= 6
        sha256 = gateway(app, attempts=1)
        with pytest.raises(GatewayRejected):
            await sha256.list_certificates(ZHANG, "一证通办")
        await sm3.aclose()
        await sha256.aclose()
