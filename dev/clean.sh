#!/usr/bin/env bash
# make clean: drop the development databases and remove the git-ignored state (.dev, .venv, caches).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$NETBOX_MERAKI_REPO"
pg_super() {
    if psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
        psql -h 127.0.0.1 -U postgres -qtA "$@"
    elif [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- psql -qtA "$@"
    else
        sudo -u postgres psql -qtA "$@"
    fi
}
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    for db in test_netbox_meraki netbox_meraki_dist netbox_meraki_tpl netbox_meraki; do
        pg_super -d postgres -c "select pg_terminate_backend(pid) from pg_stat_activity where datname = '$db'" >/dev/null
        pg_super -d postgres -c "drop database if exists $db"
    done
fi
rm -rf .dev .venv test-artifacts dist build ./*.egg-info
find . -name __pycache__ -type d -prune -exec rm -rf {} +
echo "[clean] dropped the development databases and removed .dev, .venv and caches"
