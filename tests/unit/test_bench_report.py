"""The bench table says, per scenario, which target it had and whether the run met it."""

from __future__ import annotations

from bench.report import markdown, verdicts


def row(scenario: str, ratio: float = 0.5, p50: float = 1.0, p99: float = 10.0) -> dict:
    return {
        "scenario": scenario,
        "ratio": ratio,
        "rps": 1000.0,
        "p50_ms": p50,
        "p99_ms": p99,
        "errors": 0,
    }


def report_of(*rows: dict, bare: float = 16000.0, rss_mb: list[float] | None = None) -> dict:
    """A one-worker bench report holding `rows`."""
    run: dict = {"workers": 1, "scenarios": list(rows)}
    if rss_mb is not None:
        run["rss_mb"] = rss_mb
    return {
        "date": "2026-11-26T00:00:00+00:00",
        "machine": {"cores": 2, "python": "3.11", "platform": "linux", "packages": {}},
        "connections": 64,
        "seconds": 10,
        "bare": {"rps": bare},
        "runs": [run],
    }


def test_a_ratio_target_is_met_or_missed_by_how_much():
    said = verdicts([row("catalog page", ratio=0.7), row("login", ratio=0.025)])
    assert said["catalog page"] == "≥ 0.6 met; p99 ≤ 25 ms met"
    assert said["login"] == "≥ 0.05 missed, ×2.0 short"


def test_a_cached_route_slower_than_25_ms_at_p99_misses():
    assert verdicts([row("item", ratio=0.9, p99=40)])["item"] == "≥ 0.65 met; p99 ≤ 25 ms missed"


def test_the_certificate_read_is_held_to_the_gateway_s_own_latency_plus_two_ms():
    rows = [
        row("certificate, one connection", p50=3.1),
        row("gateway certificate call, one connection", p50=0.6),
    ]
    said = verdicts(rows)["certificate, one connection"]
    assert said == "p50 ≤ gateway's + 2 ms (2.60) missed by 0.50 ms"
    rows[0]["p50_ms"] = 2.4
    assert verdicts(rows)["certificate, one connection"].endswith("met")


def test_the_table_names_the_memory_bound():
    table = markdown(report_of(row("me"), bare=10000.0, rss_mb=[120.0]))
    assert "| 1 | me | 0.5 | ≥ 0.4 met; p99 ≤ 25 ms met |" in table
    assert "≤ 150 MB met" in table


def test_the_table_shows_the_bare_run_each_ratio_was_taken_against():
    report = report_of({**row("item"), "bare_rps": 13000.0})
    assert "| 1000.0 | 13000.0 | 1.0 | 10.0 | 0 |" in markdown(report)


def test_the_table_says_how_long_a_filing_burst_took_to_deliver_after_it():
    report = report_of({**row("file an application"), "drained_seconds": 12.5})
    assert "delivered what it queued, after wrk stopped, in | 12.5 s |" in markdown(report)


def test_a_backlog_that_did_not_drain_is_said_so():
    report = report_of({**row("file an application"), "drained_seconds": None})
    assert "after wrk stopped, in | not within 120 s |" in markdown(report)
