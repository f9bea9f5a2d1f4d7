"""
The one entry point of every sync: MerakiSyncService.sync_all() creates a run per organization and runs it
(fetch -> map -> plan -> apply) in the background or in the foreground. Review approval lives here too.
"""

import logging
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from rq.timeouts import BaseTimeoutException

from core.choices import JobNotificationChoices, JobStatusChoices
from core.models import Job
from dcim.models import Site, SiteGroup
from netbox.plugins import get_plugin_config
from users.models import User

from .apply import apply_changes, describe, record_networks
from .choices import ChangeStateChoices, RunStatusChoices, RunTriggerChoices, SyncModeChoices
from .event_types import announce_outcome
from .fetch import DashboardClient, FetchError, fetch_organization, list_organizations, network_reads
from .kinds import KINDS, references
from .locks import release_organization, serialize_triggers, try_lock_organization
from .mapping import MappingOptions, map_snapshot
from .models import DEFAULT_ROLE_NAMES, Change, NetworkRead, PluginSettings, SyncedObject, SyncRun
from .plan import NetBoxState, build_plan, stale_reason
from .review_queue import record_rejections, reviews_to_supersede, settle_plan, supersede
from .secrets import redact

__all__ = (
    'MerakiSyncService', 'SyncAlreadyRunning', 'SyncRefused', 'apply_review', 'approve_changes', 'cancel_run',
    'execute_review', 'execute_run', 'interrupt_dead_runs', 'reject_changes', 'turn_into_review',
)

logger = logging.getLogger('netbox_meraki.sync')
ACTIVE = (RunStatusChoices.PENDING, RunStatusChoices.RUNNING)
# The run's timing of the seconds its requests were held back because Meraki answered 429.
RATE_LIMIT_WAIT = 'rate limit wait'
# A review's apply is timed apart from the run's own phases, which stay as planned: reading Meraki again to check the
# approved changes, then writing them.
REVIEW_CHECK, REVIEW_APPLY = 'review: read Meraki again', 'review: apply'


class SyncRefused(Exception):
    """A sync or an apply that cannot start; the message says why."""


class SyncAlreadyRunning(SyncRefused):
    def __init__(self, run):
        self.run = run
        since = timezone.localtime(run.started or run.created).strftime('%Y-%m-%d %H:%M:%S %Z')
        super().__init__(
            f'A sync of organization {run.organization_name or run.organization_id} is already '
            f'{run.get_status_display().lower()}: run #{run.pk} ({run.get_trigger_display().lower()}, since {since}).'
        )


def dashboard_client():
    return DashboardClient(
        api_key=get_plugin_config('netbox_meraki', 'api_key'),
        base_url=get_plugin_config('netbox_meraki', 'base_url'),
        timeout=get_plugin_config('netbox_meraki', 'request_timeout'),
        retries=get_plugin_config('netbox_meraki', 'maximum_retries'),
        requests_per_second=get_plugin_config('netbox_meraki', 'requests_per_second'),
    )


def sync_user():
    """The user NetBox's changelog attributes sync changes to."""
    user, _created = User.objects.get_or_create(username=get_plugin_config('netbox_meraki', 'sync_user'))
    return user


def mapping_options(settings, organization_id=None):
    """
    The mapping's options from the settings; with `organization_id`, the site and site group names other organizations
    hold, and who holds each site and site group slug.
    """
    taken, taken_groups, site_slugs, group_slugs = frozenset(), frozenset(), {}, {}
    if organization_id is not None:
        taken, site_slugs = holders(Site, 'site', organization_id)
        taken_groups, group_slugs = holders(SiteGroup, 'sitegroup', organization_id)
    return MappingOptions(
        manufacturer_name=settings.manufacturer_name,
        role_names={product_type: settings.role_name(product_type) for product_type in DEFAULT_ROLE_NAMES},
        status_map=dict(settings.status_map),
        site_name_rules=list(settings.site_name_rules),
        name_transforms=dict(settings.name_transforms),
        prefix_filters=dict(settings.prefix_filters),
        vrf_per_network=settings.vrf_per_network,
        sync_disabled_ssids=settings.sync_disabled_ssids,
        sync_inventory=settings.sync_inventory,
        inventory_site_name=settings.inventory_site_name,
        interface_name_rules=list(settings.interface_name_rules),
        tenant_per_organization=settings.tenant_per_organization,
        taken_site_names=taken,
        taken_group_names=taken_groups,
        site_slugs=site_slugs,
        group_slugs=group_slugs,
    )


def holders(model, kind, organization_id):
    """
    Who holds the NetBox objects of the model: the names other organizations' objects of this kind hold, and
    {slug: Meraki id} of every object, the Meraki id of the organization's own that holds the slug, '' for anyone
    else's (a person's, another organization's).
    """
    organization_id = str(organization_id)
    owners = {pk: (organization, meraki_id) for pk, organization, meraki_id in SyncedObject.objects.filter(
        kind=kind).values_list('object_id', 'organization_id', 'meraki_id')}
    taken, slugs = set(), {}
    for pk, name, slug in model.objects.values_list('pk', 'name', 'slug'):
        organization, meraki_id = owners.get(pk, (None, ''))
        if organization is not None and organization != organization_id:
            taken.add(name)
        slugs[slug] = meraki_id if organization == organization_id else ''
    return frozenset(taken), slugs


class MerakiSyncService:
    """Starts syncs. Every trigger (UI, REST API, schedule, commands) goes through sync_all()."""

    def __init__(self, user=None, trigger=RunTriggerChoices.COMMAND):
        self.user = user
        self.trigger = trigger
        self.refused = []

    def sync_all(self, mode=None, organization_ids=None, network_ids=None, background=True, full_read=False):
        """
        Sync each organization (the given ones, else the configured ones, else every one the key sees) as its
        own run: one background job per organization, or one after the other in this process. With `full_read`,
        every network is read from Meraki, not only those whose configuration changed. Returns the runs
        started. Organizations that are already syncing are listed in `self.refused`; when none could start,
        raises SyncAlreadyRunning for the first.
        """
        settings = PluginSettings.load()
        mode = mode or settings.default_sync_mode
        if mode not in SyncModeChoices.values():
            raise SyncRefused(f'Unknown sync mode {mode!r}: use one of {", ".join(SyncModeChoices.values())}.')
        if network_ids is None:
            network_ids = settings.network_ids
        # Listing the organizations is a call made for the runs: the first run counts it among its API calls.
        lookup_calls = (0, 0)
        organization_ids = list(organization_ids or settings.organization_ids)
        if not organization_ids:
            organization_ids, lookup_calls = self.visible_organizations()
        if not organization_ids:
            raise SyncRefused('The API key sees no Meraki organization.')

        runs, self.refused = [], []
        for organization_id in organization_ids:
            try:
                # A foreground run takes its organization's lock as it is created and runs at once, and a background
                # run gets its job in the same transaction, so no other trigger ever sees it waiting without either.
                run = create_run(organization_id, mode, network_ids, self.trigger, self.user, lock=not background,
                                 enqueue=background, api_calls=(0, 0) if runs else lookup_calls, full_read=full_read)
            except SyncAlreadyRunning as exc:
                self.refused.append(exc)
                continue
            if not background:
                execute_run(run, locked=True)
            runs.append(run)
        if not runs:
            raise self.refused[0]
        return runs

    @staticmethod
    def visible_organizations():
        """The ids of the organizations the API key sees, and the API calls (and 429 answers) of listing them."""
        client = dashboard_client()
        try:
            organizations = [str(organization['id']) for organization in list_organizations(client)]
            return organizations, (client.calls, client.rate_limited)
        finally:
            client.close()


def active_run(organization_id, exclude=None):
    """The organization's pending or running run, if one is really alive; dead ones are marked interrupted."""
    for run in SyncRun.objects.filter(organization_id=organization_id, status__in=ACTIVE).exclude(pk=exclude):
        if run_is_alive(run):
            return run
        interrupt(run)
    return None


def run_is_alive(run):
    if run.status == RunStatusChoices.PENDING and run.job is not None:
        # Waiting for a worker: alive while its job is queued.
        return run.job.status in JobStatusChoices.ENQUEUED_STATE_CHOICES
    # A running run, or a foreground one about to start, holds its organization's lock; if the lock is free,
    # the process that ran it is gone.
    if try_lock_organization(run.organization_id):
        release_organization(run.organization_id)
        return False
    return True


def ending_field(run):
    """
    Where a pending or running run's end is recorded: a review's apply (the run's plan has ended: a plan never runs
    twice) has its own, so that the run keeps its plan's times.
    """
    return 'review_completed' if run.completed else 'completed'


def interrupt(run):
    """Mark a run whose process is gone as interrupted, unless it finished in the meantime."""
    values = {
        'status': RunStatusChoices.INTERRUPTED,
        ending_field(run): timezone.now(),
        'error': run.error or 'Interrupted: the process running this sync stopped before it finished.',
    }
    if SyncRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(**values):
        for name, value in values.items():
            setattr(run, name, value)


def interrupt_dead_runs():
    """
    Mark every pending or running run whose process is gone as interrupted, so that no page or API answer shows a
    dead run as running until the next trigger of its organization. One query when nothing runs.
    """
    organization_ids = SyncRun.objects.filter(status__in=ACTIVE).values_list('organization_id', flat=True)
    for organization_id in set(organization_ids):
        active_run(organization_id)


def create_run(organization_id, mode, network_ids, trigger, user, lock=False, enqueue=False, api_calls=(0, 0),
               full_read=False, note=None):
    """
    A new pending run, unless the organization has a live one. With `lock`, also take the organization's lock
    for this database session, for a run that starts at once; with `enqueue`, give it its background job. A `note`
    is the first line of its log.
    """
    with transaction.atomic():
        serialize_triggers(organization_id)
        if running := active_run(organization_id):
            raise SyncAlreadyRunning(running)
        if lock and not try_lock_organization(organization_id):
            raise SyncRefused(f'Another process is syncing organization {organization_id}.')
        run = SyncRun.objects.create(
            organization_id=str(organization_id), mode=mode, network_ids=list(network_ids or []),
            trigger=trigger, user=user, api_calls=api_calls[0], api_rate_limited=api_calls[1], full_read=full_read,
        )
        if note:
            run.log_line('info', note)
            run.save(update_fields=['log'])
        if enqueue:
            enqueue_job(run, user)
        return run


def enqueue_job(run, user, action='sync'):
    """
    Give the run its background job. Called inside the transaction that makes the run pending: a run is never seen
    pending without its job, which active_run() would take for a dead one. (The job reaches RQ on commit.)
    """
    from .jobs import SyncJob

    kwargs = {'action': action} if action != 'sync' else {}
    # NetBox would also tell the job's user that the job ended: the run's own notification (event_types.notify) says
    # so once, with the organization and the outcome.
    run.job = SyncJob.enqueue(
        user=user, run_id=run.pk, job_timeout=get_plugin_config('netbox_meraki', 'job_timeout'),
        notifications=JobNotificationChoices.NOTIFICATION_NEVER, **kwargs,
    )
    run.save(update_fields=['job'])


def save_progress(run, phase=None, done=None, total=None, detail=None):
    """
    Write what the run's page shows live (phase, progress, API calls, log) in one update, without saving the run. A
    new phase starts its clock (the apply's rate and time left are reckoned from it) and its progress from nothing.
    """
    if phase and phase != run.phase:
        run.phase, run.phase_started = phase, timezone.now()
        run.progress_done, run.progress_total, run.progress_detail = 0, 0, []
    run.progress_done = run.progress_done if done is None else done
    run.progress_total = run.progress_total if total is None else total
    run.progress_detail = run.progress_detail if detail is None else detail
    SyncRun.objects.filter(pk=run.pk).update(
        phase=run.phase, phase_started=run.phase_started, progress_done=run.progress_done,
        progress_total=run.progress_total, progress_detail=run.progress_detail, log=run.log,
        organization_name=run.organization_name, api_calls=run.api_calls, api_rate_limited=run.api_rate_limited,
    )


@contextmanager
def timed(run, phase):
    """Record the seconds a phase takes in run.timings."""
    start = time.monotonic()
    try:
        yield
    finally:
        run.timings[phase] = round(run.timings.get(phase, 0) + time.monotonic() - start, 3)


def record_rate_limit_wait(run, client):
    """How long the run held its requests back because Meraki answered 429, among its timings."""
    if client.waited:
        run.timings[RATE_LIMIT_WAIT] = round(run.timings.get(RATE_LIMIT_WAIT, 0) + client.waited, 3)


def count_changes(changes):
    counts = {}
    for change in changes:
        counts.setdefault(change.kind, {}).setdefault(change.action, 0)
        counts[change.kind][change.action] += 1
    return counts


def begin(run, locked=False):
    """
    Claim the pending run, take its organization's lock (unless `locked`) and mark it running. Refuse when another
    run holds the lock, and when the run is no longer pending (cancelled, interrupted, or claimed by another worker
    the same job was handed to). Claim and refusal commit together: no one sees a run running without its lock.
    A review's apply records its own start (and end), and leaves the plan's.
    """
    now = timezone.now()
    starting, ending = 'review_started' if run.completed else 'started', ending_field(run)
    with transaction.atomic():
        claimed = SyncRun.objects.filter(pk=run.pk, status=RunStatusChoices.PENDING).update(
            status=RunStatusChoices.RUNNING, phase_started=None, progress_detail=[], **{starting: now, ending: None},
        )
        refused = claimed and not locked and not try_lock_organization(run.organization_id)
        if refused:
            holder = active_run(run.organization_id, exclude=run.pk)
            SyncRun.objects.filter(pk=run.pk).update(
                status=RunStatusChoices.FAILED, **{ending: now},
                error=str(SyncAlreadyRunning(holder)) if holder else 'Another process holds this organization.',
            )
    run.refresh_from_db()
    if not claimed:
        run.log_line('warning', f'Not started: the run is already {run.get_status_display().lower()}.')
        if locked:
            release_organization(run.organization_id)
        return False
    if refused:
        return False
    for stale in SyncRun.objects.filter(organization_id=run.organization_id, status=RunStatusChoices.RUNNING).exclude(
        pk=run.pk
    ):
        interrupt(stale)
    return True


def finish(run, changes, fetch_errors=()):
    states = Counter(change.state for change in changes)
    problems = states[ChangeStateChoices.FAILED] + states[ChangeStateChoices.CONFLICT] + states[
        ChangeStateChoices.SKIPPED]
    waiting = states[ChangeStateChoices.HELD]
    if run.mode == SyncModeChoices.REVIEW:
        waiting += states[ChangeStateChoices.PENDING] + states[ChangeStateChoices.APPROVED]
    if run.cancel_requested_now():
        run.status = RunStatusChoices.CANCELLED
        run.log_line('warning', 'Cancelled on request; the changes applied before stay applied.')
    elif waiting and run.mode != SyncModeChoices.DRY_RUN:
        run.status = RunStatusChoices.AWAITING_REVIEW
    elif problems or fetch_errors:
        run.status = RunStatusChoices.PARTIAL
    else:
        run.status = RunStatusChoices.COMPLETED
    if problems:
        run.log_line('warning', f'{problems} changes were not applied (conflict, failure or missing dependency).')
    run.log_line('warning' if problems else 'info', outcome_line(run, states))


def outcome_line(run, states):
    """
    What became of a run's changes, in one line: 'Applied 10, failed 0, conflict 0, skipped 1, held 0.', then the
    other states it has changes in, named as its pages name them.
    """
    always = (ChangeStateChoices.APPLIED, ChangeStateChoices.FAILED, ChangeStateChoices.CONFLICT,
              ChangeStateChoices.SKIPPED, ChangeStateChoices.HELD)
    shown = [*always, *(state for state, *_ in ChangeStateChoices.CHOICES if state not in always and states[state])]
    line = ', '.join(f'{ChangeStateChoices.outcome_label(state, run.mode)} {states[state]}' for state in shown)
    return f'{line[:1].upper()}{line[1:]}.'


# A run in one of these states read Meraki (in full, or all it could: what failed is read again next time).
READ_STATUSES = (
    RunStatusChoices.AWAITING_REVIEW, RunStatusChoices.COMPLETED, RunStatusChoices.PARTIAL, RunStatusChoices.SUPERSEDED,
)


def previous_reads(run, settings):
    """
    What a change-driven read of the run's organization starts from ({network id: stored read}), or None when this run
    reads every network: asked to, change-driven reads are off (full_read_hours = 0), the run covers some networks
    only, nothing is stored yet, or the organization's last full read is older than full_read_hours.
    """
    if run.full_read or not settings.full_read_hours or run.network_ids:
        return None
    last_full_read = SyncRun.objects.filter(
        organization_id=run.organization_id, full_read=True, network_ids=[], status__in=READ_STATUSES,
    ).exclude(pk=run.pk).order_by('-started').values_list('started', flat=True).first()
    if not last_full_read or last_full_read < timezone.now() - timedelta(hours=settings.full_read_hours):
        return None
    reads = {
        network_id: {'read_at': read_at, 'data': data}
        for network_id, read_at, data in NetworkRead.objects.filter(organization_id=run.organization_id).values_list(
            'network_id', 'read_at', 'data').iterator(chunk_size=100)
    }
    return reads or None


def store_reads(run, snapshot):
    """
    Keep what this read returned per network for the next change-driven one. A network that could not be read in full
    loses its stored read (it is read again next time); a read of the whole organization drops the networks gone.
    """
    reads = network_reads(snapshot)
    if snapshot.networks is None or (not reads and snapshot.errors):
        return
    stored = NetworkRead.objects.filter(organization_id=run.organization_id)
    with transaction.atomic():
        kept = {network['id'] for network in snapshot.networks}
        failed = snapshot.failed_networks
        if run.network_ids:
            stored.filter(network_id__in=failed).delete()
        else:
            stored.exclude(network_id__in=kept - failed).delete()
        stored.filter(network_id__in=reads).delete()
        # A few networks per statement: each row's JSON is built as its batch is written, not all at once.
        NetworkRead.objects.bulk_create(
            (NetworkRead(organization_id=run.organization_id, network_id=network_id, read_at=snapshot.read_at,
                         data=data) for network_id, data in reads.items()),
            batch_size=25,
        )


class CallCount:
    """
    A run's API calls and 429s: what it counted before this client (listing the organizations, for the first run of a
    trigger; the plan's, for a review's apply) and what the client sent since, kept on the run as they grow.
    """

    def __init__(self, run):
        self.run, self.client = run, None
        self.before = run.api_calls, run.api_rate_limited

    def update(self):
        self.run.api_calls = self.before[0] + self.client.calls
        self.run.api_rate_limited = self.before[1] + self.client.rate_limited

    def fetch_progress(self, detail):
        """What the fetch has read so far, written with the calls it took."""
        self.update()
        save_progress(self.run, detail=detail)


def execute_run(run, locked=False):
    """
    Fetch, map and plan one organization, then apply the plan (auto) or keep it (review, dry run). `locked`
    says this session already holds the organization's lock (see create_run).
    """
    if not begin(run, locked):
        return run
    client = None
    changes = []
    calls = CallCount(run)

    try:
        settings = PluginSettings.load()
        save_progress(run, phase='fetch')
        calls.client = client = dashboard_client()
        previous = previous_reads(run, settings)
        run.full_read = previous is None
        with timed(run, 'fetch'):
            snapshot = fetch_organization(
                client, run.organization_id, run.network_ids, inventory=settings.sync_inventory, previous=previous,
                stacks=settings.sync_switch_stacks, progress=calls.fetch_progress,
            )
        del previous  # what the snapshot reuses of it, it holds: planning needs the memory
        run.organization_name = str(snapshot.organization.get('name') or '')[:255]
        calls.update()
        store_reads(run, snapshot)
        failures = list(snapshot.errors.values()) + [
            error for errors in snapshot.network_errors.values() for error in errors.values()
        ]
        for error in failures:
            run.log_line('error', error)
        if failures:
            run.error = 'Meraki could not be read in full: ' + '; '.join(failures)
        run.log_line('info', (
            f'Fetched {len(snapshot.networks or [])} networks and {len(snapshot.devices or [])} devices '
            f'in {client.calls} API calls ({client.rate_limited} answered 429'
            + (f', {client.waited:.0f} s waited for them).' if client.waited >= 1 else ').')
        ))
        if snapshot.full_read_reason:
            run.full_read = True
            run.log_line('warning', f'Every network was read: {snapshot.full_read_reason}.')
        elif snapshot.networks_read is not None:
            run.log_line('info', (
                f'Read {len(snapshot.networks_read)} of {len(snapshot.networks or [])} networks again: the others have '
                'no configuration change logged, nor a device added, moved or removed, since they were last read.'
            ))

        if run.cancel_requested_now():
            finish(run, changes)
            return run
        save_progress(run, phase='plan')
        with timed(run, 'plan'):
            records, problems = map_snapshot(snapshot, mapping_options(settings, run.organization_id))
            for problem in problems:
                run.log_line('warning', problem)
            state = NetBoxState(run.organization_id, settings)
            state.preload_references(records)
            changes = build_plan(run, records, snapshot, settings, state)
            # An auto run that holds changes for a person ends awaiting review too: it replaces the organization's
            # older reviews as a review run does, so that scheduled runs never pile them up.
            holds = any(change.state == ChangeStateChoices.HELD for change in changes)
            superseded = reviews_to_supersede(run) if run.mode == SyncModeChoices.REVIEW or (
                run.mode == SyncModeChoices.AUTO and holds) else []
            settle_plan(run, changes, superseded)
            Change.objects.bulk_create(changes, batch_size=1000)
        if superseded and not run.cancel_requested_now():
            supersede(run, superseded)
        # What Meraki returned is planned: the apply may reuse its memory.
        del snapshot
        run.counts = count_changes(changes)
        held = sum(1 for change in changes if change.state == ChangeStateChoices.HELD)
        run.log_line('info', f'Planned {len(changes)} changes' + (f', {held} held for review.' if held else '.'))

        if run.mode == SyncModeChoices.AUTO and not run.cancel_requested_now():
            # Approved ones were approved in a review this run supersedes.
            pending = [change for change in changes
                       if change.state in (ChangeStateChoices.PENDING, ChangeStateChoices.APPROVED)]
            save_progress(run, phase='apply', done=0, total=len(pending))
            with timed(run, 'apply'):
                apply_changes(run, pending, state, sync_user(),
                              progress=lambda done, total: save_progress(run, done=done))
                record_networks(state, records)
        finish(run, changes, failures)
    except FetchError as exc:
        run.status, run.error = RunStatusChoices.FAILED, redact(exc)
        run.log_line('error', str(exc))
    except BaseTimeoutException as exc:
        stopped_by_time_limit(run, exc)
    except Exception as exc:
        logger.exception('Sync run %s failed', run.pk)
        run.status, run.error = RunStatusChoices.FAILED, redact(describe(exc))
        run.log_line('error', f'Failed: {run.error}')
    finally:
        if client:
            calls.update()
            record_rate_limit_wait(run, client)
            client.close()
        stopped_with_process(run)
        run.completed = timezone.now()
        run.phase = 'done'
        run.save()
        release_organization(run.organization_id)
        announce_outcome(run)
    return run


def approve_changes(run, change_ids=None):
    """Approve the run's pending and held changes (all, or those listed). Returns how many."""
    return review_queryset(run, change_ids).update(state=ChangeStateChoices.APPROVED)


def changes_about(changes, identities):
    """The changes among `changes` (a query) of objects of these (kind, Meraki identity), in one query."""
    if not identities:
        return []
    return [change for change in changes.filter(
        kind__in={kind for kind, _ in identities}, meraki_id__in={meraki_id for _, meraki_id in identities},
    ) if (change.kind, change.meraki_id) in identities]


def required_references(change):
    """What a change cannot be applied without: what its new values refer to, but not a site's group (see optional)."""
    return references(change.after, skip=KINDS[change.kind].optional if change.kind in KINDS else ())


def undecided_dependencies(run):
    """
    The run's changes still waiting for a decision (pending or held) that its approved changes need applied first:
    those that create or change what their values refer to, and what those refer to in turn. A query per level (an
    address needs its interface, which needs its device, which needs its site, type and role).
    """
    undecided = run.changes.filter(state__in=(ChangeStateChoices.PENDING, ChangeStateChoices.HELD))
    approved = run.changes.filter(state=ChangeStateChoices.APPROVED).only('kind', 'after')
    found, wanted = {}, set().union(*map(required_references, approved))
    while wanted:
        level = [change for change in changes_about(undecided, wanted) if change.pk not in found]
        found.update((change.pk, change) for change in level)
        wanted = set().union(*map(required_references, level))
    return list(found.values())


def reject_changes(run, change_ids=None):
    """
    Reject the run's pending and held changes (all, or those listed). Returns how many. A review left with nothing
    to decide or apply is over: the run is completed, having applied nothing.
    """
    with transaction.atomic():
        chosen = review_queryset(run, change_ids)
        record_rejections(run.organization_id, run.pk, chosen.values_list('kind', 'meraki_id', 'action', 'after'))
        rejected = chosen.update(state=ChangeStateChoices.REJECTED)
    if not run.changes.filter(state__in=(
        ChangeStateChoices.PENDING, ChangeStateChoices.HELD, ChangeStateChoices.APPROVED,
    )).exists():
        run.status = RunStatusChoices.COMPLETED
        run.log_line('info', 'Every change was rejected: nothing was applied.')
        run.save(update_fields=['status', 'log'])
    return rejected


def review_queryset(run, change_ids):
    if run.status != RunStatusChoices.AWAITING_REVIEW:
        raise SyncRefused(f'Run #{run.pk} is {run.get_status_display().lower()}, not awaiting review.')
    changes = run.changes.filter(state__in=(ChangeStateChoices.PENDING, ChangeStateChoices.HELD))
    return changes if change_ids is None else changes.filter(pk__in=change_ids)


def apply_review(run, user=None, background=True):
    """Apply the approved changes of a run awaiting review, as a background job or here."""
    if run.status != RunStatusChoices.AWAITING_REVIEW:
        raise SyncRefused(f'Run #{run.pk} is {run.get_status_display().lower()}, not awaiting review.')
    if not run.changes.filter(state=ChangeStateChoices.APPROVED).exists():
        raise SyncRefused(f'Run #{run.pk} has no approved changes to apply.')
    with transaction.atomic():
        serialize_triggers(run.organization_id)
        if running := active_run(run.organization_id, exclude=run.pk):
            raise SyncAlreadyRunning(running)
        run.status = RunStatusChoices.PENDING
        run.save(update_fields=['status'])
        if background:
            enqueue_job(run, user, action='apply')
            return run
    return execute_review(run)


class ReviewNotConfirmed(Exception):
    """Meraki could not be read in full to check the approved changes against it: nothing is applied."""


def confirm_with_meraki(run, approved, settings):
    """
    Read the organization again and mark as conflicts the approved changes Meraki no longer stands behind, so that a
    plan approved after Meraki changed applies only what is still true. Returns the changes that still stand, and
    the records of Meraki's answer.
    """
    client = None
    calls = CallCount(run)

    try:
        calls.client = client = dashboard_client()
        with timed(run, REVIEW_CHECK):
            snapshot = fetch_organization(
                client, run.organization_id, run.network_ids, inventory=settings.sync_inventory,
                stacks=settings.sync_switch_stacks, progress=calls.fetch_progress,
            )
    except FetchError as exc:
        raise ReviewNotConfirmed(str(exc)) from None
    finally:
        if client:
            calls.update()
            record_rate_limit_wait(run, client)
            client.close()
    failures = list(snapshot.errors.values()) + [
        error for errors in snapshot.network_errors.values() for error in errors.values()
    ]
    if failures:
        raise ReviewNotConfirmed('; '.join(failures))
    records, _problems = map_snapshot(snapshot, mapping_options(settings, run.organization_id))
    stale = []
    for change in approved:
        if reason := stale_reason(change, records, snapshot):
            change.state, change.reason = ChangeStateChoices.CONFLICT, reason[:500]
            run.log_line('warning', f'{change}: {change.get_state_display()}: {change.reason}')
            stale.append(change)
    Change.objects.bulk_update(stale, ('state', 'reason'))
    return [change for change in approved if change.state == ChangeStateChoices.APPROVED], records


def stopped_by_time_limit(run, exc):
    """The job's time limit ended the run: it failed as a whole, whatever change or call it was in."""
    run.status = RunStatusChoices.FAILED
    run.error = (
        f'Stopped by the job time limit during {run.phase or "the run"} ({exc}). What was applied before stays '
        f'applied, and the next sync carries on from there; PLUGINS_CONFIG["netbox_meraki"]["job_timeout"] sets the '
        f'limit (seconds).'
    )
    run.log_line('error', run.error)


def stopped_with_process(run):
    """
    Still running when the run ends: its process is being stopped (a worker's shutdown, an interrupt), which no
    handler above catches. Say so, rather than leave a run that says it is running.
    """
    if run.status == RunStatusChoices.RUNNING:
        run.status = RunStatusChoices.INTERRUPTED
        run.error = (
            f'Stopped with its process (a worker shutdown or an interrupt) during {run.phase or "the run"}. What '
            f'was applied before stays applied, and the next sync carries on from there.'
        )
        run.log_line('error', run.error)


def execute_review(run):
    if not begin(run):
        return run
    changes = list(run.changes.order_by('sequence'))
    try:
        settings = PluginSettings.load()
        approved = [change for change in changes if change.state == ChangeStateChoices.APPROVED]
        save_progress(run, phase='fetch')
        approved, records = confirm_with_meraki(run, approved, settings)
        run.log_line('info', f'Applying {len(approved)} approved changes.')
        save_progress(run, phase='apply', done=0, total=len(approved))
        with timed(run, REVIEW_APPLY):
            state = NetBoxState(run.organization_id, settings, with_objects=False)
            apply_changes(run, approved, state, sync_user(),
                          progress=lambda done, total: save_progress(run, done=done))
            record_networks(state, records)
        finish(run, changes)
    except ReviewNotConfirmed as exc:
        # The approvals stay: applying again once Meraki answers in full is safe.
        run.status = RunStatusChoices.AWAITING_REVIEW
        run.error = redact(f'Nothing was applied: Meraki could not be read in full to check the approved changes '
                           f'against it ({exc}).')
        run.log_line('error', run.error)
    except BaseTimeoutException as exc:
        stopped_by_time_limit(run, exc)
    except Exception as exc:
        logger.exception('Applying run %s failed', run.pk)
        run.status, run.error = RunStatusChoices.FAILED, redact(describe(exc))
        run.log_line('error', f'Failed: {run.error}')
    finally:
        stopped_with_process(run)
        run.review_completed = timezone.now()
        run.phase = 'done'
        run.save()
        release_organization(run.organization_id)
        announce_outcome(run)
    return run


def turn_into_review(dry_run, user=None, trigger=RunTriggerChoices.MANUAL):
    """
    Start a review of what a finished dry run planned: a new review run of the same organization and networks, as a
    background job, which reads Meraki again and plans anew (the dry run's plan may be out of date). Each run's log
    names the other. Returns the new run.
    """
    if dry_run.mode != SyncModeChoices.DRY_RUN:
        raise SyncRefused(f'Run #{dry_run.pk} is not a dry run.')
    if not dry_run.is_finished:
        raise SyncRefused(f'Run #{dry_run.pk} is {dry_run.get_status_display().lower()}: wait until it finishes.')
    run = create_run(dry_run.organization_id, SyncModeChoices.REVIEW, dry_run.network_ids, trigger, user,
                     enqueue=True, note=f'Turned into a review from dry run #{dry_run.pk}: Meraki is read again and '
                                        f'the plan made anew.')
    dry_run.log_line('info', f'Turned into a review: run #{run.pk}.')
    SyncRun.objects.filter(pk=dry_run.pk).update(log=dry_run.log)
    return run


def cancel_run(run):
    """Ask a pending or running run to stop at its next safe point (between phases or batches of changes)."""
    if run.is_finished:
        raise SyncRefused(f'Run #{run.pk} is {run.get_status_display().lower()}: there is nothing to cancel.')
    SyncRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    # A run still pending is cancelled only if it is still pending when the update lands: a worker may have claimed
    # it since it was read (begin() claims it the same way), and a running run stops at its next safe point instead.
    cancelled = SyncRun.objects.filter(pk=run.pk, status=RunStatusChoices.PENDING).update(
        status=RunStatusChoices.CANCELLED, **{ending_field(run): timezone.now()},
    )
    if cancelled and run.job_id:
        job = Job.objects.filter(pk=run.job_id, status__in=JobStatusChoices.ENQUEUED_STATE_CHOICES).first()
        if job:
            job.delete()  # and its RQ job: a worker that takes it now finds the run cancelled and does not start
    run.refresh_from_db()
    return run
