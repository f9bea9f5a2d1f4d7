"""NetBox-native scheduling: saving the settings keeps the recurring job in step; a real RQ worker runs it."""

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone

from core.choices import JobStatusChoices
from core.models import Job
from dcim.models import Device, Site

from netbox_meraki.choices import RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.jobs import ScheduledSyncJob, SyncJob
from netbox_meraki.models import PluginSettings, SyncRun
from netbox_meraki.scheduling import scheduled_job, sync_schedule

from .conftest import LineReader, change_settings, clear_task_queues, enable_schedule, start_netbox

WAITING = (JobStatusChoices.STATUS_PENDING, JobStatusChoices.STATUS_SCHEDULED)


def waiting_jobs():
    return list(Job.objects.filter(name=ScheduledSyncJob.name, status__in=WAITING))


def record_last_sync(moment):
    settings = PluginSettings.load()
    settings.last_scheduled_sync = moment
    settings.save(update_fields=['last_scheduled_sync'])


@pytest.mark.django_db
def test_enabling_the_schedule_creates_one_recurring_job_at_the_next_sync_time(saved):
    assert waiting_jobs() == []
    before = timezone.now()
    with saved():
        enable_schedule(interval=60)
    settings = PluginSettings.load()

    (job,) = waiting_jobs()
    assert job.interval == 60
    assert job.status == JobStatusChoices.STATUS_SCHEDULED
    # Never run: due at once, and the settings say when.
    assert before <= job.scheduled <= timezone.now()
    assert settings.next_scheduled_sync == job.scheduled


@pytest.mark.django_db
def test_a_restarted_schedule_runs_one_interval_after_the_last_scheduled_sync(saved):
    last = timezone.now() - timedelta(minutes=10)
    record_last_sync(last)
    with saved():
        enable_schedule(interval=60)
    settings = PluginSettings.load()
    (job,) = waiting_jobs()
    assert job.scheduled == last + timedelta(minutes=60) == settings.next_scheduled_sync


@pytest.mark.django_db
def test_changing_the_interval_replaces_the_job(saved):
    last = timezone.now() - timedelta(minutes=10)
    record_last_sync(last)
    with saved():
        enable_schedule(interval=60)
    (old,) = waiting_jobs()

    with saved():
        change_settings(sync_interval_minutes=30)
    settings = PluginSettings.load()
    (new,) = waiting_jobs()
    assert new.pk != old.pk
    assert not Job.objects.filter(pk=old.pk).exists()
    assert new.interval == 30
    assert new.scheduled == last + timedelta(minutes=30) == settings.next_scheduled_sync


@pytest.mark.django_db
def test_changing_the_mode_keeps_the_job_and_its_time(saved):
    with saved():
        enable_schedule(interval=60, mode=SyncModeChoices.REVIEW)
    (job,) = waiting_jobs()
    with saved():
        change_settings(scheduled_sync_mode=SyncModeChoices.AUTO)
    settings = PluginSettings.load()
    assert waiting_jobs() == [job]
    assert settings.next_scheduled_sync == job.scheduled


@pytest.mark.django_db
def test_disabling_the_schedule_removes_the_job(saved):
    with saved():
        enable_schedule(interval=60)
    assert len(waiting_jobs()) == 1

    with saved():
        change_settings(enable_scheduled_sync=False)
    assert waiting_jobs() == []
    assert PluginSettings.load().next_scheduled_sync is None


@pytest.mark.django_db
def test_saving_the_settings_again_does_not_duplicate_the_job(saved):
    with saved():
        enable_schedule(interval=15)
    first = waiting_jobs()
    with saved():
        PluginSettings.load().save()
        change_settings(default_sync_mode=SyncModeChoices.AUTO)
    assert len(first) == 1 and waiting_jobs() == first


@pytest.mark.django_db
def test_settings_that_are_not_committed_change_no_job(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as waiting:
        enable_schedule(interval=15)
    # The schedule changes once the transaction commits, not before (nor ever, if it is rolled back).
    assert waiting_jobs() == []
    assert sync_schedule in waiting


@pytest.mark.usefixtures('committed_db')
def test_the_job_waits_in_rq_and_disabling_cancels_it_there():
    enable_schedule(interval=60)
    (job,) = waiting_jobs()
    registry = django_rq.get_queue(job.queue_name).scheduled_job_registry
    assert str(job.job_id) in registry.get_job_ids()

    change_settings(enable_scheduled_sync=False)
    assert str(job.job_id) not in registry.get_job_ids()


@pytest.mark.usefixtures('committed_db')
def test_a_real_worker_runs_the_scheduled_sync_in_the_scheduled_mode(child_env, org_id):
    settings = enable_schedule(interval=60, mode=SyncModeChoices.DRY_RUN, default_sync_mode=SyncModeChoices.AUTO)
    (job,) = waiting_jobs()

    worker = start_netbox('rqworker', '--burst', env=child_env)
    output = LineReader(worker.stdout)
    try:
        code = worker.wait(timeout=180)
    finally:
        worker.kill()
    assert code == 0, '\n'.join(output.lines)

    job.refresh_from_db()
    assert job.status == JobStatusChoices.STATUS_COMPLETED, job.log_entries
    assert job.data['status'] == 'synced'
    (run,) = SyncRun.objects.all()
    assert (run.organization_id, run.trigger, run.mode) == (org_id, RunTriggerChoices.SCHEDULE, SyncModeChoices.DRY_RUN)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.changes.exists()
    # One background job per organization, run by the same worker.
    assert run.job.name == SyncJob.name and run.job.status == JobStatusChoices.STATUS_COMPLETED
    # The run's job says what the run did (NetBox's job statuses have no partial or awaiting review) and links it.
    planned = run.changes.count()
    assert run.job.data == {
        'run': run.pk, 'url': run.get_absolute_url(), 'organization': run.organization_name,
        'organization_id': org_id, 'mode': SyncModeChoices.DRY_RUN, 'status': RunStatusChoices.COMPLETED,
        'planned': run.counts, 'outcome': {'planned': planned}, 'error': '',
    }
    assert run.job.log_entries[-1]['message'] == (
        f'Run #{run.pk} of {run.organization_name}: completed. {run.get_absolute_url()}')
    # Dry run: planned, nothing written.
    assert not Site.objects.exists() and not Device.objects.exists()

    # The job rescheduled itself one interval on, and the settings agree with it.
    settings = PluginSettings.load()
    successor = scheduled_job()
    assert successor.pk != job.pk and successor.interval == 60
    assert successor.scheduled == job.scheduled + timedelta(minutes=60)
    assert settings.next_scheduled_sync == successor.scheduled
    assert job.scheduled <= job.started <= settings.last_scheduled_sync <= job.completed


def run_job_occurrence(interval):
    """
    One occurrence of the recurring job, due now, called here the way the RQ worker calls it (NetBox then schedules
    the next occurrence).
    """
    job = ScheduledSyncJob.enqueue(schedule_at=timezone.now(), interval=interval)
    ScheduledSyncJob.handle(job=job)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_an_occurrence_after_the_schedule_was_disabled_removes_the_next_one():
    job = run_job_occurrence(interval=60)
    assert job.data['status'] == 'disabled'
    assert waiting_jobs() == []
    assert not SyncRun.objects.exists()


@pytest.mark.django_db
def test_an_occurrence_follows_an_interval_changed_while_it_was_queued(meraki_config, org_id):
    settings = enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id])
    job = run_job_occurrence(interval=60)

    assert job.data['status'] == 'synced'
    (run,) = SyncRun.objects.all()
    assert (run.trigger, run.mode, run.status) == (RunTriggerChoices.SCHEDULE, SyncModeChoices.DRY_RUN,
                                                   RunStatusChoices.PENDING)
    assert run.job.name == SyncJob.name
    (successor,) = waiting_jobs()
    settings = PluginSettings.load()
    assert successor.interval == 30
    assert successor.scheduled == settings.last_scheduled_sync + timedelta(minutes=30) == settings.next_scheduled_sync


@pytest.mark.django_db
def test_an_occurrence_that_finds_every_organization_syncing_tries_again_in_five_minutes(
    meraki_config, org_id, hold_organization_lock,
):
    enable_schedule(interval=60, mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id])
    # Another process is syncing the organization: it holds the organization's lock.
    running = SyncRun.objects.create(
        organization_id=org_id, mode=SyncModeChoices.AUTO, trigger=RunTriggerChoices.MANUAL,
        status=RunStatusChoices.RUNNING, started=timezone.now(),
    )
    hold_organization_lock(org_id)
    before = timezone.now()
    job = run_job_occurrence(interval=60)

    assert job.data['status'] == 'busy'
    assert f'run #{running.pk}' in job.data['message']
    assert SyncRun.objects.count() == 1
    (successor,) = waiting_jobs()
    settings = PluginSettings.load()
    assert settings.last_scheduled_sync is None
    assert before + timedelta(minutes=5) <= successor.scheduled <= timezone.now() + timedelta(minutes=5)
    assert settings.next_scheduled_sync == successor.scheduled


@pytest.mark.usefixtures('committed_db')
def test_saving_the_settings_restores_a_job_that_redis_lost():
    enable_schedule(interval=60)
    (lost,) = waiting_jobs()
    clear_task_queues()

    change_settings(scheduled_sync_mode=SyncModeChoices.AUTO)
    (job,) = waiting_jobs()
    assert job.pk != lost.pk and job.scheduled == lost.scheduled
    assert str(job.job_id) in django_rq.get_queue(job.queue_name).scheduled_job_registry.get_job_ids()
