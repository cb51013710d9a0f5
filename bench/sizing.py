"""`python -m bench.sizing`: how many workers and instances a peak needs, from the figures
of bench/results/latest.json. docs/deploy.md shows this table; a test keeps the two equal.

Per-worker capacity is the two-worker run divided by two: each worker then had a core of
its own, sharing the machine with PostgreSQL, Redis, the mock gateway and wrk, as a worker
of a real instance shares its host with nothing better. The peak is a mix of what citizens
do at a morning rush (MIX); a request of each kind costs 1/rps of a worker-second.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

LATEST = Path(__file__).resolve().parent / "results" / "latest.json"
# Share of each scenario in a peak's requests (sums to 1).
MIX = {
    "catalog page": 0.30,
    "catalog page, 304": 0.10,
    "item": 0.15,
    "me": 0.20,
    "login": 0.10,
    "one-ID items": 0.05,
    "certificate": 0.05,
    "file an application": 0.05,
}
PEAKS = (500, 1000, 2000, 3000, 5000)
# Workers run at most this busy at the peak: room for a lost instance and for bursts.
TARGET_UTILISATION = 0.7
WORKERS_PER_INSTANCE = 2  # one per core of a two-core instance, as `make cluster` runs


def per_worker_rps(report: dict) -> dict[str, float]:
    run = next(r for r in report["runs"] if r["workers"] == 2)
    return {s["scenario"]: s["rps"] / 2 for s in run["scenarios"]}


def mix_rps(per_worker: dict[str, float]) -> float:
    """Requests of the MIX one worker serves per second."""
    return 1 / sum(share / per_worker[name] for name, share in MIX.items())


def table(report: dict) -> str:
    per_worker = per_worker_rps(report)
    capacity = mix_rps(per_worker)
    lines = [
        f"Bench of {report['date'][:10]}: one worker serves {capacity:.0f} requests/s of the "
        f"mix; kept at {TARGET_UTILISATION:.0%} busy, {capacity * TARGET_UTILISATION:.0f}.",
        "",
        "| peak requests/s | workers busy | workers at "
        f"{TARGET_UTILISATION:.0%} | instances of {WORKERS_PER_INSTANCE} workers "
        "| PostgreSQL connections (5 per worker) |",
        "|---|---|---|---|---|",
    ]
    for peak in PEAKS:
        busy = peak / capacity
        workers = math.ceil(busy / TARGET_UTILISATION)
        instances = math.ceil(workers / WORKERS_PER_INSTANCE)
        lines.append(
            f"| {peak} | {busy:.1f} | {workers} | {instances} "
            f"| {instances * WORKERS_PER_INSTANCE * 5} |"
        )
    lines += ["", "| scenario | share of the peak | requests/s per worker |", "|---|---|---|"]
    lines += [f"| {name} | {share:.0%} | {per_worker[name]:.0f} |" for name, share in MIX.items()]
    return "\n".join(lines)


def main() -> None:
    print(table(json.loads(LATEST.read_text())))


if __name__ == "__main__":
    main()
