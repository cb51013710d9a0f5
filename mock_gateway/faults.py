"""Fault injection, so every failure of the real gateway can be rehearsed.

Set through `PUT /_admin/faults` (development only); each knob stays until it is set again,
except the counted ones (`fail_next`, `reset_after_accept`), which wear off request by request.

    down                 no connection at all (refused in-process, cut on a socket)
    hang                 requests are held without an answer until it is turned off (≤ 120 s)
    latency_ms           every answer waits this long …
    jitter_ms            … give or take up to this much (2 s ± 1 s: 2000 and 1000)
    error_rate           this share of requests answer 503 at random
    fail_next            the next N requests answer 503: a burst, then recovery
    reset_after_accept   the next N applications submitted are taken, then the connection
                         is cut before the answer: the caller cannot know it was accepted
    answer_delay_ms      the work is done, the answer comes this much later
    garbage              answers are 200 with a body that is not JSON
    oversized            answers are 200 with 3 MiB of JSON
    redirect             answers are 302 to another host
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

MAX_MS = 120_000
MAX_COUNT = 10_000

# name → (kind, upper bound); numbers start at 0.
KNOBS: dict[str, tuple[type, float]] = {
    "down": (bool, 1),
    "hang": (bool, 1),
    "latency_ms": (int, MAX_MS),
    "jitter_ms": (int, MAX_MS),
    "error_rate": (float, 1),
    "fail_next": (int, MAX_COUNT),
    "reset_after_accept": (int, MAX_COUNT),
    "answer_delay_ms": (int, MAX_MS),
    "garbage": (bool, 1),
    "oversized": (bool, 1),
    "redirect": (bool, 1),
}


@dataclass
class Faults:
    down: bool = False
    hang: bool = False
    latency_ms: int = 0
    jitter_ms: int = 0
    error_rate: float = 0.0
    fail_next: int = 0
    reset_after_accept: int = 0
    # Work done, answer late: the caller may give up (or die) after the gateway acted.
    answer_delay_ms: int = 0
    garbage: bool = False
    oversized: bool = False
    redirect: bool = False

    def update(self, body: dict) -> str | None:
        """Applies a PUT body and returns None, or returns what is wrong with it and changes
        nothing."""
        unknown = set(body) - set(KNOBS)
        if unknown:
            return "unknown fault: " + ", ".join(sorted(unknown))
        changes = {}
        for name, value in body.items():
            kind, top = KNOBS[name]
            problem = _check(name, value, kind, top)
            if problem:
                return problem
            changes[name] = float(value) if kind is float else value
        for name, value in changes.items():
            setattr(self, name, value)
        return None

    def delay_seconds(self, rng: random.Random) -> float:
        spread = rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.latency_ms + spread) / 1000

    def should_fail(self, rng: random.Random) -> bool:
        if self.fail_next > 0:
            self.fail_next -= 1
            return True
        return self.error_rate > 0 and rng.random() < self.error_rate

    def should_reset(self) -> bool:
        if self.reset_after_accept > 0:
            self.reset_after_accept -= 1
            return True
        return False

    def as_dict(self) -> dict:
        return asdict(self)


def _check(name: str, value: object, kind: type, top: float) -> str | None:
    if kind is bool:
        return None if isinstance(value, bool) else f"{name} must be true or false"
    allowed = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed) or not 0 <= value <= top:
        what = "an integer" if kind is int else "a number"
        return f"{name} must be {what} from 0 to {top:g}"
    return None
