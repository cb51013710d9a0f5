"""The access log: one JSON line per request, rendered once and written in batches.

Through `logging`, each line cost a LogRecord, a caller lookup, a formatter with its own
timestamp, the redaction filter's regular expressions and a write and flush of its own:
a third of the catalog's throughput (issue 13). Here the request path renders the line,
which holds nothing personal by construction (method, route pattern, status, duration,
a request id of safe characters), and appends it to a bounded buffer; a timer writes
what has gathered, one write per batch, to the stream the log handler writes to, in the
same line format as every other record, so log shippers see no difference.

A stream that cannot keep up never slows a request: past `MAX_PENDING` lines, new ones
are dropped and counted (`lingpao_access_log_dropped_total`, by reason: `backlog` or
`write_failed`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import orjson

LOGGER_NAME = "lingpao.access"
FLUSH_SECONDS = 0.05
MAX_PENDING = 10_000

log = logging.getLogger(LOGGER_NAME)


def lingpao_handler() -> logging.StreamHandler | None:
    """The handler `configure_logging` installed, whose stream the log goes to."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_lingpao", False) and isinstance(handler, logging.StreamHandler):
            return handler
    return None


class AccessLog:
    def __init__(self, on_drop: Callable[[int, str], None] = lambda n, reason: None) -> None:
        self._pending: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._on_drop = on_drop
        self._second = -1
        self._stamp = ""

    @property
    def enabled(self) -> bool:
        return log.isEnabledFor(logging.INFO)

    def record(self, method: str, route: str, status: int, seconds: float, rid: str) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._on_drop(1, "backlog")
            return
        now = time.time()
        entry = orjson.dumps(
            {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": rid,
            }
        ).decode()
        self._pending.append(f"{self._timestamp(now)} INFO {LOGGER_NAME} {entry}\n")
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def _timestamp(self, now: float) -> str:
        # logging.Formatter's default asctime, its seconds part rendered once per second.
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._stamp},{int((now - second) * 1000):03d}"

    def flush(self) -> None:
        self._timer = None
        lines, self._pending = self._pending, []
        if not lines:
            return
        handler = lingpao_handler()
        if handler is None:
            return  # logging not configured (a library user): nowhere to write
        handler.acquire()
        try:
            handler.stream.write("".join(lines))
            handler.flush()
        except (OSError, ValueError):
            self._on_drop(len(lines), "write_failed")
        finally:
            handler.release()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.flush()
