"""The processes a bench run starts on loopback, and stops whatever happens: a database of its
own on PostgreSQL, the mock gateway with no latency, Lingpao, and the bare baseline."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
APP_KEY, SECRET = "lingpao-bench", "bench-secret-0123456789abcdef"
# Every limit far above what one machine can send: the bench measures work, not refusals.
UNLIMITED = "100000000/minute"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = int(env["PORT"]) if "PORT" in env else int(env["MOCK_GATEWAY_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
            )

    def wait_until_up(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not come up")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


@contextlib.contextmanager
def started(processes: list[Process]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in reversed(processes):
            process.stop()


def python(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def gateway(logs: Path) -> Process:
    env = {
        **os.environ,
        "MOCK_GATEWAY_PORT": str(free_port()),
        "MOCK_GATEWAY_APP_KEY": APP_KEY,
        "MOCK_GATEWAY_APP_SECRET": SECRET,
        "MOCK_GATEWAY_INTAKE_DELAY": "0",
    }
    process = Process("mock gateway", python("mock_gateway"), env, logs / "gateway.log")
    process.wait_until_up("/healthz")
    return process


def bare(logs: Path) -> Process:
    env = {**os.environ, "PORT": str(free_port())}
    process = Process("bare sanic", python("bench.bare"), env, logs / "bare.log")
    process.wait_until_up("/")
    return process


def lingpao_env(database_url: str, redis_url: str, gateway_url: str, tmp: Path) -> dict:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KEYS_DIR": str(tmp / "keys"),
        "UPLOADS_DIR": str(tmp / "uploads"),
        "GATEWAY_URL": gateway_url,
        "GATEWAY_APP_KEY": APP_KEY,
        "GATEWAY_APP_SECRET": SECRET,
        "LOGIN_RATE_LIMIT": UNLIMITED,
        "REFRESH_RATE_LIMIT": UNLIMITED,
        "VERIFY_RATE_LIMIT": UNLIMITED,
    }


def lingpao(env: dict[str, str], workers: int, logs: Path) -> Process:
    env = {**env, "PORT": str(free_port()), "WORKERS": str(workers)}
    process = Process(
        f"lingpao ×{workers}", python("server", "serve"), env, logs / f"lingpao-{workers}.log"
    )
    process.wait_until_up("/readyz")
    return process


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        python("server", *args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"server {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@contextlib.contextmanager
def database(admin_url: str) -> Iterator[str]:
    """A database of this run's own, dropped at the end."""
    import asyncio

    import asyncpg

    name = f"lingpao_bench_{uuid.uuid4().hex[:10]}"
    dsn = admin_url.replace("postgres://", "postgresql://", 1)

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    try:
        base, _, _ = admin_url.rpartition("/")
        yield f"{base}/{name}"
    finally:
        asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def resident_mb(process: Process) -> list[float]:
    """Resident memory of each process in the server's group (its workers), in MB."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            pid = int(status.parent.name)
            if os.getpgid(pid) != process.popen.pid:
                continue
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if "python" not in fields.get("Name", "") or "VmRSS" not in fields:
                continue
            sizes.append(round(int(fields["VmRSS"].split()[0]) / 1024, 1))
    return sorted(sizes)
