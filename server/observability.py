"""Request ids, the JSON access log, Prometheus metrics and the log redaction filter."""

from __future__ import annotations

import logging
import os
import re
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sanic import Sanic
from sanic.request import Request
from sanic.response import BaseHTTPResponse

from server.access_log import AccessLog
from server.metrics_files import MULTIPROC_ENV

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
        sent = request.headers.get("x-request-id", "")
        # 128 random bits as 32 hex characters, as uuid4().hex but without the object.
        rid = sent if _SANE_REQUEST_ID.match(sent) else os.urandom(16).hex()
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


def install_observability(app: Sanic) -> None:
    metrics: Metrics = app.ctx.metrics
    # Label lookups cost more than the increments: keep the children per label set.
    counters: dict[tuple[str, str, int], Counter] = {}
    histograms: dict[tuple[str, str], Histogram] = {}
    access = AccessLog(on_drop=lambda n, reason: metrics.access_log_dropped.labels(reason).inc(n))

    @app.middleware("request", priority=1000)
    async def start(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        request_id_of(request)  # handlers read request.ctx.request_id

    @app.middleware("response", priority=1000)
    async def finish(request: Request, response: BaseHTTPResponse) -> None:
        rid = request_id_of(request)
        response.headers["X-Request-ID"] = rid
        started = getattr(request.ctx, "started", None)
        duration = time.perf_counter() - started if started is not None else 0.0
        route = route_label(request)
        method, status = request.method, response.status
        counter = counters.get((method, route, status))
        if counter is None:
            counter = metrics.requests.labels(method, route, str(status))
            counters[(method, route, status)] = counter
        counter.inc()
        histogram = histograms.get((method, route))
        if histogram is None:
            histogram = metrics.latency.labels(method, route)
            histograms[(method, route)] = histogram
        histogram.observe(duration)
        if access.enabled:
            access.record(method, route, status, duration, rid)

    @app.after_server_stop
    async def flush_access_log(app: Sanic) -> None:
        access.close()
