"""The shared key-value store: real Redis when configured, an in-process stand-in otherwise.

`REDIS_URL` names the deployment by its scheme (the schemes of the `limits` library, so one
URL reads the same in both):

    redis://[:password@]host:port/db                       one Redis (also rediss://, unix://)
    redis+sentinel://[:password@]host:port,host:port/master[/db]
                                                           Redis Sentinel: the sentinels, and
                                                           the master's name they watch
    redis+cluster://[:password@]host:port,host:port        Redis Cluster: any of its nodes

Whatever the scheme, the rest of Lingpao gets one client (`KV`) with the same commands. What
Cluster asks of the callers: keys one command or pipeline touches together carry one hash
tag (`auth.store`), and no transaction spans slots (none does).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import fakeredis
import redis.asyncio as redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException

from core.errors import ConfigError

KV = redis.Redis | RedisCluster

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"
# How long a refusal write waits for a replica to hold it too (Sentinel): a master that dies
# before its replica has a write would otherwise take that write with it into the failover.
REPLICA_ACK_MS = 500


@dataclass(frozen=True)
class RedisTarget:
    """What `REDIS_URL` names: `mode` is standalone, sentinel or cluster."""

    mode: str
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    master: str = ""
    db: int = 0
    password: str | None = None

    @property
    def replicated(self) -> bool:
        """Whether a write should wait for a replica (a Sentinel master has one)."""
        return self.mode == "sentinel"


def parse_redis_url(url: str) -> RedisTarget:
    """Reads `url`, or says clearly what is wrong with it (ConfigError)."""
    scheme = url.partition("://")[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        return RedisTarget("standalone", url)
    if scheme not in (SENTINEL_SCHEME, CLUSTER_SCHEME):
        raise ConfigError(
            f"REDIS_URL scheme {scheme!r} is not redis, rediss, unix, "
            f"{SENTINEL_SCHEME} or {CLUSTER_SCHEME}"
        )
    parts = urlsplit(url)
    auth, _, hosts = parts.netloc.rpartition("@")
    password = unquote(auth.partition(":")[2]) if auth else None
    nodes = tuple(_node(h, url) for h in hosts.split(",") if h.strip())
    if not nodes:
        raise ConfigError(f"REDIS_URL {scheme}:// names no host:port")
    path = [p for p in parts.path.split("/") if p]
    if scheme == CLUSTER_SCHEME:
        if path:  # a cluster has one database, 0
            raise ConfigError("REDIS_URL redis+cluster:// takes no database or path")
        return RedisTarget("cluster", url, nodes, password=password)
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ConfigError("REDIS_URL redis+sentinel:// ends in /MASTER_NAME or /MASTER_NAME/DB")
    db = int(path[1]) if len(path) == 2 else 0
    return RedisTarget("sentinel", url, nodes, master=path[0], db=db, password=password)


def _node(text: str, url: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"REDIS_URL {url.partition('://')[0]}:// node {text!r} is not host:port")
    return host.strip("[]"), int(port)


def _retry(retries: int = 1) -> Retry:
    return Retry(
        ExponentialBackoff(cap=0.05, base=0.01),
        retries=retries,
        supported_errors=(RedisConnectionError,),
    )


class _Cluster(RedisCluster):
    """A Redis Cluster client whose "no node answers" is a ConnectionError, as any Redis's.

    redis-py raises RedisClusterException, which is no RedisError, when it cannot build its
    map of the slots (every node down, slots not covered). Every caller that answers a
    RedisError by asking the database, or by a 503, met it as a 500 instead (login and
    `/me` with every node down; tests/cluster/test_redis_cluster_outage.py). Only the
    map's building is translated: the same exception type also names misuse (keys of
    several slots in one command), which stays a bug."""

    async def initialize(self, *args: Any, **kwargs: Any) -> _Cluster:
        try:
            await super().initialize(*args, **kwargs)
        except RedisClusterException as exc:
            raise RedisConnectionError(f"no Redis Cluster node answers: {exc}") from exc
        return self


def open_redis(url: str | None) -> KV:
    if not url:
        # A FakeServer of its own per app, so two apps in one test process share nothing
        # unless a test hands them the same one.
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    target = parse_redis_url(url)
    # Short timeouts: a dead Redis must turn into a clear 503, not a hung request.
    # One quick retry on a connection error only: after Redis restarts, every pooled
    # connection is dead and the first command on each would fail without it; under
    # Sentinel the retry also asks the sentinels again which node is the master. A timeout
    # is not retried, so a stalled Redis costs one socket timeout, not several. A write
    # whose answer was lost may be sent twice: ours are sets and deletes that a second
    # copy does not change, and counters, which then move a version further on (harmless)
    # or a rate limit one request earlier.
    timeouts: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 2}
    if target.mode == "cluster":
        # After a node fails the cluster needs a moment to elect its replica; the client
        # asks again for the slot map between its tries.
        return _Cluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            password=target.password,
            retry=_retry(retries=2),
            **timeouts,
        )
    if target.mode == "sentinel":
        sentinel = Sentinel(
            list(target.nodes),
            sentinel_kwargs={**timeouts, "password": target.password},
            password=target.password,
            db=target.db,
            health_check_interval=30,
            retry=_retry(),
            **timeouts,
        )
        return sentinel.master_for(target.master)
    return redis.Redis.from_url(url, health_check_interval=30, retry=_retry(), **timeouts)


async def close_redis(client: KV) -> None:
    pool = getattr(client, "connection_pool", None)
    if not isinstance(pool, SentinelConnectionPool):
        await client.aclose()
        return
    # master_for hands its client a pool the client does not own: close it too, and the
    # connections to the sentinels themselves.
    await client.aclose(close_connection_pool=True)  # type: ignore[call-arg]
    for sentinel in pool.sentinel_manager.sentinels:
        with contextlib.suppress(Exception):
            await sentinel.aclose()


async def ping_redis(client: KV) -> None:
    await client.ping()
