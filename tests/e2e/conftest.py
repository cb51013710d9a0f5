"""End-to-end: real processes on real loopback sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stops a process and, when it leads a session of its own, everything it started:
    Sanic serves from worker processes that would outlive a killed main process. `sig` is
    sent first (SIGKILL for a crash); whatever is left after 20 s is killed."""
    own_group = _leads_its_group(process)
    _signal(process, sig, own_group)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        _signal(process, signal.SIGKILL, own_group)
        process.wait()
    if own_group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # any worker left behind


def _leads_its_group(process: subprocess.Popen) -> bool:
    try:
        return os.getpgid(process.pid) == process.pid
    except ProcessLookupError:
        return False


def _signal(process: subprocess.Popen, sig: int, own_group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if own_group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)


@contextlib.contextmanager
def mock_gateway_running(app_key: str, secret: str, intake_delay: float) -> Iterator[str]:
    """`python -m mock_gateway` on a spare port; yields its URL, stops it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "MOCK_GATEWAY_PORT": str(port),
        "MOCK_GATEWAY_APP_KEY": app_key,
        "MOCK_GATEWAY_APP_SECRET": secret,
        "MOCK_GATEWAY_INTAKE_DELAY": str(intake_delay),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_gateway"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/healthz", process)
        yield url
    finally:
        stop(process)


@contextlib.contextmanager
def backend_running(
    tmp: Path,
    gateway: str,
    app_key: str,
    secret: str,
    *,
    prepare: Callable[[Path], None] | None = None,
    **extra_env: str,
) -> Iterator[str]:
    """`python -m server serve` on a spare port over a SQLite file in `tmp`, migrated, seeded
    and with the catalog synced from `gateway`; `prepare(database_path)` runs before it
    serves. Yields its URL; its output goes to `tmp / "server.log"`; stopped afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = tmp / "lingpao.sqlite3"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite://{database}",
        "KEYS_DIR": str(tmp / "keys"),
        "UPLOADS_DIR": str(tmp / "uploads"),
        "GATEWAY_URL": gateway,
        "GATEWAY_APP_KEY": app_key,
        "GATEWAY_APP_SECRET": secret,
        "CALLBACK_URL": f"{url}/api/v1/gateway/callbacks",
        **extra_env,
    }
    run = [sys.executable, "-m", "server"]
    for command in ("migrate", "seed-demo", "sync-items"):
        subprocess.run([*run, command], cwd=ROOT, env=env, check=True, capture_output=True)
    if prepare is not None:
        prepare(database)
    with (tmp / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [*run, "serve"], cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
        try:
            wait_until_up(url + "/healthz", process)
            yield url
        finally:
            stop(process)


@pytest.fixture(scope="session")
def mock_gateway_process():
    key, secret = "lingpao-e2e", "e2e-secret-0123456789"
    with mock_gateway_running(key, secret, intake_delay=0) as url:
        yield {"url": url, "app_key": key, "secret": secret}
