"""Time, injected: production code takes a `Clock` and defaults to these; tests pass a fake.

Two kinds, never mixed: `wall` for what is compared with timestamps other systems write
(token expiry, signatures), `monotonic` for intervals inside one process (caches, breakers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]

wall: Clock = time.time
monotonic: Clock = time.monotonic


def utc(clock: Clock = wall) -> datetime:
    """The wall clock's now as an aware UTC datetime."""
    return datetime.fromtimestamp(clock(), UTC)
