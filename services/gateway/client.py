"""The one client of the provincial gateway. Nothing else in the backend calls httpx.

It signs every request, keeps one pooled connection, bounds connect and read time,
retries idempotent calls with backoff and jitter (tenacity), fails fast through a circuit
breaker while the gateway is down, refuses redirects and oversized answers, and turns every
failure into one of our GatewayError classes. The gateway's own text stays in our logs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from core.errors import (
    CircuitOpen,
    GatewayBadAnswer,
    GatewayError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
)
from core.numbers import plain_int
from services.gateway import signing
from services.gateway.breaker import CircuitBreaker

log = logging.getLogger("lingpao.gateway")

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
# Failures that say "the gateway is not well" (count for the breaker, worth a retry);
# a rejection or a bad answer says nothing about its health.
TRANSIENT = (GatewayUnavailable, GatewayTimeout)


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT) and not isinstance(exc, CircuitOpen)


Outcome = Callable[[str, str], None]
Transport = httpx.AsyncBaseTransport  # what tests hand in to reach a gateway in-process


class GatewayClient:
    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        timeout_seconds: float = 5.0,
        connect_timeout_seconds: float = 2.0,
        attempts: int = 3,
        backoff_initial: float = 0.1,
        backoff_max: float = 2.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_connections: int = 16,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        on_outcome: Outcome | None = None,
        signature: str = signing.HMAC_SHA256,
    ) -> None:
        self.app_key = app_key
        self._secret = app_secret
        self._signature = signature
        self.attempts = attempts
        self._wait = wait_exponential_jitter(initial=backoff_initial, max=backoff_max)
        self.max_response_bytes = max_response_bytes
        self.breaker = breaker or CircuitBreaker()
        self._clock = clock
        self._on_outcome = on_outcome or (lambda endpoint, outcome: None)
        self._deadline = timeout_seconds + connect_timeout_seconds
        # The transport itself, not an AsyncClient around it: every call is built here
        # (absolute URL, our headers, our timeouts), and the client's layer (cookies,
        # redirects, auth flows, URL merging, default headers) cost ~10% of a certificate
        # read for nothing this client uses (issue 13). Proxies from the environment
        # (HTTP(S)_PROXY) were the AsyncClient's to honour and are not: a signed call goes
        # where GATEWAY_URL says. SSL_CERT_FILE / SSL_CERT_DIR still are (a provincial CA).
        self._base_url = base_url.rstrip("/")
        self._timeouts = httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds).as_dict()
        # httpx's API over aiohttp's connection pool (httpx-aiohttp, kept by an httpx
        # maintainer): httpcore's pool polls every pooled socket and walks every
        # connection on each call, ~1 ms of CPU per call at 16 connections against
        # ~0.15 ms for aiohttp's (issue 13; encode/httpcore#924 is the unmerged fix).
        # Every connection kept alive once opened: with fewer kept than used, a busy
        # worker opened a new connection for most calls.
        self._transport = transport or AiohttpTransport(client=lambda: _session(max_connections))
        self._closed = False
        # Calls beyond the pool's size wait here, in order, rather than in httpcore's pool,
        # whose bookkeeping grows with every waiting request (encode/httpx#3215): at 64
        # waiting calls it took more time than the calls themselves.
        self._slots = asyncio.Semaphore(max_connections)

    async def aclose(self) -> None:
        # Marked first: httpcore's pool would open a fresh connection for a late call (the
        # outbox or a request racing shutdown) that nothing would close.
        self._closed = True
        await self._transport.aclose()

    # The gateway's endpoints -------------------------------------------------------------

    async def ping(self) -> None:
        await self._call("GET", "/ping", idempotent=False)

    async def idp_jwks(self) -> dict:
        return await self._call("GET", "/idp/jwks.json", signed=False)

    async def catalog_items(self) -> list[dict]:
        return _list_of_dicts(await self._call("GET", "/catalog/items"), "items")

    async def certificate_issuers(self) -> list[dict]:
        return _list_of_dicts(await self._call("GET", "/certs/issuers"), "issuers")

    async def certificate_types(self) -> list[dict]:
        return _list_of_dicts(await self._call("GET", "/certs/types"), "types")

    async def list_certificates(self, holder_id_number: str, purpose: str) -> list[dict]:
        body = {"holder_id_number": holder_id_number, "purpose": purpose}
        return _list_of_dicts(await self._call("POST", "/certs/list", body), "certificates")

    async def get_certificate(
        self, certificate_id: str, holder_id_number: str, purpose: str
    ) -> dict | None:
        body = {
            "certificate_id": certificate_id,
            "holder_id_number": holder_id_number,
            "purpose": purpose,
        }
        answer = await self._call("POST", "/certs/get", body, not_found_ok=True)
        if answer is None:
            return None
        document = answer.get("certificate")
        if not isinstance(document, dict):
            raise GatewayBadAnswer()
        return document

    async def submit_application(self, idempotency_key: str, body: dict) -> dict:
        # Safe to retry: the gateway keys intake on our idempotency key.
        return await self._call(
            "POST", "/intake/applications", body, headers={"Idempotency-Key": idempotency_key}
        )

    async def get_application(self, application_id: str) -> dict | None:
        return await self._call("GET", f"/intake/applications/{application_id}", not_found_ok=True)

    async def identity_token(self, id_number: str, name: str, assurance: str) -> str:
        """A person's identity token from the mock gateway's IdP (`POST /idp/token`).

        For development only: the mock has this endpoint so that a terminal can sign a demo
        citizen in (`python -m server demo login`); the real gateway has none, and the real
        IdP signs people in on its own pages. Unsigned like every `/idp/` call, and tried
        once: each call mints a new token.
        """
        body = {"id_number": id_number, "name": name, "assurance": assurance}
        answer = await self._call("POST", "/idp/token", body, signed=False, idempotent=False)
        token = answer.get("identity_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise GatewayBadAnswer()
        return token

    # The wire ----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        signed: bool = True,
        idempotent: bool = True,
        not_found_ok: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Any:
        endpoint = (
            path.split("?")[0]
            if "/intake/applications/" not in path
            else "/intake/applications/{id}"
        )
        raw = b"" if body is None else orjson.dumps(body)
        # One deadline for the whole call, retries inside it: a hanging gateway costs the
        # caller one read timeout, not one per attempt.
        ends_at = asyncio.get_running_loop().time() + self._deadline
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts if idempotent else 1)
            | stop_after_delay(self._deadline),
            wait=self._wait,
            retry=retry_if_exception(_worth_retrying),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    result = await self._attempt(
                        method, path, raw, signed, not_found_ok, headers or {}, ends_at
                    )
        except GatewayError as exc:
            self._on_outcome(endpoint, type(exc).__name__)
            raise
        self._on_outcome(endpoint, "ok")
        return result

    async def _attempt(
        self,
        method: str,
        path: str,
        raw: bytes,
        signed: bool,
        not_found_ok: bool,
        extra_headers: dict[str, str],
        ends_at: float,
    ) -> Any:
        if asyncio.get_running_loop().time() >= ends_at:
            raise GatewayTimeout()  # the call's time is spent: no attempt is made
        if not self.breaker.allow():
            raise CircuitOpen(retry_after=self.breaker.retry_after())
        try:
            result = await self._exchange(
                method, path, raw, signed, not_found_ok, extra_headers, ends_at
            )
        except TRANSIENT:
            self.breaker.record_failure()
            raise
        except GatewayError:
            self.breaker.record_success()  # it answered: it is up, whatever it said
            raise
        except BaseException:
            self.breaker.release_trial()  # cancelled: neither a success nor a failure
            raise
        self.breaker.record_success()
        return result

    async def _exchange(
        self,
        method: str,
        path: str,
        raw: bytes,
        signed: bool,
        not_found_ok: bool,
        extra_headers: dict[str, str],
        ends_at: float,
    ) -> Any:
        if self._closed:
            raise GatewayUnavailable()
        # identity: aiohttp would offer gzip, and an answer's size is bounded as it comes.
        headers = {"Accept": "application/json", "Accept-Encoding": "identity", **extra_headers}
        if raw:
            headers["Content-Type"] = "application/json"
        if signed:
            # Signed per attempt: a retry carries a fresh timestamp and nonce.
            headers.update(
                signing.sign_headers(
                    self.app_key, self._secret, method, path, raw, self._clock(), self._signature
                )
            )
        request = httpx.Request(
            method,
            self._base_url + path,
            content=raw or None,
            headers=headers,
            extensions={"timeout": self._timeouts},
        )
        try:
            # httpx bounds each socket operation; this bounds the whole exchange, so a
            # gateway that trickles bytes cannot hold a request for longer either.
            async with asyncio.timeout_at(ends_at), self._slots:
                if self._closed:  # closed while this call waited for a connection
                    raise GatewayUnavailable()
                response = await self._transport.handle_async_request(request)
                try:
                    content = await self._read_bounded(response)
                finally:
                    await response.aclose()
        except httpx.DecodingError as exc:
            log.warning("gateway %s %s answered an undecodable body", method, _path_only(path))
            raise GatewayBadAnswer() from exc
        except (httpx.TransportError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            if _timed_out(exc):
                log.warning("gateway %s %s timed out", method, _path_only(path))
                raise GatewayTimeout() from exc
            log.warning(
                "gateway %s %s unreachable: %s", method, _path_only(path), _failure_name(exc)
            )
            raise GatewayUnavailable() from exc
        return self._interpret(method, path, response.status_code, content, not_found_ok)

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and (plain_int(declared) or 0) > self.max_response_bytes:
            raise GatewayBadAnswer()
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise GatewayBadAnswer()
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self, method: str, path: str, status: int, content: bytes, not_found_ok: bool
    ) -> Any:
        where = f"{method} {_path_only(path)}"
        if 300 <= status < 400:
            log.warning("gateway %s answered a redirect (%d); refused", where, status)
            raise GatewayBadAnswer()
        if status == 404 and not_found_ok:
            return None
        if status >= 500:
            log.warning("gateway %s answered %d", where, status)
            raise GatewayUnavailable()
        if status >= 400:
            upstream = _upstream_code(content)
            log.warning("gateway %s refused (%d %s)", where, status, upstream)
            error = GatewayRejected()
            error.upstream_status, error.upstream_code = status, upstream
            raise error
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            log.warning("gateway %s answered something that is not JSON", where)
            raise GatewayBadAnswer() from exc


def _session(max_connections: int) -> aiohttp.ClientSession:
    """aiohttp's session as the gateway client needs it, made in the running loop on the
    first call: every connection kept alive, SSL_CERT_FILE / SSL_CERT_DIR honoured, and no
    cookie jar, so nothing one citizen's call was answered with rides on the next's."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=max_connections,
            limit_per_host=max_connections,
            keepalive_timeout=5.0,  # httpx's, which the gateway's idle timeout was set against
            ssl=httpx.create_ssl_context(trust_env=True),
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def _aiohttp_cause(exc: BaseException) -> BaseException:
    # httpx-aiohttp turns every aiohttp connection error into httpx.ConnectTimeout, a
    # refused or dropped connection too: the aiohttp error it came from says which it was.
    cause = exc.__cause__
    return cause if isinstance(cause, aiohttp.ClientError) else exc


def _timed_out(exc: BaseException) -> bool:
    exc = _aiohttp_cause(exc)
    if isinstance(exc, aiohttp.ClientError):
        return isinstance(exc, aiohttp.ServerTimeoutError)
    return isinstance(exc, (httpx.TimeoutException, TimeoutError))


def _failure_name(exc: BaseException) -> str:
    return type(_aiohttp_cause(exc)).__name__


def _path_only(path: str) -> str:
    # Query strings may carry identifiers; logs get the path alone.
    return path.split("?")[0]


def _upstream_code(content: bytes) -> str:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return "unparseable"
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) and len(code) < 64 else "unknown"


def _list_of_dicts(answer: Any, key: str) -> list[dict]:
    values = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise GatewayBadAnswer()
    return values
