"""`make cluster` under test: scripts/run-cluster.sh on spare ports, over the test's own
database and Redis; HAProxy in front of two instances of two workers, the mock gateway."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cluster.redis_nodes import until
from tests.e2e.conftest import ROOT, free_port, wait_until_up

ZHANG = ("330402199001011230", "张三")
LI = ("330411198506152348", "李四")
WANG = ("330402197803203454", "王五")  # ops, from the demo data


@dataclass
class Cluster:
    url: str  # the load balancer: what a client of `make run` talks to
    gateway: str
    instances: dict[str, str]  # HAProxy's server name -> that instance's own URL
    env: dict[str, str]
    process: subprocess.Popen
    metrics_dir: Path

    def identity_token(self, http: httpx.Client, person=ZHANG) -> str:
        answer = http.post(
            f"{self.gateway}/idp/token",
            json={"id_number": person[0], "name": person[1], "assurance": "face"},
        )
        return answer.json()["identity_token"]

    def login(self, http: httpx.Client, person=ZHANG) -> dict:
        answer = http.post(
            f"{self.url}/api/v1/auth/login",
            json={"identity_token": self.identity_token(http, person)},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def tally(self, http: httpx.Client) -> dict:
        return http.get(f"{self.gateway}/_admin/tally").json()

    def ports(self) -> list[int]:
        return [
            int(u.rsplit(":", 1)[1]) for u in [self.url, self.gateway, *self.instances.values()]
        ]


def bearer(tokens: dict) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens['access_token']}"}


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def cluster_running(
    folder: Path, database_url: str, redis_url: str, **settings: str
) -> Iterator[Cluster]:
    port, gateway_port, a, b = (free_port() for _ in range(4))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "PORT": str(port),
        "MOCK_GATEWAY_PORT": str(gateway_port),
        "INSTANCE_PORTS": f"{a} {b}",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KEYS_DIR": str(folder / "keys"),
        "UPLOADS_DIR": str(folder / "uploads"),
        "CLUSTER_METRICS_DIR": str(folder / "metrics"),
        "LOG_LEVEL": "WARNING",
        **settings,
    }
    log = (folder / "cluster.log").open("wb")
    process = subprocess.Popen(
        ["bash", "scripts/run-cluster.sh", sys.executable],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    cluster = Cluster(
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{gateway_port}",
        {"a": f"http://127.0.0.1:{a}", "b": f"http://127.0.0.1:{b}"},
        env,
        process,
        folder / "metrics",
    )
    try:
        for instance in cluster.instances.values():
            wait_until_up(f"{instance}/readyz", process, timeout=90)
        wait_until_up(f"{cluster.url}/api/v1/items/JT002", process, timeout=30)
        # HAProxy puts an instance in rotation at its first passing check, up to a second on.
        until(lambda: _in_rotation(cluster) == {"a", "b"}, "both instances in rotation")
        yield cluster
    finally:
        stop_cluster(cluster)
        log.close()


def stop_cluster(cluster: Cluster, sig: int = signal.SIGTERM) -> None:
    """Stops the script as a terminal's Ctrl-C (SIGINT) or a supervisor (SIGTERM) would: the
    script alone gets the signal and stops what it started. Anything it left is killed."""
    process = cluster.process
    children = _children(process.pid)
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for child in children:  # each leads a group of its own (the script's job control)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def _in_rotation(cluster: Cluster) -> set[str]:
    with httpx.Client(timeout=5) as http:
        return {served_by(http.get(f"{cluster.url}/healthz")) for _ in range(4)}


def served_by(response: httpx.Response) -> str:
    # The backup entries (a-anyway) are the same instances, used when none is ready: a
    # name with the suffix means "in rotation" is not yet (or no longer) true.
    return response.headers.get("x-lingpao-instance", "?")


def until_delivered(http: httpx.Client, cluster: Cluster, keys: list[str]) -> dict[str, int]:
    def all_sent():
        sent = cluster.tally(http)["intake_submissions"]
        return sent if all(k in sent for k in keys) else None

    return until(all_sent, "every application delivered", timeout=30, pause=0.2)
