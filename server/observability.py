"""Request ids, the JSON access log, Prometheus metrics and the log redaction filter."""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import random
import re
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sanic.request import Request
from sanic.response import BaseHTTPResponse

from server.access_log import AccessLog, Done
from server.metrics_files import MULTIPROC_ENV

# How long a request's count, latency and log line may wait to be made with others, and
# how many may wait at most.
FLUSH_SECONDS = 0.05
MAX_PENDING = 10_000
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# An 18-character resident ID number anywhere in a log line: mask it before it is written.
_ID_NUMBER = re.compile(r"(?<![0-9])([1-9][0-9]{3})[0-9]{10}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
# Bearer tokens and JWTs, in case one reaches an exception message.
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def redact(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}**********{m.group(2)}", text)
    return _TOKEN.sub("<token>", text)


def one_line(text: str) -> str:
    # A CR or LF that came in with a request must not start a forged line of its own: every
    # record, its traceback included, is written as one physical line.
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class RedactingFilter(logging.Filter):
    """Masks ID numbers and tokens in every record, whoever logged it, and keeps each
    record on one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = one_line(redact(record.exc_text))
        clean = one_line(redact(message))
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def configure_logging(level: str, stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_lingpao", False)]:
        root.removeHandler(old)
    handler._lingpao = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every URL it calls at INFO; gateway URLs may carry identifiers.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Sanic's own loggers write to their own handlers; route them through ours instead.
    for name in ("sanic.root", "sanic.error", "sanic.server", "sanic.access"):
        sanic_logger = logging.getLogger(name)
        sanic_logger.handlers.clear()
        sanic_logger.propagate = True
    return handler


def request_id_of(request: Request) -> str:
    rid = getattr(request.ctx, "request_id", None)
    if rid is None:
        sent = request.headers.get("x-request-id")
        # 128 random bits; not a secret, so not the kernel's: os.urandom is a system call
        # per request. Every worker seeds its own generator (Python reseeds it in a forked
        # child too).
        rid = (
            sent if sent and _SANE_REQUEST_ID.match(sent) else f"{random.getrandbits(128):032x}"  # noqa: S311 - an id, not a secret
        )
        request.ctx.request_id = rid
    return rid


def route_label(request: Request) -> str:
    # The route pattern, never the raw path: a path may carry an identifier.
    route = getattr(request, "route", None)
    return route.path if route is not None else "<unmatched>"


class Metrics:
    """Per-app registry, so two apps in one test process keep separate counts. Under
    multiprocess mode the registry only declares the metrics; `exposition` reads every
    worker's files. Gauges say how workers' values combine: the ones here are read from the
    database by whichever worker is scraped, so the latest reading is the instance's."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lingpao_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lingpao_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.gateway_calls = Counter(
            "lingpao_gateway_calls_total",
            "Gateway calls by endpoint and outcome",
            ["endpoint", "outcome"],
            registry=self.registry,
        )

        self.in_flight = Gauge(
            "lingpao_http_requests_in_flight",
            "Requests begun and not yet answered, the scrape itself included (from "
            "OUTBOX_YIELD_AT of them a worker's delivery loop yields to them)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.outbox_deliveries = Counter(
            "lingpao_outbox_deliveries_total",
            "Outbox delivery outcomes (delivered, retry, dead, rejected, postponed)",
            ["outcome"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "lingpao_outbox_depth",
            "Deliveries waiting (pending or in flight)",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.outbox_oldest_age = Gauge(
            "lingpao_outbox_oldest_pending_age_seconds",
            "Age of the oldest delivery still waiting (0 when none)",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.access_log_dropped = Counter(
            "lingpao_access_log_dropped_total",
            "Access-log lines dropped because the log stream could not keep up",
            # Labelled: an unlabelled counter writes a sample file in every process that
            # builds the metrics, the main process too, under multiprocess mode.
            ["reason"],
            registry=self.registry,
        )
        self.kpi = Gauge(
            "lingpao_kpi_value",
            "City indicator value (ratio)",
            ["key"],
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.kpi_target = Gauge(
            "lingpao_kpi_target",
            "City indicator target (ratio)",
            ["key"],
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

    def exposition(self) -> bytes:
        """The Prometheus text: this process's metrics, or the instance's in multiprocess mode."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)

    def outbox_outcome(self, outcome: str) -> None:
        self.outbox_deliveries.labels(outcome).inc()

    def gateway_outcome(self, endpoint: str, outcome: str) -> None:
        self.gateway_calls.labels(endpoint, outcome).inc()


class RequestObserver:
    """What every request leaves behind: its id, its count and latency, its access-log line.

    The request path only stamps the id and keeps a tuple; the counts, the latency
    histogram and the log lines are made from a batch every `FLUSH_SECONDS`. Done per
    request, between the route's own work, they were a third of a 304's CPU, though each
    costs a microsecond in a loop of its own (issue 13). So a scrape or a log line is up
    to `FLUSH_SECONDS` behind the request; none is lost: past `MAX_PENDING` the batch is
    made at once. Plain methods, called from the app's one request and one response
    middleware.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.access = AccessLog(
            on_drop=lambda n, reason: metrics.access_log_dropped.labels(reason).inc(n)
        )
        self._pending: list[Done] = []
        self._timer: asyncio.TimerHandle | None = None
        # Requests begun and not yet answered: the delivery loop yields to them when many.
        self.in_flight = 0
        # Label lookups cost more than the increments: keep the children per label set.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    def start(self, request: Request) -> None:
        request_id_of(request)  # handlers read request.ctx.request_id
        if not hasattr(request.ctx, "started"):
            # Once per request: Sanic may run the request middleware again for an error
            # answer whose first sending failed, and the response middleware only once.
            request.ctx.started = time.perf_counter()
            self.in_flight += 1

    def finish(self, request: Request, response: BaseHTTPResponse) -> None:
        rid = request_id_of(request)
        response.headers["X-Request-ID"] = rid
        started = getattr(request.ctx, "started", None)
        duration = time.perf_counter() - started if started is not None else 0.0
        if started is not None:
            request.ctx.started = None  # counted out once, and never in again
            self.in_flight -= 1
        method, route, status = request.method, route_label(request), response.status
        self._pending.append(Done(method, route, status, duration, rid, time.time()))
        if len(self._pending) >= MAX_PENDING:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Counts, times and logs what has been answered since the last flush."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        # One increment per route and status for the batch: each takes a lock.
        for key, count in collections.Counter((d.method, d.route, d.status) for d in batch).items():
            self._counter(key).inc(count)
        for done in batch:
            self._histogram(done).observe(done.seconds)
        self.metrics.in_flight.set(self.in_flight)
        self.access.write(batch)

    def _counter(self, key: tuple[str, str, int]) -> Counter:
        counter = self._counters.get(key)
        if counter is None:
            method, route, status = key
            counter = self.metrics.requests.labels(method, route, str(status))
            self._counters[key] = counter
        return counter

    def _histogram(self, done: Done) -> Histogram:
        key = (done.method, done.route)
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self.metrics.latency.labels(done.method, done.route)
            self._histograms[key] = histogram
        return histogram
