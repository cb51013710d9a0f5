"""What wrk prints, read into one Load: rates, latency in every unit, and every error kind."""

from __future__ import annotations

from bench.wrk import parse

OUTPUT = """Running 2s test @ http://127.0.0.1:8000/api/v1/items
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    15.01ms    3.20ms  50.00ms   90.00%
    Req/Sec     4.00k   200.00     4.20k    80.00%
  Latency Distribution
     50%  850.00us
     75%   16.00ms
     90%   18.00ms
     99%    1.20s
  8000 requests in 2.00s, 9.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:   3998.50
Transfer/sec:      4.50MB
"""


def test_the_rate_the_latency_percentiles_and_the_requests_are_read():
    load = parse(OUTPUT)
    assert (load.requests, load.rps) == (8000, 3998.5)
    assert load.p50_ms == 0.85 and load.p99_ms == 1200.0


def test_error_answers_and_socket_errors_all_count_as_errors():
    assert parse(OUTPUT).errors == 5 + 1 + 2 + 3 + 4


def test_a_clean_run_has_no_errors():
    clean = OUTPUT.replace("  Socket errors: connect 1, read 2, write 3, timeout 4\n", "")
    assert parse(clean.replace("  Non-2xx or 3xx responses: 5\n", "")).errors == 0
