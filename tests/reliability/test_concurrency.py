"""
Concurrency: triggers that meet give exactly one sync per organization and a clear refusal for the others; a person's
edit made while a sync runs is never silently overwritten. (The scheduler against a manual sync, and two schedulers,
are in tests/scheduling/test_overlap.py.)
"""

import re
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from core.choices import JobStatusChoices
from core.models import Job, ObjectType
from dcim.models import Device
from users.models import ObjectPermission, User

from netbox_meraki import apply
from netbox_meraki import sync as sync_module
from netbox_meraki.apply import Applier
from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.jobs import SyncJob
from netbox_meraki.models import SyncRun
from netbox_meraki.sync import MerakiSyncService, SyncAlreadyRunning, create_run

from ..conftest import Trigger
from .conftest import assert_converged, sync


def all_at_once(*targets):
    barrier = threading.Barrier(len(targets), timeout=30)
    triggers = [Trigger(target, barrier) for target in targets]
    for trigger in triggers:
        trigger.start()
    for trigger in triggers:
        trigger.join(timeout=120)
        assert not trigger.is_alive()
    return triggers


@pytest.fixture
def slow_dashboard(simulator):
    """Every Dashboard answer takes half a second, so that a sync lasts long enough to be met."""
    simulator.configure(latency_ms=500)
    yield simulator
    simulator.configure(latency_ms=0)


@pytest.mark.usefixtures('committed')
def test_two_background_triggers_at_once_queue_one_sync_and_refuse_the_other(meraki_config, org_id, monkeypatch):
    # Redis is slow today: queuing a job takes half a second, a window in which another trigger looks at the run.
    enqueue = SyncJob.enqueue.__func__

    def slow_enqueue(cls, *args, **kwargs):
        time.sleep(0.5)
        return enqueue(cls, *args, **kwargs)

    monkeypatch.setattr(SyncJob, 'enqueue', classmethod(slow_enqueue))

    def trigger(kind):
        return lambda: MerakiSyncService(trigger=kind).sync_all(mode='dry_run', organization_ids=[org_id])

    ui, api = all_at_once(trigger(RunTriggerChoices.MANUAL), trigger(RunTriggerChoices.API))

    (run,) = SyncRun.objects.all()
    assert run.status == RunStatusChoices.PENDING and run.job is not None
    refused = [trigger.error for trigger in (ui, api) if trigger.error]
    assert len(refused) == 1 and isinstance(refused[0], SyncAlreadyRunning)
    assert f'is already pending: run #{run.pk}' in str(refused[0])


@pytest.mark.usefixtures('committed')
def test_the_command_and_the_ui_at_once_give_one_sync_and_a_clear_refusal(meraki_config, org_id, slow_dashboard):
    user = User.objects.create_user(username='operator', password='operator')
    permission = ObjectPermission.objects.create(name='run syncs', actions=['view', 'run'])
    permission.object_types.add(ObjectType.objects.get_by_natural_key('netbox_meraki', 'syncrun'))
    permission.users.add(user)

    def command():
        try:
            call_command('meraki_sync', '--mode', 'dry_run', '--organization', org_id, stdout=open('/dev/null', 'w'))
        except CommandError as exc:
            return str(exc)
        return ''

    client = Client()
    client.force_login(user)
    assert client.get(reverse('plugins:netbox_meraki:sync')).status_code == 200  # the form, as a person opens it

    def ui():
        response = client.post(reverse('plugins:netbox_meraki:sync'), {'mode': 'dry_run', 'organization_ids': [org_id]})
        return response.status_code, response.content.decode()

    from_command, from_ui = all_at_once(command, ui)

    assert not from_command.error and not from_ui.error, (from_command.error, from_ui.error)
    runs = list(SyncRun.objects.all())
    assert len(runs) == 1, [(run.pk, run.trigger, run.status, run.error) for run in runs]
    (run,) = runs
    status, page = from_ui.result
    if run.trigger == RunTriggerChoices.COMMAND:
        assert run.status == RunStatusChoices.COMPLETED and run.api_calls > 0
        # Refused while the command's run starts (pending) or runs.
        assert status == 200 and re.search(rf'is already (pending|running): run #{run.pk} ', page)
    else:
        assert run.status == RunStatusChoices.PENDING and status == 302
        assert f'is already pending: run #{run.pk}' in from_command.result


@pytest.mark.usefixtures('committed')
def test_two_workers_running_syncs_of_one_organization_at_once_sync_it_once(meraki_config, org_id, slow_dashboard):
    # Two runs that got past the triggers' check (say, from an older version), each picked by its own worker.
    first = create_run(org_id, SyncModeChoices.DRY_RUN, [], RunTriggerChoices.API, None)
    second = SyncRun.objects.create(organization_id=org_id, mode=SyncModeChoices.DRY_RUN,
                                    trigger=RunTriggerChoices.SCHEDULE)
    jobs = []
    for run in (first, second):
        run.job = SyncJob.enqueue(run_id=run.pk)
        run.job.kwargs = {'run_id': run.pk}
        run.save(update_fields=['job'])
        jobs.append(run.job)

    workers = all_at_once(*(lambda job=job: SyncJob.handle(job, run_id=job.kwargs['run_id']) for job in jobs))
    assert not [worker.error for worker in workers if worker.error]

    runs = {run.pk: run for run in SyncRun.objects.all()}
    synced = [run for run in runs.values() if run.status == RunStatusChoices.COMPLETED]
    refused = [run for run in runs.values() if run.status == RunStatusChoices.FAILED]
    assert len(synced) == 1 and len(refused) == 1, [(run.pk, run.status, run.error) for run in runs.values()]
    assert synced[0].api_calls > 0 and refused[0].api_calls == 0
    assert f'is already running: run #{synced[0].pk}' in refused[0].error or (
        f'is already pending: run #{synced[0].pk}' in refused[0].error)


@pytest.mark.usefixtures('committed')
def test_one_run_picked_by_two_workers_runs_once(meraki_config, org_id, slow_dashboard):
    (run,) = MerakiSyncService().sync_all(mode='dry_run', organization_ids=[org_id])

    # RQ hands the same job to two workers (a worker thought dead, its job requeued): one runs it, the other leaves it.
    all_at_once(lambda: SyncJob.handle(run.job, run_id=run.pk), lambda: SyncJob.handle(run.job, run_id=run.pk))

    run.refresh_from_db()
    assert run.status == RunStatusChoices.COMPLETED and run.api_calls > 0
    assert run.changes.exists()
    assert not run.error


@pytest.mark.usefixtures('committed')
def test_a_queued_run_given_up_on_does_not_start_when_its_job_comes(meraki_config, org_id):
    (run,) = MerakiSyncService().sync_all(mode='dry_run', organization_ids=[org_id])
    SyncRun.objects.filter(pk=run.pk).update(status=RunStatusChoices.INTERRUPTED, error='Interrupted.')

    SyncJob.handle(run.job, run_id=run.pk)

    run.refresh_from_db()
    assert (run.status, run.api_calls, run.started) == (RunStatusChoices.INTERRUPTED, 0, None)
    assert not run.changes.exists()


@pytest.mark.django_db
def test_a_run_whose_worker_died_is_shown_interrupted_without_another_sync(meraki_config, org_id, admin_client):
    (run,) = MerakiSyncService().sync_all(mode='dry_run', organization_ids=[org_id])
    # The worker died with the job: RQ and NetBox mark the job failed; the run never started.
    Job.objects.filter(pk=run.job.pk).update(status=JobStatusChoices.STATUS_FAILED)

    page = admin_client.get(reverse('plugins:netbox_meraki:syncrun_list')).content.decode()

    run.refresh_from_db()
    assert run.status == RunStatusChoices.INTERRUPTED and run.completed
    assert 'Interrupted' in page
    assert SyncRun.objects.count() == 1


@pytest.mark.django_db
def test_a_run_that_finished_meanwhile_is_never_marked_interrupted(meraki_config, org_id):
    # A check that read the run while it ran, and finds the lock free only after the run has finished and saved.
    (run,) = MerakiSyncService().sync_all(mode='dry_run', organization_ids=[org_id], background=False)
    seen_running = SyncRun.objects.get(pk=run.pk)
    seen_running.status = RunStatusChoices.RUNNING

    sync_module.interrupt(seen_running)

    run.refresh_from_db()
    assert run.status == RunStatusChoices.COMPLETED and not run.error


# A person editing a synced object while a sync runs.


def meraki_renames(simulator, org_id):
    """Meraki renames two devices: the sync plans an update of each."""
    serials = sorted(simulator.dashboard.orgs[org_id].devices)[:2]
    for serial in serials:
        simulator.rename_device(serial, f'{serial}-from-meraki')
    return serials


def edit(serial, **fields):
    device = Device.objects.get(serial=serial)
    device.snapshot()
    for name, value in fields.items():
        setattr(device, name, value)
    device.full_clean()
    device.save()


@pytest.mark.django_db
def test_an_edit_between_plan_and_apply_is_a_conflict_not_overwritten(simulator, meraki_config, org_id, monkeypatch):
    sync(org_id)
    edited, untouched = meraki_renames(simulator, org_id)
    apply_changes = sync_module.apply_changes

    def person_edits_then_apply(*args, **kwargs):
        edit(edited, name='named-by-a-person')
        edit(untouched, comments='a note by a person')
        return apply_changes(*args, **kwargs)

    monkeypatch.setattr(sync_module, 'apply_changes', person_edits_then_apply)
    run = sync(org_id)

    conflict = run.changes.get(kind='device', meraki_id=edited)
    assert conflict.state == ChangeStateChoices.CONFLICT
    assert "name is 'named-by-a-person'" in conflict.reason
    assert Device.objects.get(serial=edited).name == 'named-by-a-person'
    # The other device takes Meraki's name and keeps the person's note on a field the sync does not own.
    assert run.changes.get(kind='device', meraki_id=untouched).state == ChangeStateChoices.APPLIED
    device = Device.objects.get(serial=untouched)
    assert (device.name, device.comments) == (f'{untouched}-from-meraki', 'a note by a person')
    assert run.status == RunStatusChoices.PARTIAL


@pytest.mark.django_db
def test_an_edit_during_the_apply_is_a_conflict_not_overwritten(simulator, meraki_config, org_id, monkeypatch):
    sync(org_id)
    _first, edited = meraki_renames(simulator, org_id)
    # Many small batches; the person saves while earlier batches are being written, before the device's turn.
    monkeypatch.setattr(apply, 'BATCH_SIZE', 1)
    original = Applier.apply
    seen = []

    def apply_one(self, change):
        seen.append(change)
        if len(seen) == 1:
            edit(edited, name='named-during-the-apply')
        return original(self, change)

    monkeypatch.setattr(Applier, 'apply', apply_one)
    run = sync(org_id)

    change = run.changes.get(kind='device', meraki_id=edited)
    assert seen.index(next(c for c in seen if c.pk == change.pk)) > 0
    assert change.state == ChangeStateChoices.CONFLICT
    assert Device.objects.get(serial=edited).name == 'named-during-the-apply'
    # The next sync plans Meraki's name again, in the open: an update with the person's name as "before".
    monkeypatch.setattr(Applier, 'apply', original)
    again = sync(org_id)
    update = again.changes.get(kind='device', meraki_id=edited)
    assert update.before == {'name': 'named-during-the-apply'} and update.state == ChangeStateChoices.APPLIED
    assert_converged(org_id)
