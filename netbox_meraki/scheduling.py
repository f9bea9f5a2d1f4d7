"""
Scheduled syncs. run_scheduled_sync() is what every scheduler calls: the NetBox worker's recurring job
(ScheduledSyncJob) and the schedule_meraki_sync command (cron, systemd, containers). It asks the settings
whether a sync is due, claims the slot, runs MerakiSyncService.sync_all() in the scheduled mode and records
the last and next times. sync_schedule() keeps the recurring job in step with the settings.
"""

import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import django_rq
from django.db import transaction
from django.utils import timezone
from django_pg_utils import advisory_lock
from redis.exceptions import RedisError

from core.choices import JobStatusChoices
from core.models import Job
from netbox.constants import ADVISORY_LOCK_KEYS

from .choices import RunStatusChoices, RunTriggerChoices
from .fetch import FetchError
from .jobs import ScheduledSyncJob
from .models import PluginSettings, SyncRun
from .secrets import redact
from .sync import ACTIVE, MerakiSyncService, SyncAlreadyRunning, SyncRefused

__all__ = (
    'EXIT_CODES', 'ScheduledSyncOutcome', 'last_scheduled_runs', 'reconcile_after_job', 'remove_schedule',
    'run_scheduled_sync', 'schedule_status', 'scheduled_job', 'scheduler_commands', 'sync_schedule',
)

SYNCED, FAILED, NOT_DUE, DISABLED, BUSY = 'synced', 'failed', 'not_due', 'disabled', 'busy'
# Exit codes of schedule_meraki_sync, per outcome.
EXIT_CODES = {SYNCED: 0, FAILED: 1, NOT_DUE: 2, DISABLED: 3, BUSY: 4}
# When the recurring job finds another sync running, it tries again this much later.
BUSY_RETRY = timedelta(minutes=5)
# The recurring job only dispatches (seconds); one still "running" after this died with its worker.
STALE_JOB_AGE = timedelta(hours=1)
BROKEN_RUN_STATUSES = (RunStatusChoices.FAILED, RunStatusChoices.INTERRUPTED)


@dataclass
class ScheduledSyncOutcome:
    """What one scheduled-sync check did: a status (synced, failed, not_due, disabled, busy) and why."""

    status: str
    message: str
    details: list = field(default_factory=list)
    runs: list = field(default_factory=list)

    @property
    def exit_code(self):
        return EXIT_CODES[self.status]

    def as_dict(self):
        return {
            'status': self.status,
            'message': self.message,
            'details': list(self.details),
            'runs': [run.pk for run in self.runs],
        }


def run_scheduled_sync(force=False, now=None, background=False, realign=True):
    """
    Run the scheduled sync when it is due (or whenever, with force): every configured organization in the scheduled
    mode, in this process (background=False) or as one background job per organization. `now` (default: the
    current time) decides whether the sync is due and becomes the last scheduled sync; the next one is an interval
    later. With realign, the NetBox recurring job is moved to that next time. Never raises for a sync that fails or
    cannot start: the outcome says what happened, and a failure to start any run is kept on the settings
    (record_schedule_failure) until a scheduled sync starts runs again.
    """
    now = now or timezone.now()
    outcome = start_scheduled_sync(force, now, background, realign)
    record_schedule_failure(outcome, now)
    return outcome


def start_scheduled_sync(force, now, background, realign):
    """run_scheduled_sync() without the record of its failure."""
    # Without Redis nothing can be queued or rescheduled: a check that claimed the slot would only lose it.
    if unreachable := task_queue_unreachable():
        return ScheduledSyncOutcome(FAILED, (
            f"Scheduled sync not started: NetBox's task queue (Redis) cannot be reached ({unreachable}). The "
            f"schedule is unchanged, so the next check tries again."
        ))
    settings, refusal, previous = claim_slot(now, force)
    if refusal:
        return refusal

    mode = settings.scheduled_sync_mode
    service = MerakiSyncService(trigger=RunTriggerChoices.SCHEDULE)
    try:
        if realign and settings.enable_scheduled_sync:
            sync_schedule(settings, now=now)
        runs = service.sync_all(mode=mode, background=background)
    except RedisError as exc:
        release_slot(settings, previous)
        return ScheduledSyncOutcome(FAILED, (
            f"Scheduled sync ({mode}) not started: NetBox's task queue (Redis) failed ({exc}). The slot is given "
            f"back, so the next check tries again."
        ))
    except SyncAlreadyRunning as exc:
        # Nothing ran: give the slot back so that the next check tries again.
        release_slot(settings, previous)
        if realign:
            sync_schedule(now=now)
        return ScheduledSyncOutcome(BUSY, f'Scheduled sync not started: {exc}')
    except (SyncRefused, FetchError) as exc:
        return ScheduledSyncOutcome(
            FAILED, f'Scheduled sync ({mode}) could not start: {redact(exc)}', [what_to_check(exc)],
        )

    details = [describe_run(run, background) for run in runs] + [str(refusal) for refusal in service.refused]
    failed = [run for run in runs if run.status in BROKEN_RUN_STATUSES]
    organizations = f'{len(runs)} organization' + ('s' if len(runs) != 1 else '')
    if failed:
        return ScheduledSyncOutcome(
            FAILED, f'Scheduled sync ({mode}) of {organizations}: {len(failed)} failed.', details, runs,
        )
    verb = 'started' if background else 'finished'
    skipped = f'; {len(service.refused)} skipped (already syncing)' if service.refused else ''
    return ScheduledSyncOutcome(SYNCED, f'Scheduled sync ({mode}) of {organizations} {verb}{skipped}.', details, runs)


def what_to_check(exc):
    """What a person checks when a scheduled sync could not start for this reason."""
    if isinstance(exc, FetchError) and exc.key_refused:
        return (
            "Meraki refused the API key (401). Check the key NetBox's configuration gives as "
            "PLUGINS_CONFIG['netbox_meraki']['api_key']: as documented, the environment variable "
            "MERAKI_DASHBOARD_API_KEY, set for NetBox and for its worker (netbox-rq) or scheduler, which are "
            "restarted after it changes. The key needs read access to the organizations."
        )
    if isinstance(exc, FetchError):
        return (
            'The Meraki Dashboard API could not be read. Check that this server reaches it (the base_url of '
            "PLUGINS_CONFIG['netbox_meraki'], a proxy, the firewall) and Meraki's own status; the next scheduled "
            'sync tries again.'
        )
    return 'Check the organizations and networks in the plugin settings (Organizations and networks tab).'


def record_schedule_failure(outcome, now):
    """
    Keep a scheduled sync that started no run (its reason and what to check) on the settings, for the Scheduling tab
    and the dashboard: its runs cannot show it. One that started runs clears it; their own pages say how they went.
    """
    if outcome.status == FAILED and not outcome.runs:
        reason = redact('\n'.join([outcome.message, *outcome.details]))
        PluginSettings.objects.filter(pk=1).update(schedule_failed_at=now, schedule_failure=reason)
    elif outcome.runs:
        PluginSettings.objects.filter(pk=1).exclude(schedule_failed_at=None).update(
            schedule_failed_at=None, schedule_failure='')


def task_queue_unreachable():
    """Why NetBox's task queue (Redis) cannot be reached, or None when it answers."""
    try:
        django_rq.get_queue('default').connection.ping()
    except RedisError as exc:
        return str(exc) or type(exc).__name__
    return None


def claim_slot(now, force):
    """
    Decide, with the settings row locked, whether a scheduled sync runs now; if so, record it as the last scheduled
    sync and move the next one an interval ahead before it starts, so that a concurrent scheduler finds it not due.
    Returns (settings, refusal outcome or None, previous last and next times).
    """
    PluginSettings.load()
    with transaction.atomic():
        settings = PluginSettings.objects.select_for_update().get(pk=1)
        previous = (settings.last_scheduled_sync, settings.next_scheduled_sync)
        if not force and not settings.enable_scheduled_sync:
            return settings, ScheduledSyncOutcome(
                DISABLED, 'Scheduled syncs are disabled in the plugin settings: nothing to do.'
            ), previous
        if not force and not settings.should_run_scheduled_sync(now):
            running = ''.join(
                f' In progress: run #{run.pk} of {run.organization_name or run.organization_id}.'
                for run in SyncRun.objects.filter(trigger=RunTriggerChoices.SCHEDULE, status__in=ACTIVE)
            )
            return settings, ScheduledSyncOutcome(NOT_DUE, (
                f'Scheduled sync not due: the next is at {when(settings.next_scheduled_sync)} '
                f'(every {settings.sync_interval_minutes} minutes, last at {when(settings.last_scheduled_sync)}).'
                f'{running}'
            )), previous
        settings.last_scheduled_sync = now
        fields = ['last_scheduled_sync']
        if settings.enable_scheduled_sync:
            settings.update_next_sync_time(now, save=False)
            fields.append('next_scheduled_sync')
        settings.save(update_fields=fields)
    return settings, None, previous


def release_slot(settings, previous):
    """Restore the last and next times a claim replaced, unless a scheduler has changed them since."""
    last, upcoming = previous
    PluginSettings.objects.filter(
        pk=settings.pk, last_scheduled_sync=settings.last_scheduled_sync,
        next_scheduled_sync=settings.next_scheduled_sync,
    ).update(last_scheduled_sync=last, next_scheduled_sync=upcoming)
    settings.last_scheduled_sync, settings.next_scheduled_sync = last, upcoming


def describe_run(run, background=False):
    name = run.organization_name or f'organization {run.organization_id}'
    if background:
        job = f' as job #{run.job_id}' if run.job_id else ''
        return f'Run #{run.pk} of {name} ({run.mode}) queued{job}.'
    planned = sum(count for actions in run.counts.values() for count in actions.values())
    seconds = f', {run.duration.total_seconds():.1f} s' if run.duration else ''
    text = (f'Run #{run.pk} of {name}: {run.get_status_display().lower()} ({run.mode}, {planned} changes planned, '
            f'{run.api_calls} API calls{seconds}).')
    return f'{text} {run.error}' if run.error else text


def when(moment):
    return timezone.localtime(moment).strftime('%Y-%m-%d %H:%M:%S %Z') if moment else 'never'


# --- The NetBox recurring job -------------------------------------------------------------------------------------

def waiting_occurrences():
    """The recurring job's occurrences waiting for their time (pending or scheduled), newest first."""
    return Job.objects.filter(
        name=ScheduledSyncJob.name, status__in=(JobStatusChoices.STATUS_PENDING, JobStatusChoices.STATUS_SCHEDULED),
    ).order_by('-created')


def scheduled_job():
    """The recurring job's next occurrence, if there is one."""
    return waiting_occurrences().first()


def remove_schedule():
    """Delete the recurring job's waiting occurrences (Job.delete also cancels them in RQ). Returns how many."""
    jobs = list(waiting_occurrences())
    for job in jobs:
        job.delete()
    return len(jobs)


def running_job(now):
    """The recurring job's occurrence running now, if any; ones left running by a dead worker are closed."""
    running = Job.objects.filter(name=ScheduledSyncJob.name, status=JobStatusChoices.STATUS_RUNNING)
    for job in running.filter(started__lt=now - STALE_JOB_AGE):
        job.terminate(status=JobStatusChoices.STATUS_ERRORED, error='The worker stopped while running this job.')
    return running.filter(started__gte=now - STALE_JOB_AGE).first()


def queued_in_rq(job):
    # Inside a transaction, a job created in it reaches RQ only on commit: do not take it for lost.
    if transaction.get_connection().in_atomic_block:
        return True
    return django_rq.get_queue(job.queue_name).fetch_job(str(job.job_id)) is not None


def job_interval(settings):
    # Settings saved without validation must not make the worker sync more often than the minimum.
    return max(settings.sync_interval_minutes, settings.MINIMUM_SYNC_INTERVAL)


def sync_schedule(settings=None, now=None, schedule_at=None):
    """
    Make the NetBox recurring job match the settings: none when scheduled syncs are disabled; otherwise one job
    with the settings' interval, scheduled at `schedule_at` if given, else at next_scheduled_sync (computed from the
    last scheduled sync when the schedule starts or its interval changes). While an occurrence runs, nothing is
    touched: it reconciles when it ends. Returns the waiting job, or None.
    """
    settings = settings if settings is not None else PluginSettings.load()
    now = now or timezone.now()
    if not settings.enable_scheduled_sync:
        remove_schedule()
        if settings.next_scheduled_sync is not None:
            settings.next_scheduled_sync = None
            settings.save(update_fields=['next_scheduled_sync'])
        return None
    if running_job(now):
        return None

    interval = job_interval(settings)
    with advisory_lock(ADVISORY_LOCK_KEYS['job-schedules']):
        waiting = list(waiting_occurrences())
        # Two occurrences would each reschedule themselves forever: keep one. One that RQ has lost (Redis
        # restarted without its data) would never run: replace it.
        for extra in waiting[1:]:
            extra.delete()
        current = waiting[0] if waiting else None
        if current and not queued_in_rq(current):
            current.delete()
    if schedule_at is None:
        if current and current.interval == interval and settings.next_scheduled_sync:
            schedule_at = settings.next_scheduled_sync
        else:
            schedule_at = settings.resumed_sync_time(now)
    job = ScheduledSyncJob.enqueue_once(schedule_at=schedule_at, interval=interval)
    if settings.next_scheduled_sync != job.scheduled:
        settings.next_scheduled_sync = job.scheduled
        settings.save(update_fields=['next_scheduled_sync'])
    return job


def reconcile_after_job(job):
    """
    After an occurrence of the recurring job and NetBox's scheduling of the next one (one interval on, at least a
    minute ahead): record that time as the next scheduled sync; or change the schedule when the settings changed
    meanwhile or the schedule was disabled; or, when every organization was already syncing, try again in
    BUSY_RETRY.
    """
    settings = PluginSettings.load()
    now = timezone.now()
    status = job.data.get('status') if isinstance(job.data, dict) else None
    if not settings.enable_scheduled_sync:
        return sync_schedule(settings, now=now)
    if status == BUSY:
        return sync_schedule(settings, now=now, schedule_at=now + BUSY_RETRY)
    successor = scheduled_job()
    if successor and successor.interval == job_interval(settings):
        if settings.next_scheduled_sync != successor.scheduled:
            settings.next_scheduled_sync = successor.scheduled
            settings.save(update_fields=['next_scheduled_sync'])
        return successor
    return sync_schedule(settings, now=now)


# --- Status and setup, for the command and the UI ------------------------------------------------------------------

def last_scheduled_runs(settings=None):
    """The runs of the last scheduled sync (one per organization), newest first."""
    settings = settings if settings is not None else PluginSettings.load()
    runs = SyncRun.objects.filter(trigger=RunTriggerChoices.SCHEDULE)
    if settings.last_scheduled_sync:
        recent = list(runs.filter(created__gte=settings.last_scheduled_sync))
        if recent:
            return recent
    latest = runs.first()
    return [latest] if latest else []


def schedule_status(now=None):
    """Everything a person wants to know about the schedule, as plain values."""
    settings = PluginSettings.load()
    now = now or timezone.now()
    return {
        'enabled': settings.enable_scheduled_sync,
        'interval_minutes': settings.sync_interval_minutes,
        'mode': settings.scheduled_sync_mode,
        'mode_display': settings.get_scheduled_sync_mode_display(),
        'last_scheduled_sync': settings.last_scheduled_sync,
        'next_scheduled_sync': settings.next_scheduled_sync,
        'due': settings.should_run_scheduled_sync(now),
        'job': scheduled_job(),
        'runs': last_scheduled_runs(settings),
        'failed_at': settings.schedule_failed_at,
        'failure': settings.schedule_failure,
    }


def this_install_command():
    """How this NetBox runs management commands: the `netbox` console script (PyPI) or manage.py (git install)."""
    import netbox

    manage = Path(netbox.__file__).resolve().parent.parent / 'manage.py'
    python = Path(sys.executable)
    if manage.exists():
        return f'{python} {manage}'
    script = python.parent / 'netbox'
    return str(script) if script.exists() else f'{python} -m netbox'


# The two usual ways of running a NetBox management command.
INSTALLS = {
    'netbox': '/opt/netbox/venv/bin/netbox',
    'manage_py': '/opt/netbox/venv/bin/python /opt/netbox/netbox/manage.py',
}


def scheduler_commands():
    """
    Copy-ready setup commands per scheduler, for a NetBox installed from PyPI (`netbox` console script) and for a git
    install (`python manage.py`), with NetBox in /opt/netbox. Each entry: key, name, summary, and `commands`, a dict
    install ('netbox' or 'manage_py') -> list of shell lines. this_install_command() tells which install this is.
    """
    def both(*lines):
        return {install: [line.format(manage=prefix) for line in lines] for install, prefix in INSTALLS.items()}

    systemd = 'sudo cp deployment/systemd/{unit} /etc/systemd/system/'
    return [
        {
            'key': 'netbox_worker',
            'name': 'NetBox worker (default)',
            'summary': 'Saving the settings schedules a recurring NetBox job; the netbox-rq worker runs it. '
                       'Nothing to install.',
            'commands': both(
                'sudo systemctl enable --now netbox-rq',
                '{manage} schedule_meraki_sync --status',
            ),
        },
        {
            'key': 'systemd_service',
            'name': 'systemd service (continuous)',
            'summary': 'A service that checks every minute and restarts on failure; logs in journald.',
            'commands': both(
                systemd.format(unit='netbox-meraki-scheduler.service'),
                'sudo systemctl daemon-reload',
                'sudo systemctl enable --now netbox-meraki-scheduler.service',
                'journalctl -u netbox-meraki-scheduler -f',
            ),
        },
        {
            'key': 'systemd_timer',
            'name': 'systemd timer',
            'summary': 'A timer starts a one-shot check every 5 minutes; no process between checks.',
            'commands': both(
                systemd.format(unit='netbox-meraki-scheduler-oneshot.service'),
                systemd.format(unit='netbox-meraki-scheduler.timer'),
                'sudo systemctl daemon-reload',
                'sudo systemctl enable --now netbox-meraki-scheduler.timer',
                'systemctl list-timers netbox-meraki-scheduler.timer',
            ),
        },
        {
            'key': 'cron',
            'name': 'cron',
            'summary': 'cron runs a check every 5 minutes; the sync runs when the settings say it is due.',
            'commands': both(
                "echo '*/5 * * * * netbox {manage} schedule_meraki_sync >> /var/log/netbox/meraki-sync.log 2>&1' "
                '| sudo tee /etc/cron.d/netbox-meraki',
            ),
        },
        {
            'key': 'continuous',
            'name': 'Continuous process',
            'summary': 'The command itself checks every --interval seconds until stopped (SIGTERM or Ctrl-C).',
            'commands': both('{manage} schedule_meraki_sync --continuous --interval 60'),
        },
        {
            'key': 'docker',
            'name': 'Docker Compose (netbox-docker)',
            'summary': 'A netbox-meraki-scheduler service from the NetBox image, running the continuous check.',
            'commands': {
                install: [
                    'cp deployment/docker/docker-compose.override.yml /path/to/netbox-docker/',
                    'docker compose up -d netbox-meraki-scheduler',
                    'docker compose logs -f netbox-meraki-scheduler',
                ] for install in INSTALLS
            },
        },
    ]
