#!/usr/bin/env bash
# make bench: sync simulator organizations of growing size into a scratch NetBox database and print figures.
# BENCH_SIZES (default "100 1000 10000": a dry run, a first sync, a second sync and two change-driven syncs of each;
# `<n>:plan` measures dry runs only; the 10,000-device size takes 15 to 20 minutes, 9 to 13 of them its first sync) and
# BENCH_LATENCY_MS (default 50) change what is measured.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$NETBOX_MERAKI_REPO"
export NETBOX_DB_NAME=netbox_meraki_bench
export PGOPTIONS="-c client_min_messages=warning"
drop() { psql -h 127.0.0.1 -U netbox_meraki -d postgres -qc "drop database if exists $NETBOX_DB_NAME"; }
trap drop EXIT
# Each size syncs into a NetBox of its own, cloned from the migrated template.
"$VENV/bin/python" dev/bench.py --header
for size in ${BENCH_SIZES:-100 1000 10000}; do
    drop
    psql -h 127.0.0.1 -U netbox_meraki -d postgres -qc "create database $NETBOX_DB_NAME template netbox_meraki_tpl"
    "$VENV/bin/python" dev/bench.py "$size"
done
