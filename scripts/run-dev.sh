#!/usr/bin/env bash
# Starts the development processes and stops all of them on Ctrl-C or SIGTERM.
# One variable per port moves both sides: PORT moves the API (and the callback URL the
# gateway pushes to), MOCK_GATEWAY_PORT moves the mock gateway and, unless GATEWAY_URL is
# set, the gateway the API talks to (server/settings.py derives both).
set -u
cd "$(dirname "$0")/.." || exit 2
PY="${1:-.venv/bin/python}"
pids=()
stop() {
  # A second signal (make relays SIGTERM to us as well) must not end this script while the
  # servers are still stopping: each is bounded by its own grace period.
  trap '' INT TERM
  trap - EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait
}
# Stopped when asked, the run ends well; a server that ended on its own ends it with its status.
trap 'stop; exit 0' INT TERM
trap stop EXIT

export MOCK_GATEWAY_HOST="${MOCK_GATEWAY_HOST:-127.0.0.1}"
export MOCK_GATEWAY_PORT="${MOCK_GATEWAY_PORT:-8100}"
# check-config fails early on a bad setting and prints the addresses the API will use,
# resolved by the same settings object the server reads.
addresses=$("$PY" -m server check-config) || exit 2

# Each server runs in a process group of its own (job control on while they start), so it
# gets one signal, the one `stop` sends: a Ctrl-C or a SIGTERM to our whole group used to
# reach it twice, and a Sanic server signalled again while it stops can hang, not exit.
set -m
# The mock gateway knows our app by the secret the backend generated in var/keys, and
# signs as GATEWAY_SIGNATURE says the backend does.
MOCK_GATEWAY_APP_SECRET_FILE="${KEYS_DIR:-var/keys}/gateway_app_secret" \
MOCK_GATEWAY_SIGNATURE="${MOCK_GATEWAY_SIGNATURE:-${GATEWAY_SIGNATURE:-hmac-sha256}}" \
MOCK_GATEWAY_APP_KEY="${GATEWAY_APP_KEY:-lingpao-dev}" "$PY" -m mock_gateway &
pids+=($!)
"$PY" -m server serve &
pids+=($!)
set +m

mock_host="$MOCK_GATEWAY_HOST"
case "$mock_host" in 0.0.0.0 | ::) mock_host=127.0.0.1 ;; esac
echo "Lingpao, Ctrl-C stops everything:"
echo "${addresses#*$'\n'}"
echo "  mock gateway   http://$mock_host:$MOCK_GATEWAY_PORT (the provincial gateway stand-in)"
# Any process ending ends the run, so a crash is not hidden behind a live sibling.
wait -n
