#!/usr/bin/env bash
# make demo: the Meraki simulator, NetBox with the plugin at http://127.0.0.1:8000 and its RQ worker, and a
# first sync, in the foreground. Ctrl-C stops everything this script started.
# DEMO_PORT (8000), DEMO_SIM_PORT (8765) and DEMO_SCALE (small; or medium, large) change the defaults.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$NETBOX_MERAKI_REPO"
PORT="${DEMO_PORT:-8000}"
SIM_PORT="${DEMO_SIM_PORT:-8765}"
LOGS="$NETBOX_MERAKI_STATE/demo"
mkdir -p "$LOGS"

# The demo's Meraki is the project's simulator; the key is the simulator's, not a real one.
export MERAKI_DASHBOARD_API_KEY=demo-0123456789abcdef0123456789abcdef
export MERAKI_BASE_URL="http://127.0.0.1:$SIM_PORT/api/v1"

pids=()
stop() {
    trap - INT TERM EXIT
    echo; echo "[demo] stopping"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# Jobs left in the development queues by an earlier session refer to runs that are gone: start clean.
"$VENV/bin/python" -c "import redis; redis.Redis(host='127.0.0.1', db=int('${REDIS_TASKS_DB:-4}')).flushdb()"

"$VENV/bin/python" -m meraki_sim serve --host 127.0.0.1 --port "$SIM_PORT" --seed 1 --scale "${DEMO_SCALE:-small}" \
    --api-key "$MERAKI_DASHBOARD_API_KEY" >"$LOGS/simulator.log" 2>&1 &
pids+=($!)
dev/netbox rqworker high default low >"$LOGS/rqworker.log" 2>&1 &
pids+=($!)
dev/netbox runserver --insecure --noreload "127.0.0.1:$PORT" >"$LOGS/runserver.log" 2>&1 &
pids+=($!)

for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$SIM_PORT/" && break; sleep 0.2; done
echo "[demo] first sync from the Meraki simulator at $MERAKI_BASE_URL"
dev/netbox meraki_sync --mode auto || echo "[demo] the first sync failed: see above"

for _ in $(seq 60); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/login/" && break
    sleep 1
done
cat <<MSG

  NetBox with netbox-meraki is serving at http://127.0.0.1:$PORT/
  Log in as admin / admin; the plugin is under the "Meraki" menu.
  Meraki simulator: $MERAKI_BASE_URL   Logs: $LOGS
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
