"""The bench report as a Markdown table, each scenario against issue 13's target."""

from __future__ import annotations

# Issue 13's targets: ratio to bare Sanic, one worker, access log on.
TARGETS = {
    "catalog page": 0.60,
    "catalog page, 304": 0.75,
    "item": 0.65,
    "me": 0.40,
    "one-ID items": 0.20,
    "login": 0.05,
    "file an application": 0.05,
}
# The routes served from memory: their p99 must stay under this at the measured rate.
CACHED = ("catalog page", "catalog page, 304", "item", "me", "one-ID items")
P99_MS = 25
MAX_RSS_MB = 150
CERTIFICATE_OVER_GATEWAY_MS = 2


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"# Bench {report['date']}",
        "",
        f"{m['cores']} cores, Python {m['python']}, {m['platform']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"wrk -t1 -c{report['connections']}, {report['seconds']} s per scenario; "
        f"bare Sanic: {report['bare']['rps']} req/s at the start, and measured again between "
        "scenarios: each ratio is to the mean of the bare runs just before and after it "
        "(its own column).",
        "",
        "| workers | scenario | ratio to bare | target | req/s | bare req/s | p50 ms | p99 ms "
        "| errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        for row in run["scenarios"]:
            verdict = verdicts(run["scenarios"]).get(row["scenario"], "")
            lines.append(
                f"| {run['workers']} | {row['scenario']} | {row['ratio']} "
                f"| {verdict if run['workers'] == 1 else ''} | {row['rps']} "
                f"| {row.get('bare_rps', report['bare']['rps'])} "
                f"| {row['p50_ms']} | {row['p99_ms']} | {row['errors']} |"
            )
            if "drained_seconds" in row:
                drained = row["drained_seconds"]
                took = f"{drained} s" if drained is not None else "not within 120 s"
                lines.append(
                    f"| {run['workers']} | … the outbox delivered what it queued, after wrk "
                    f"stopped, in | {took} |"
                )
            if "stale_reads" in row:
                lines.append(
                    f"| {run['workers']} | … switches that returned / stale reads after one "
                    f"| {row['switches']} / {row['stale_reads']} |"
                )
        rss = ", ".join(f"{mb} MB" for mb in run.get("rss_mb", []))
        most = max(run.get("rss_mb") or [0])
        met = "met" if most <= MAX_RSS_MB else "missed"
        lines.append(
            f"| {run['workers']} | resident memory per process after the run | {rss} "
            f"| ≤ {MAX_RSS_MB} MB {met} |"
        )
    return "\n".join(lines) + "\n"


def verdicts(rows: list[dict]) -> dict[str, str]:
    """Each scenario's target and whether this run met it, in words for the table."""
    by_name = {row["scenario"]: row for row in rows}
    said: dict[str, str] = {}
    for row in rows:
        parts = []
        target = TARGETS.get(row["scenario"])
        if target is not None and row["ratio"]:
            short = "" if row["ratio"] >= target else f", ×{target / row['ratio']:.1f} short"
            parts.append(f"≥ {target} {'met' if not short else 'missed'}{short}")
        if row["scenario"] in CACHED:
            over = row["p99_ms"] > P99_MS
            parts.append(f"p99 ≤ {P99_MS} ms {'missed' if over else 'met'}")
        said[row["scenario"]] = "; ".join(parts)
    ours = by_name.get("certificate, one connection")
    theirs = by_name.get("gateway certificate call, one connection")
    if ours and theirs:
        limit = theirs["p50_ms"] + CERTIFICATE_OVER_GATEWAY_MS
        gap = ours["p50_ms"] - limit
        said[ours["scenario"]] = (
            f"p50 ≤ gateway's + {CERTIFICATE_OVER_GATEWAY_MS} ms ({limit:.2f}) "
            + ("met" if gap <= 0 else f"missed by {gap:.2f} ms")
        )
    return said
