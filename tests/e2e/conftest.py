"""End-to-end: real processes on real loopback sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
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


def stop(process: subprocess.Popen) -> None:
    """Stops a process and, when it leads a session of its own, everything it started:
    Sanic serves from worker processes that would outlive a killed main process."""
    own_group = _leads_its_group(process)
    _signal(process, signal.SIGTERM, own_group)
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


@pytest.fixture(scope="session")
def mock_gateway_process():
    port = free_port()
    env = {
        **os.environ,
        "MOCK_GATEWAY_PORT": str(port),
        "MOCK_GATEWAY_APP_KEY": "lingpao-e2e",
        "MOCK_GATEWAY_APP_SECRET": "e2e-secret-0123456789",
        "MOCK_GATEWAY_INTAKE_DELAY": "0",
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
        yield {"url": url, "app_key": "lingpao-e2e", "secret": "e2e-secret-0123456789"}
    finally:
        stop(process)
