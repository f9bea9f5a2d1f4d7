#!/usr/bin/env bash
# meraki-sync-cron.sh: run by cron. Checks whether a scheduled Meraki sync is due (the plugin settings in NetBox
# decide: enabled, interval, mode), runs it, appends what happened to a log file and, when the sync fails,
# e-mails the output.
#
# Install (as root):
#   install -m 0755 meraki-sync-cron.sh /usr/local/bin/meraki-sync-cron.sh
#   install -d -o netbox -g netbox /var/log/netbox
# then put one of these schedules in /etc/cron.d/netbox-meraki (the sixth field is the user, here `netbox`):
#
#   # Every 5 minutes (recommended: a sync starts at most 5 minutes after it is due, whatever the interval)
#   */5 * * * *        netbox  /usr/local/bin/meraki-sync-cron.sh
#   # Every 15 minutes (fewer NetBox start-ups; a sync may start up to 15 minutes late)
#   */15 * * * *       netbox  /usr/local/bin/meraki-sync-cron.sh
#   # Hourly at minute 7 (intervals of an hour or more)
#   7 * * * *          netbox  /usr/local/bin/meraki-sync-cron.sh
#   # Working hours only: every 10 minutes from 07:00 to 18:59, Monday to Friday
#   */10 7-18 * * 1-5  netbox  /usr/local/bin/meraki-sync-cron.sh
#   # Every night at 02:30 whatever the settings say (--force syncs even when not due or disabled)
#   30 2 * * *         netbox  /usr/local/bin/meraki-sync-cron.sh --force
#
# Environment (set it at the top of /etc/cron.d/netbox-meraki, e.g. MERAKI_SYNC_MAILTO=netops@example.com):
#   NETBOX_ROOT         NetBox's directory (default /opt/netbox)
#   NETBOX_VENV         its virtual environment (default $NETBOX_ROOT/venv)
#   MERAKI_SYNC_LOG     log file (default /var/log/netbox/meraki-sync.log)
#   MERAKI_SYNC_MAILTO  address that gets the output of a failed sync, sent with `mail` (mailutils or
#                       bsd-mailx). Unset: the output is printed instead, and cron mails it to its MAILTO.
#   MERAKI_SYNC_LOCK    lock file that keeps two checks from overlapping (default /tmp/netbox-meraki-sync.lock)
# NetBox installed from PyPI ($NETBOX_VENV/bin/netbox exists) runs `netbox schedule_meraki_sync`; a git or tarball
# install runs `$NETBOX_VENV/bin/python $NETBOX_ROOT/netbox/manage.py schedule_meraki_sync`. If configuration.py
# reads the Meraki API key from the environment, set MERAKI_DASHBOARD_API_KEY in the crontab too.
#
# Exit codes of schedule_meraki_sync: 0 synced, 1 sync failed, 2 not due, 3 scheduled syncs disabled, 4 another
# sync is running. This script exits 0 for 0, 2, 3 and 4 (all logged), and with the command's code otherwise.

set -uo pipefail

NETBOX_ROOT="${NETBOX_ROOT:-/opt/netbox}"
NETBOX_VENV="${NETBOX_VENV:-$NETBOX_ROOT/venv}"
LOG_FILE="${MERAKI_SYNC_LOG:-/var/log/netbox/meraki-sync.log}"
MAIL_TO="${MERAKI_SYNC_MAILTO:-}"
LOCK_FILE="${MERAKI_SYNC_LOCK:-/tmp/netbox-meraki-sync.lock}"

if [ -x "$NETBOX_VENV/bin/netbox" ]; then
    netbox_command=("$NETBOX_VENV/bin/netbox" schedule_meraki_sync "$@")
else
    netbox_command=("$NETBOX_VENV/bin/python" "$NETBOX_ROOT/netbox/manage.py" schedule_meraki_sync "$@")
fi

log() { printf '%s %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >> "$LOG_FILE"; }

mkdir -p "$(dirname "$LOG_FILE")"
# One check at a time: a long sync must not be joined by the next cron tick.
exec 9> "$LOCK_FILE"
if ! flock -n 9; then
    log "meraki-sync-cron: the previous check is still running; skipped."
    exit 0
fi

output="$("${netbox_command[@]}" 2>&1)"
status=$?
[ -n "$output" ] && printf '%s\n' "$output" >> "$LOG_FILE"

case "$status" in
    0 | 2 | 3 | 4) exit 0 ;;
esac

log "meraki-sync-cron: schedule_meraki_sync exited with code $status."
subject="NetBox Meraki scheduled sync failed on $(hostname) (exit code $status)"
if [ -n "$MAIL_TO" ]; then
    if ! printf '%s\n\n%s\n' "$subject" "$output" | mail -s "$subject" "$MAIL_TO"; then
        log "meraki-sync-cron: could not mail $MAIL_TO."
    fi
else
    printf '%s\n\n%s\n' "$subject" "$output"
fi
exit "$status"
