"""The access log: one JSON line per request, rendered and written in batches.

Through `logging`, each line cost a LogRecord, a caller lookup, a formatter with its own
timestamp, the redaction filter's regular expressions and a write and flush of its own:
a third of the catalog's throughput (issue 13). Rendered on the request path, it still
cost a tenth of a 304's CPU. So the request path keeps only a tuple (`Done`);
`RequestObserver` (server.observability) hands a batch of them here every `FLUSH_SECONDS`,
and this renders the lines, which hold nothing personal by construction (method, route
pattern, status, duration, a request id of safe characters), and writes them with one
write to the stream the log handler writes to, in the same line format as every other
record, so log shippers see no difference.

A stream that fails costs its lines, counted (`lingpao_access_log_dropped_total`,
reason `write_failed`), never a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import orjson

LOGGER_NAME = "lingpao.access"

log = logging.getLogger(LOGGER_NAME)


class Done(NamedTuple):
    """One answered request, as the request path leaves it."""

    method: str
    route: str
    status: int
    seconds: float
    request_id: str
    at: float  # wall clock, seconds


def lingpao_handler() -> logging.StreamHandler | None:
    """The handler `configure_logging` installed, whose stream the log goes to."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_lingpao", False) and isinstance(handler, logging.StreamHandler):
            return handler
    return None


class AccessLog:
    def __init__(self, on_drop: Callable[[int, str], None] = lambda n, reason: None) -> None:
        self._on_drop = on_drop
        self._second = -1
        self._stamp = ""

    @property
    def enabled(self) -> bool:
        return log.isEnabledFor(logging.INFO)

    def write(self, batch: Sequence[Done]) -> None:
        if not batch or not self.enabled:
            return
        handler = lingpao_handler()
        if handler is None:
            return  # logging not configured (a library user): nowhere to write
        text = "".join(self._line(done) for done in batch)
        handler.acquire()
        try:
            handler.stream.write(text)
            handler.flush()
        except (OSError, ValueError):
            self._on_drop(len(batch), "write_failed")
        finally:
            handler.release()

    def _line(self, done: Done) -> str:
        entry = orjson.dumps(
            {
                "method": done.method,
                "route": done.route,
                "status": done.status,
                "duration_ms": round(done.seconds * 1000, 2),
                "request_id": done.request_id,
            }
        ).decode()
        return f"{self._timestamp(done.at)} INFO {LOGGER_NAME} {entry}\n"

    def _timestamp(self, now: float) -> str:
        # logging.Formatter's default asctime, its seconds part rendered once per second.
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._stamp},{int((now - second) * 1000):03d}"
