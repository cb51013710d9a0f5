"""Fault injection, so every failure of the real gateway can be rehearsed."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    down: bool = False
    # Work done, answer late: the caller may give up (or die) after the gateway acted.
    answer_delay_ms: int = 0

    def update(self, body: dict) -> str | None:
        """Applies a PUT body; returns what is wrong with it, or None."""
        changes = {}
        for name in ("latency_ms", "answer_delay_ms"):
            if name in body:
                value = body[name]
                if (
                    not isinstance(value, int)
                    or isinstance(value, bool)
                    or not (0 <= value <= 120_000)
                ):
                    return f"{name} must be an integer from 0 to 120000"
                changes[name] = value
        if "error_rate" in body:
            value = body["error_rate"]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                return "error_rate must be a number from 0 to 1"
            changes["error_rate"] = float(value)  # type: ignore[assignment]
        if "down" in body:
            if not isinstance(body["down"], bool):
                return "down must be true or false"
            changes["down"] = body["down"]
        unknown = set(body) - {"latency_ms", "error_rate", "down", "answer_delay_ms"}
        if unknown:
            return "unknown fault: " + ", ".join(sorted(unknown))
        for key, value in changes.items():
            setattr(self, key, value)
        return None

    def should_fail(self, rng: random.Random) -> bool:
        return self.error_rate > 0 and rng.random() < self.error_rate

    def as_dict(self) -> dict:
        return asdict(self)
