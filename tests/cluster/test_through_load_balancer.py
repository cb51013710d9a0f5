"""What `make cluster` promises: two instances of two workers behind HAProxy share every
decision a client can notice, whichever instance and worker answers. Run twice: over one
Redis, and over a three-node Redis Cluster the test starts."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from server.observability import FLUSH_SECONDS
from tests.cluster.lingpao_cluster import (
    LI,
    WANG,
    ZHANG,
    Cluster,
    bearer,
    cluster_running,
    listening,
    served_by,
    stop_cluster,
    until_delivered,
)
from tests.cluster.redis_nodes import RedisClusterNodes, until
from tests.e2e.conftest import ROOT
from tests.real_services import emptied, fresh_database

NEEDS = ("haproxy",)
pytestmark = pytest.mark.timeout(180)
# Four requests in a row reach both instances (round robin) and, over keep-alive
# connections HAProxy spreads, both workers of each more often than not.
ROUND = 4


@pytest.fixture(scope="module", params=["redis", "redis-cluster"])
async def cluster(request, tmp_path_factory, redis_url):
    folder = tmp_path_factory.mktemp(request.param)
    nodes = RedisClusterNodes(folder) if request.param == "redis-cluster" else None
    try:
        shared = nodes.url if nodes else await emptied(redis_url)
        async with fresh_database() as database_url:
            with cluster_running(
                folder,
                database_url,
                shared,
                LOGIN_RATE_LIMIT="1000/minute",
                VERIFY_RATE_LIMIT="6/minute",
            ) as running:
                yield running
    finally:
        if nodes:
            nodes.stop()


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client


def me_everywhere(http: httpx.Client, cluster: Cluster, tokens: dict) -> set[tuple[str, int]]:
    """(instance, status) of ROUND reads of /me through the load balancer."""
    answers = [http.get(f"{cluster.url}/api/v1/me", headers=bearer(tokens)) for _ in range(ROUND)]
    return {(served_by(a), a.status_code) for a in answers}


def test_the_load_balancer_spreads_requests_over_both_ready_instances(cluster, http):
    answers = [http.get(f"{cluster.url}/readyz") for _ in range(ROUND)]
    assert {a.status_code for a in answers} == {200}
    assert {served_by(a) for a in answers} == {"a", "b"}


def test_the_catalog_is_fetched_once_though_four_workers_start_on_an_empty_one(cluster, http):
    assert cluster.tally(http)["catalog_fetches"] == 1


def test_a_logout_on_one_instance_is_refused_by_every_instance(cluster, http):
    tokens = cluster.login(http)
    assert me_everywhere(http, cluster, tokens) == {("a", 200), ("b", 200)}
    assert http.post(f"{cluster.url}/api/v1/auth/logout", headers=bearer(tokens)).status_code == 204
    assert me_everywhere(http, cluster, tokens) == {("a", 401), ("b", 401)}


def test_a_disabled_user_is_refused_by_every_instance_at_once(cluster, http):
    tokens = cluster.login(http, LI)
    assert me_everywhere(http, cluster, tokens) == {("a", 200), ("b", 200)}
    disabled = subprocess.run(
        [sys.executable, "-m", "server", "disable-user", LI[0]],
        cwd=ROOT,
        env=cluster.env,
        capture_output=True,
        timeout=60,
    )
    assert disabled.returncode == 0, disabled.stderr
    assert me_everywhere(http, cluster, tokens) == {("a", 401), ("b", 401)}


def test_a_reused_refresh_token_ends_the_family_on_every_instance(cluster, http):
    first = cluster.login(http)
    second = http.post(
        f"{cluster.url}/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    ).json()
    assert me_everywhere(http, cluster, second) == {("a", 200), ("b", 200)}
    reused = http.post(
        f"{cluster.url}/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert me_everywhere(http, cluster, second) == {("a", 401), ("b", 401)}


def test_an_identity_token_is_taken_once_whichever_instance_sees_it_again(cluster, http):
    identity = cluster.identity_token(http, ZHANG)
    tries = [
        http.post(f"{cluster.url}/api/v1/auth/login", json={"identity_token": identity})
        for _ in range(ROUND)
    ]
    assert [t.status_code for t in tries] == [200, 401, 401, 401]
    assert {served_by(t) for t in tries[1:]} == {"a", "b"}
    assert {t.json()["error"]["code"] for t in tries[1:]} == {"invalid_identity_token"}


def test_a_rate_limit_counts_the_calls_of_every_instance_together(cluster, http):
    # VERIFY_RATE_LIMIT is 6/minute for this cluster: each instance saw three of the six.
    calls = [
        http.post(f"{cluster.url}/api/v1/presentations/verify", json={"token": "not-a-token"})
        for _ in range(7)
    ]
    assert [c.status_code for c in calls[:6]] == [200] * 6
    assert {served_by(c) for c in calls[:6]} == {"a", "b"}
    assert calls[6].status_code == 429


def test_a_mode_switch_is_served_by_the_next_read_on_every_instance(cluster, http):
    ops = cluster.login(http, WANG)
    item = http.get(f"{cluster.url}/api/v1/items/JY001").json()
    target = "zero_trip" if item["mode"] != "zero_trip" else "one_trip"
    switched = http.put(
        f"{cluster.url}/api/v1/ops/items/JY001/mode",
        json={"mode": target, "reason": "入学材料均可电子调取"},
        headers={**bearer(ops), "if-match": str(item["version"])},
    )
    assert switched.status_code == 200, switched.text
    reads = [http.get(f"{cluster.url}/api/v1/items/JY001") for _ in range(ROUND)]
    assert {(served_by(r), r.json()["mode"]) for r in reads} == {("a", target), ("b", target)}


def test_applications_filed_anywhere_reach_the_gateway_once_each(cluster, http):
    tokens = cluster.login(http)
    certificates = http.get(f"{cluster.url}/api/v1/me/certificates", headers=bearer(tokens))
    id_card = next(
        c["id"]
        for c in certificates.json()["items"]
        if c["type"] == "111" and c["status"] == "valid"
    )
    filed = [
        http.post(
            f"{cluster.url}/api/v1/applications",
            headers={**bearer(tokens), "idempotency-key": f"cluster-{n}"},
            json={"item_code": "JT002", "materials": {"id_card": {"certificate_id": id_card}}},
        )
        for n in range(12)
    ]
    assert {f.status_code for f in filed} == {202}
    assert {served_by(f) for f in filed} == {"a", "b"}
    ids = [f.json()["id"] for f in filed]
    sent = until_delivered(http, cluster, ids)
    # Four delivery loops raced for these rows; the gateway saw each exactly once.
    assert {key: sent[key] for key in ids} == dict.fromkeys(ids, 1)


def healthz_count(instance: str) -> float:
    # A worker counts what it answered in batches, every FLUSH_SECONDS: a scrape of one
    # worker sees the other's requests once that much has passed since they were answered.
    time.sleep(FLUSH_SECONDS * 3)
    text = httpx.get(f"{instance}/metrics").text
    found = re.search(
        r'^lingpao_http_requests_total\{method="GET",route="healthz",status="200"\} (\S+)$',
        text,
        re.M,
    )
    return float(found.group(1)) if found else 0.0


def test_a_scrape_of_either_worker_reports_the_instance_totals(cluster, http):
    instance = cluster.instances["a"]
    before = healthz_count(instance)
    # New connections, so the kernel hands them to both of the instance's workers.
    for _ in range(40):
        assert httpx.get(f"{instance}/healthz").status_code == 200
    # Each scrape is answered by either worker: every one reports the instance's total.
    assert {healthz_count(instance) for _ in range(6)} == {before + 40}
    # Both workers wrote samples: a scrape of either one added up the other's too.
    assert len(list((cluster.metrics_dir / "metrics-a").glob("counter_*.db"))) == 2


def test_ctrl_c_stops_every_process_the_cluster_started(cluster):
    ports = cluster.ports()
    assert all(listening(p) for p in ports)
    stop_cluster(cluster, signal.SIGINT)
    assert cluster.process.returncode == 0
    until(lambda: not any(listening(p) for p in ports), "every port closed", timeout=5)
