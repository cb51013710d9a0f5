#!/usr/bin/env bash
# Starts the development processes and stops all of them on Ctrl-C or SIGTERM.
set -u
PY="${1:-.venv/bin/python}"
pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait
}
trap stop INT TERM EXIT

if [ -f mock_gateway/__main__.py ]; then
  "$PY" -m mock_gateway &
  pids+=($!)
fi
"$PY" -m server serve &
pids+=($!)
echo "Lingpao API on http://127.0.0.1:8000 (Ctrl-C stops everything)"
# Any process ending ends the run, so a crash is not hidden behind a live sibling.
wait -n
