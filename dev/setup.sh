#!/usr/bin/env bash
# make setup: build (or bring up to date) the development environment. Safe to run again at any time;
# each step is skipped when its inputs have not changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$NETBOX_MERAKI_REPO"

DB_NAME=netbox_meraki
DB_USER=netbox_meraki
DB_TEMPLATE=netbox_meraki_tpl
NETBOX_SPEC='netbox>=4.7,<4.8'

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

find_python() {
    local candidate
    for candidate in python3.13 python3.12; do
        # pyenv shims exist on PATH but refuse to run when the version is not selected: try, do not trust.
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
            command -v "$candidate"; return
        fi
    done
    local root
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for candidate in "$root"/versions/3.13*/bin/python "$root"/versions/3.12*/bin/python; do
        if [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
            echo "$candidate"; return
        fi
    done
    echo "No Python >= 3.12 found (tried python3.13, python3.12 and pyenv's versions)." >&2
    exit 1
}

stamp_matches() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# --- Python environment ---------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    python="$(find_python)"
    say "creating .venv with $python"
    "$python" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
fi
deps_hash="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if ! stamp_matches "$VENV/.netbox-meraki-deps" "$deps_hash"; then
    say "installing NetBox 4.7 and netbox-meraki (editable) with test and lint tools"
    "$VENV/bin/pip" install --quiet "$NETBOX_SPEC" -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
    "$VENV/bin/python" -c 'import netbox_meraki, netbox, meraki' # fail here, not later, if the install did not work
    echo "$deps_hash" > "$VENV/.netbox-meraki-deps"
fi

# --- PostgreSQL and Redis ---------------------------------------------------------------------------
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
# Test tools from Debian: systemd-analyze checks the deployment units; Chromium runs the browser test.
missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (test tools)"
    as_root apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
        || { as_root apt-get update -q >/dev/null 2>&1 && as_root apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
if ! redis_up; then
    if ! command -v redis-server >/dev/null; then
        say "installing redis-server"
        as_root apt-get install -y -q redis-server >/dev/null
    fi
    say "starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/netbox-meraki.log
    for _ in $(seq 30); do redis_up && break; sleep 0.2; done
fi

# psql as a PostgreSQL superuser: over TCP as postgres (trust auth), else through the postgres OS user.
export PGOPTIONS="-c client_min_messages=warning"
pg_super() {
    if psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
        psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qtA "$@"
    elif [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"
    else
        sudo -u postgres psql -v ON_ERROR_STOP=1 -qtA "$@"
    fi
}
if [ -z "$(pg_super -d postgres -c "select 1 from pg_roles where rolname = '$DB_USER'")" ]; then
    say "creating database role $DB_USER"
    pg_super -d postgres -c "create role $DB_USER login createdb password '$DB_USER'"
fi
# --- NetBox instance ---------------------------------------------------------------------------------
mkdir -p "$NETBOX_MERAKI_STATE" "$NETBOX_ROOT"
if [ ! -s "$NETBOX_MERAKI_STATE/secret_key" ]; then
    "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(64))' > "$NETBOX_MERAKI_STATE/secret_key"
fi

db_exists() { [ -n "$(pg_super -d postgres -c "select 1 from pg_database where datname = '$1'")" ]; }
disconnect() { pg_super -d postgres -c "select pg_terminate_backend(pid) from pg_stat_activity where datname = '$1' and pid <> pg_backend_pid()" >/dev/null; }
schema_hash="$( { "$VENV/bin/pip" show netbox 2>/dev/null | grep '^Version'; cat netbox_meraki/migrations/*.py; } | sha256sum | cut -c1-16)"

# The test template holds only what migrations write, never the development instance's data: it is migrated on
# its own (tests clone it instead of replaying NetBox's migrations), and a new development database starts as a
# copy of it. The schema it was migrated to is kept as the database's comment, so every checkout on this machine
# (a new clone too) finds it ready instead of replaying NetBox's migrations again.
template_stamp="netbox-meraki schema $schema_hash"
if ! db_exists "$DB_TEMPLATE"; then
    say "creating the test template database $DB_TEMPLATE"
    pg_super -d postgres -c "create database $DB_TEMPLATE owner $DB_USER"
fi
# NetBox needs ltree; only a superuser may create it. Copies of the template inherit it.
pg_super -d "$DB_TEMPLATE" -c 'create extension if not exists ltree'
if [ "$(pg_super -d postgres -c "select shobj_description(oid, 'pg_database') from pg_database where datname = '$DB_TEMPLATE'")" != "$template_stamp" ]; then
    say "migrating $DB_TEMPLATE (the first time replays NetBox's migrations: several minutes)"
    disconnect "$DB_TEMPLATE"
    NETBOX_DB_NAME="$DB_TEMPLATE" dev/netbox migrate --no-input | sed '/^  Applying/d'
    pg_super -d postgres -c "comment on database $DB_TEMPLATE is '$template_stamp'"
fi
if ! db_exists "$DB_NAME"; then
    say "creating database $DB_NAME"
    disconnect "$DB_TEMPLATE"
    pg_super -d postgres -c "create database $DB_NAME template $DB_TEMPLATE owner $DB_USER"
    rm -f "$NETBOX_MERAKI_STATE/migrated"
fi
if ! stamp_matches "$NETBOX_MERAKI_STATE/migrated" "$schema_hash"; then
    say "migrating $DB_NAME"
    dev/netbox migrate --no-input | sed '/^  Applying/d'
    dev/netbox shell --no-startup -c "exec(open('dev/bootstrap.py').read())"
    echo "$schema_hash" > "$NETBOX_MERAKI_STATE/migrated"
fi
say "ready: NetBox $("$VENV/bin/pip" show netbox 2>/dev/null | sed -n 's/^Version: //p') with netbox-meraki; dev/netbox <command> runs management commands"
