"""
Retention of runs: months of scheduled syncs leave the plugin's tables bounded by run_retention_days, and never
delete the newest run of an organization, a run still working or waiting for review, or anything in NetBox.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.models import ObjectChange
from dcim.models import Device
from netbox.registry import registry

from meraki_sim import Scale, Simulator
from netbox_meraki.choices import RunStatusChoices, SyncModeChoices
from netbox_meraki.housekeeping import HousekeepingJob, delete_expired_reads, delete_expired_runs
from netbox_meraki.models import Change, NetworkRead, PluginSettings, SyncedObject, SyncRun

from ..conftest import API_KEY
from .conftest import plugin_config, soak, sync, sync_and_review
from .test_convergence import Mutations

pytestmark = pytest.mark.django_db

# Syncs every 15 minutes, retention of a day: the same bound as 90 days of them, compressed.
SYNC_INTERVAL = timedelta(minutes=15)
RETENTION_DAYS = 1
SIMULATED_DAYS = soak(2, 30)
# Real syncs (a mutation each) per simulated day; the 15-minute runs between them are nothing-changed runs.
SYNCS_PER_DAY = soak(3, 8)


def retention(days):
    config = {**settings.PLUGINS_CONFIG['netbox_meraki'], 'run_retention_days': days}
    return override_settings(PLUGINS_CONFIG={**settings.PLUGINS_CONFIG, 'netbox_meraki': config})


def make_run(organization_id='1', status=RunStatusChoices.COMPLETED, age=timedelta(0), changes=0):
    run = SyncRun.objects.create(
        organization_id=organization_id, mode=SyncModeChoices.AUTO, status=status, trigger='scheduled',
    )
    SyncRun.objects.filter(pk=run.pk).update(created=timezone.now() - age)
    Change.objects.bulk_create(
        Change(run=run, sequence=n, action='create', kind='device', meraki_id=f'Q-{n}', object_repr=f'device {n}')
        for n in range(changes)
    )
    return run


def test_runs_older_than_the_retention_go_with_their_changes():
    old = make_run(age=timedelta(days=91), changes=3)
    recent = make_run(age=timedelta(days=89), changes=2)
    newest = make_run(age=timedelta(days=1))
    with retention(90):
        assert delete_expired_runs() == (1, 3)
    assert set(SyncRun.objects.values_list('pk', flat=True)) == {recent.pk, newest.pk}
    assert not Change.objects.filter(run_id=old.pk).exists()
    assert Change.objects.filter(run=recent).count() == 2


def test_the_newest_run_of_each_organization_and_unfinished_runs_are_kept_whatever_their_age():
    kept = {
        make_run(organization_id='1', age=timedelta(days=200)).pk,  # organization 1's newest
        make_run(organization_id='2', age=timedelta(days=150)).pk,  # organization 2's newest
        make_run(organization_id='1', status=RunStatusChoices.AWAITING_REVIEW, age=timedelta(days=300)).pk,
        make_run(organization_id='2', status=RunStatusChoices.PENDING, age=timedelta(days=300)).pk,
        make_run(organization_id='2', status=RunStatusChoices.RUNNING, age=timedelta(days=300)).pk,
    }
    deleted = {
        make_run(organization_id='1', status=status, age=timedelta(days=250)).pk
        for status in (RunStatusChoices.FAILED, RunStatusChoices.PARTIAL, RunStatusChoices.CANCELLED)
    }
    with retention(90):
        assert delete_expired_runs()[0] == len(deleted)
    assert set(SyncRun.objects.values_list('pk', flat=True)) == kept


def test_retention_zero_keeps_every_run():
    make_run(age=timedelta(days=3000))
    make_run(age=timedelta(days=2000))
    with retention(0):
        assert delete_expired_runs() == (0, 0)
    assert SyncRun.objects.count() == 2


def test_network_reads_older_than_a_full_reads_interval_go():
    settings = PluginSettings.load()
    settings.full_read_hours = 24
    settings.save()
    now = timezone.now()
    for network_id, age in (('N_1', timedelta(hours=25)), ('N_2', timedelta(hours=23))):
        NetworkRead.objects.create(organization_id='1', network_id=network_id, read_at=now - age, data={})
    assert delete_expired_reads(now) == 1
    assert list(NetworkRead.objects.values_list('network_id', flat=True)) == ['N_2']


def test_the_daily_system_job_deletes_expired_runs():
    assert registry['system_jobs'][HousekeepingJob] == {'interval': 24 * 60}
    make_run(age=timedelta(days=100))
    make_run()
    with retention(90):
        job = HousekeepingJob.enqueue(immediate=True)
    assert SyncRun.objects.count() == 1
    job.refresh_from_db()
    assert job.status == 'completed'
    assert any('Deleted 1 runs older than 90 days' in entry['message'] for entry in job.log_entries)


@hypothesis_settings(
    max_examples=1, deadline=None, derandomize=False, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_months_of_scheduled_syncs_keep_the_plugins_tables_bounded_by_the_retention(data):
    """
    Syncs every 15 minutes of simulated time against a Meraki that keeps changing, the daily housekeeping between
    them: the runs left are those of the last day, the review nobody decided (unless a later run that held removals
    superseded it) and nothing else; NetBox keeps what the syncs wrote, and its changelog of them.
    """
    with Simulator(seed=3, scale=Scale(organizations=1, networks=2, devices=6), rate_limit=0,
                   api_key=API_KEY) as sim, override_settings(
        PLUGINS_CONFIG=plugin_config(sim, run_retention_days=RETENTION_DAYS)
    ):
        org_id = sim.org_ids[0]
        mutations = Mutations(sim, org_id, data)
        start = timezone.now() - timedelta(days=SIMULATED_DAYS)
        undecided = sync(org_id, SyncModeChoices.REVIEW)
        SyncRun.objects.filter(pk=undecided.pk).update(created=start)
        mutate_every = timedelta(days=1) / SYNCS_PER_DAY

        clock, next_mutation, next_housekeeping = start, start, start + timedelta(days=1)
        while clock < timezone.now():
            if clock >= next_mutation:
                note(f'{clock}: {mutations.step()}')
                run = sync_and_review(org_id)
                assert run.status == RunStatusChoices.COMPLETED, (run.status, run.error)
                SyncRun.objects.filter(pk=run.pk).update(created=clock)
                next_mutation += mutate_every
            else:
                # Between changes, the scheduled runs that found nothing to do (as a sync would record them).
                SyncRun.objects.create(
                    organization_id=org_id, mode=SyncModeChoices.AUTO, status=RunStatusChoices.COMPLETED,
                    trigger='scheduled', created=clock,
                )
            if clock >= next_housekeeping:
                devices, changelog = Device.objects.count(), ObjectChange.objects.count()
                # One review waits at a time (a later run that holds removals supersedes it), and is never deleted.
                waiting = set(SyncRun.objects.filter(status=RunStatusChoices.AWAITING_REVIEW).values_list(
                    'pk', flat=True))
                assert len(waiting) <= 1
                delete_expired_runs(now=clock)
                assert waiting <= set(SyncRun.objects.values_list('pk', flat=True))
                assert (Device.objects.count(), ObjectChange.objects.count()) == (devices, changelog)
                oldest_kept = SyncRun.objects.exclude(pk=undecided.pk).order_by('created').first()
                assert oldest_kept.created >= clock - timedelta(days=RETENTION_DAYS)
                next_housekeeping += timedelta(days=1)
            clock += SYNC_INTERVAL

        undecided.refresh_from_db()
        delete_expired_runs()
        runs_per_retention = timedelta(days=RETENTION_DAYS) / SYNC_INTERVAL
        still_waiting = undecided.status == RunStatusChoices.AWAITING_REVIEW
        assert SyncRun.objects.filter(pk=undecided.pk).exists() == still_waiting
        assert SyncRun.objects.count() <= runs_per_retention + 2  # the window's runs, its edge, the review
        assert not Change.objects.exclude(run__in=SyncRun.objects.all()).exists()
        # Ownership outlives the runs that wrote it: what the syncs own is still owned.
        assert SyncedObject.objects.filter(kind='device').count() == len(sim.dashboard.orgs[org_id].devices)
        # The stored reads: one per network Meraki has, whatever the networks added and removed on the way.
        assert set(NetworkRead.objects.values_list('network_id', flat=True)) <= set(sim.dashboard.orgs[org_id].networks)
