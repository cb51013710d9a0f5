"""Redis processes of a test's own on spare ports: a master and its replica, sentinels, the
nodes of a Redis Cluster. The shared Redis of the machine is never touched; nothing is kept
on disk but what Sentinel and Cluster write about themselves, under the test's folder."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.faults.redis_server import spare_port


class RedisNode:
    """One redis-server, in sentinel mode when `sentinel`: started by `start`, killed (as a
    crash is) by `kill`."""

    def __init__(self, folder: Path, config: list[str], *, sentinel: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis)")
        # A cluster node also listens on its port + 10000 (the cluster bus).
        self.port = next(p for p in iter(spare_port, None) if p < 55000)
        self.folder = folder / f"redis-{self.port}"
        self.folder.mkdir(parents=True)
        lines = [f"port {self.port}", "bind 127.0.0.1", f'dir "{self.folder}"']
        lines += ["daemonize no", 'save ""', "appendonly no"] if not sentinel else []
        # Sentinel rewrites its configuration file as it learns: it must be one of its own.
        self.config = self.folder / "redis.conf"
        self.config.write_text("\n".join(lines + config) + "\n")
        # What Debian's redis-sentinel package runs: redis-server in sentinel mode.
        self.command = [binary, str(self.config)] + (["--sentinel"] if sentinel else [])
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def start(self) -> RedisNode:
        log = (self.folder / "log").open("ab")
        self.process = subprocess.Popen(self.command, stdout=log, stderr=log)
        until(lambda: self._pings(), f"redis on {self.port} up")
        return self

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def _pings(self) -> bool:
        try:
            with self.client() as c:
                return bool(c.ping())
        except redis.RedisError:
            return False


def until(check, what: str, timeout: float = 20.0, pause: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(pause)
    raise AssertionError(f"not reached in {timeout:.0f} s: {what}")


class SentinelSet:
    """A master, its replica and three sentinels (quorum two) watching them as `name`."""

    def __init__(self, folder: Path, name: str = "lingpao") -> None:
        self.name = name
        self.master = RedisNode(folder, [])
        self.replica = RedisNode(folder, [f"replicaof 127.0.0.1 {self.master.port}"])
        watch = [
            f"sentinel monitor {name} 127.0.0.1 {self.master.port} 2",
            f"sentinel down-after-milliseconds {name} 1000",
            f"sentinel failover-timeout {name} 5000",
        ]
        self.sentinels = [RedisNode(folder, watch, sentinel=True) for _ in range(3)]
        try:
            self.master.start()
            self.replica.start()
            until(self._replicating, "the replica in sync")
            for sentinel in self.sentinels:
                sentinel.start()
            until(self._watching, "sentinels that know the replica and each other")
        except BaseException:
            self.stop()  # never leave a server behind that no fixture will stop
            raise

    @property
    def url(self) -> str:
        nodes = ",".join(s.address for s in self.sentinels)
        return f"redis+sentinel://{nodes}/{self.name}/0"

    def master_port(self) -> int:
        with self.sentinels[0].client() as c:
            return int(c.execute_command("SENTINEL", "get-master-addr-by-name", self.name)[1])

    def _replicating(self) -> bool:
        with self.replica.client() as c:
            return c.info("replication").get("master_link_status") == "up"

    def _watching(self) -> bool:
        for sentinel in self.sentinels:
            with sentinel.client() as c:
                if not c.execute_command("SENTINEL", "replicas", self.name):
                    return False
                if len(c.execute_command("SENTINEL", "sentinels", self.name)) < 2:
                    return False
        return True

    def stop(self) -> None:
        for node in [*self.sentinels, self.replica, self.master]:
            node.kill()


class RedisClusterNodes:
    """Three masters sharing the 16384 slots (no replicas), made a cluster by redis-cli."""

    def __init__(self, folder: Path) -> None:
        config = ["cluster-enabled yes", "cluster-config-file nodes.conf"]
        config += ["cluster-node-timeout 2000"]
        self.nodes = [RedisNode(folder, config) for _ in range(3)]
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(
                ["redis-cli", "--cluster", "create", *(n.address for n in self.nodes)]
                + ["--cluster-replicas", "0", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=30,
            )
            until(self._ok, "cluster_state:ok on every node")
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(n.address for n in self.nodes)

    def _ok(self) -> bool:
        for node in self.nodes:
            with node.client() as c:
                if c.execute_command("CLUSTER", "INFO").find("cluster_state:ok") < 0:
                    return False
        return True

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
