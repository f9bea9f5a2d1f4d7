#!/usr/bin/env bash
# make demo: NetBox with the plugin at http://127.0.0.1:8000 and its RQ worker, in the foreground.
# Ctrl-C stops everything this script started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$NETBOX_MERAKI_REPO"
PORT="${DEMO_PORT:-8000}"
LOGS="$NETBOX_MERAKI_STATE/demo"
mkdir -p "$LOGS"

pids=()
stop() {
    trap - INT TERM EXIT
    echo; echo "[demo] stopping"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

dev/netbox rqworker high default low >"$LOGS/rqworker.log" 2>&1 &
pids+=($!)
dev/netbox runserver --insecure --noreload "127.0.0.1:$PORT" >"$LOGS/runserver.log" 2>&1 &
pids+=($!)

for _ in $(seq 60); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/login/" && break
    sleep 1
done
cat <<MSG

  NetBox with netbox-meraki is serving at http://127.0.0.1:$PORT/
  Log in as admin / admin; the plugin is under the "Meraki" menu.
  Logs: $LOGS   -   Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
