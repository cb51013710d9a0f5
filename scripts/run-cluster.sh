#!/usr/bin/env bash
# `make cluster`: Lingpao as two instances of WORKERS workers behind HAProxy
# (deploy/haproxy.cfg) on PORT, and the mock gateway on MOCK_GATEWAY_PORT, over the
# PostgreSQL of DATABASE_URL and the Redis of REDIS_URL. Ctrl-C or SIGTERM stops everything.
# A client written for `make run` runs unchanged against it (same ports, same demo data).
set -u
cd "$(dirname "$0")/.." || exit 2
PY="${1:-.venv/bin/python}"

export PORT="${PORT:-8000}"
export MOCK_GATEWAY_HOST="${MOCK_GATEWAY_HOST:-127.0.0.1}"
export MOCK_GATEWAY_PORT="${MOCK_GATEWAY_PORT:-8100}"
read -r -a instance_ports <<<"${INSTANCE_PORTS:-$((PORT + 1)) $((PORT + 2))}"
if [ "${#instance_ports[@]}" -ne 2 ]; then
  echo "INSTANCE_PORTS names two ports (deploy/haproxy.cfg has two instances)" >&2
  exit 2
fi
case "${DATABASE_URL:-}" in postgres://* | postgresql://*) ;; *)
  echo "make cluster needs DATABASE_URL=postgres://… (every instance shares it)" >&2; exit 2 ;;
esac
if [ -z "${REDIS_URL:-}" ]; then
  echo "make cluster needs REDIS_URL (redis://, redis+sentinel:// or redis+cluster://)" >&2
  exit 2
fi
command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install haproxy)" >&2; exit 2; }

pids=()
stop() {
  # A second signal (make relays SIGTERM to us as well) must not end this script while the
  # servers are still stopping: each is bounded by its own grace period.
  trap '' INT TERM
  trap - EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# The database is made once, then migrated and seeded as `make run` does: one process,
# before any instance starts (which also generates development keys into KEYS_DIR once,
# for every instance to read).
"$PY" -m server migrate --create-database || exit 2
"$PY" -m server seed-demo || exit 2
addresses=$("$PY" -m server check-config) || exit 2

set -m  # each process in a group of its own: it gets one signal, the one `stop` sends
MOCK_GATEWAY_APP_SECRET_FILE="${KEYS_DIR:-var/keys}/gateway_app_secret" \
MOCK_GATEWAY_APP_KEY="${GATEWAY_APP_KEY:-lingpao-dev}" "$PY" -m mock_gateway &
pids+=($!)
metrics_root="${CLUSTER_METRICS_DIR:-var/cluster}"
names=(a b)
for i in 0 1; do
  # The gateway calls back through the load balancer, as it would reach a real deployment.
  PORT="${instance_ports[$i]}" WORKERS="${WORKERS:-2}" TRUSTED_PROXIES=1 \
  CALLBACK_URL="${CALLBACK_URL:-http://127.0.0.1:$PORT/api/v1/gateway/callbacks}" \
  PROMETHEUS_MULTIPROC_DIR="$metrics_root/metrics-${names[$i]}" \
    "$PY" -m server serve &
  pids+=($!)
done
LINGPAO_LB_BIND="127.0.0.1:$PORT" \
LINGPAO_INSTANCE_A="127.0.0.1:${instance_ports[0]}" \
LINGPAO_INSTANCE_B="127.0.0.1:${instance_ports[1]}" \
  haproxy -db -f deploy/haproxy.cfg &
pids+=($!)
set +m

mock_host="$MOCK_GATEWAY_HOST"
case "$mock_host" in 0.0.0.0 | ::) mock_host=127.0.0.1 ;; esac
echo "Lingpao cluster, Ctrl-C stops everything:"
echo "${addresses#*$'\n'}"
echo "  instances      http://127.0.0.1:${instance_ports[0]} and http://127.0.0.1:${instance_ports[1]}, ${WORKERS:-2} workers each, behind HAProxy"
echo "  mock gateway   http://$mock_host:$MOCK_GATEWAY_PORT (the provincial gateway stand-in)"
# Any process ending ends the run, so a crash is not hidden behind a live sibling.
wait -n
