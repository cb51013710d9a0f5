"""A redis-server of the test's own, on a spare port, to stop and restart on purpose.

The shared Redis of the machine is never touched. Like the Redis of many deployments it
keeps nothing on disk, so a restart comes back empty.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time


def spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis)")
        self.binary = binary
        self.port = spare_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            self._wait_until(up=True)
        except BaseException:
            self.stop()  # never leave a server behind that no fixture will stop
            raise
        return self

    def stop(self) -> None:
        """Kills it at once, as a crash or an eviction would: no goodbye to the clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
        self._wait_until(up=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _wait_until(self, *, up: bool) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._answers() == up:
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on {self.port} did not come {'up' if up else 'down'}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
