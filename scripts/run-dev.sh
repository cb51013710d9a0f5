#!/usr/bin/env bash
# Starts the development processes and stops all of them on Ctrl-C or SIGTERM.
set -u
cd "$(dirname "$0")/.." || exit 2
PY="${1:-.venv/bin/python}"
pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait
}
trap stop INT TERM EXIT

# The mock gateway knows our app by the secret the backend generated in var/keys.
"$PY" -m server check-config >/dev/null || exit 2
MOCK_GATEWAY_APP_SECRET_FILE="${KEYS_DIR:-var/keys}/gateway_app_secret" \
MOCK_GATEWAY_APP_KEY="${GATEWAY_APP_KEY:-lingpao-dev}" "$PY" -m mock_gateway &
pids+=($!)
"$PY" -m server serve &
pids+=($!)
echo "Lingpao API on http://127.0.0.1:8000, mock gateway on http://127.0.0.1:8100 (Ctrl-C stops both)"
# Any process ending ends the run, so a crash is not hidden behind a live sibling.
wait -n
