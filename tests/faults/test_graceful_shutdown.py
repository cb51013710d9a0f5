"""SIGTERM while requests are in flight: each is answered within the grace period
(SHUTDOWN_GRACE_SECONDS), the server stops by itself and logs no traceback.

Real processes on real sockets; the mock gateway's latency makes a certificate read last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.faults.processes import backend_env, gateway_process, kill_all

__all__ = ["gateway_process"]
from tests.e2e.conftest import ROOT, free_port, wait_until_up

pytestmark = pytest.mark.timeout(120)

ZHANG = {"id_number": "330402199001011230", "name": "张三", "assurance": "face"}


class Server:
    def __init__(self, tmp_path: Path, env: dict[str, str], port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = tmp_path / f"server-{port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        wait_until_up(self.url + "/healthz", self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def serve(tmp_path, fresh_pg_url, redis_url, gateway_process):
    started: list[Server] = []

    def start(**extra: str) -> Server:
        port = free_port()
        env = backend_env(tmp_path, port, fresh_pg_url, redis_url, gateway_process)
        env.update(
            {"LOG_LEVEL": "INFO", "GATEWAY_TIMEOUT_SECONDS": "5", "OUTBOX_LEASE_SECONDS": "15"},
            **extra,
        )
        server = Server(tmp_path, env, port)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            kill_all(server.process)


def every_worker_ready(server: Server, workers: int) -> None:
    """/readyz answers from the first worker up; Sanic's manager, though, waits for every
    worker's start before it heeds a SIGTERM (and past its ack timeout, 30 s, otherwise)."""
    deadline = time.monotonic() + 30
    while server.log().count("Worker ready") < workers:
        assert time.monotonic() < deadline, "the workers did not all start"
        time.sleep(0.05)
    time.sleep(0.5)  # the manager polls for the acknowledgements every 0.1 s


def signed_in(http: httpx.Client, server: Server, gateway: str) -> dict[str, str]:
    identity = http.post(f"{gateway}/idp/token", json=ZHANG).json()["identity_token"]
    login = http.post(f"{server.url}/api/v1/auth/login", json={"identity_token": identity})
    assert login.status_code == 200, login.text
    return {"authorization": f"Bearer {login.json()['access_token']}"}


IN_FLIGHT = "in-flight-at-sigterm"


def read_certificates_in_background(server: Server, auth: dict) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def read() -> None:
        try:
            answer = httpx.get(
                f"{server.url}/api/v1/me/certificates",
                headers={**auth, "X-Request-ID": IN_FLIGHT},
                timeout=30,
            )
            outcome["status"] = answer.status_code
        except httpx.HTTPError as exc:
            outcome["error"] = type(exc).__name__

    thread = threading.Thread(target=read)
    thread.start()
    return thread, outcome


def slow_gateway(gateway: str, latency_ms: int) -> None:
    httpx.put(f"{gateway}/_admin/faults", json={"latency_ms": latency_ms}).raise_for_status()


def refused_new_connections_within(server: Server, seconds: float) -> None:
    """A stopping server takes nothing new, while it still answers what it took."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{server.url}/healthz", timeout=1)
        except httpx.ConnectError:
            return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("the stopping server still took new connections")


def stopped_within(process: subprocess.Popen, limit: float) -> float:
    started = time.monotonic()
    process.wait(timeout=limit)
    return time.monotonic() - started


def test_sigterm_to_the_whole_group_answers_the_request_in_flight_then_stops_cleanly(
    serve, gateway_process
):
    server = serve()
    with httpx.Client(timeout=10) as http:
        auth = signed_in(http, server, gateway_process)
        slow_gateway(gateway_process, 1500)
        thread, outcome = read_certificates_in_background(server, auth)
        time.sleep(0.4)
        os.killpg(server.process.pid, signal.SIGTERM)  # as systemd and a terminal send it
        refused_new_connections_within(server, seconds=5)
        took = stopped_within(server.process, 15)
        thread.join(timeout=15)
    assert outcome == {"status": 200}
    assert server.process.returncode == 0
    assert took < 10
    assert "Traceback" not in server.log() and " ERROR " not in server.log()
    # Its access-log line, made in a batch after it was answered, is out before the exit.
    assert f'"request_id":"{IN_FLIGHT}"' in server.log()


def test_with_several_workers_sigterm_to_the_main_process_drains_every_worker(
    serve, gateway_process, own_redis
):
    server = serve(WORKERS="2", REDIS_URL=own_redis.url)
    every_worker_ready(server, 2)
    with httpx.Client(timeout=10) as http:
        auth = signed_in(http, server, gateway_process)
        slow_gateway(gateway_process, 1500)
        reads = [read_certificates_in_background(server, auth) for _ in range(4)]
        time.sleep(0.4)
        server.process.send_signal(signal.SIGTERM)  # as Kubernetes and KillMode=mixed do
        stopped_within(server.process, 20)
        for thread, _ in reads:
            thread.join(timeout=15)
    assert [outcome for _, outcome in reads] == [{"status": 200}] * 4
    assert "Traceback" not in server.log()


def test_a_request_longer_than_the_grace_period_is_cut_and_the_stop_stays_bounded(
    serve, gateway_process
):
    server = serve(SHUTDOWN_GRACE_SECONDS="1")
    with httpx.Client(timeout=10) as http:
        auth = signed_in(http, server, gateway_process)
        slow_gateway(gateway_process, 4000)
        thread, outcome = read_certificates_in_background(server, auth)
        time.sleep(0.4)
        os.killpg(server.process.pid, signal.SIGTERM)
        took = stopped_within(server.process, 15)
        thread.join(timeout=15)
    assert took < 3.5  # the grace period, not the request's four seconds
    assert "error" in outcome  # cut: the client can tell it got no answer
    assert "Traceback" not in server.log()
