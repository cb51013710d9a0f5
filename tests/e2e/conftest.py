"""End-to-end: real processes on real loopback sockets."""

from __future__ import annotations

import os
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
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
