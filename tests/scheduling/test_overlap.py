"""No overlapping syncs: triggers that meet a running sync return at once and name it."""

import re
import threading
import time

import pytest

from netbox_meraki.choices import RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings, SyncRun
from netbox_meraki.sync import MerakiSyncService, SyncAlreadyRunning

from ..conftest import Trigger
from .conftest import enable_schedule, schedule_meraki_sync

pytestmark = pytest.mark.usefixtures('committed_db')


def manual_sync(org_id):
    return MerakiSyncService(trigger=RunTriggerChoices.MANUAL).sync_all(
        mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id], background=False,
    )


def scheduled_check():
    code, out, err = schedule_meraki_sync()
    return code, out + err


def running_run(timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run := SyncRun.objects.filter(status=RunStatusChoices.RUNNING).first():
            return run
        time.sleep(0.02)
    raise AssertionError('No sync started running.')


@pytest.fixture
def slow_dashboard(simulator):
    """Every Dashboard answer takes half a second, so a sync runs long enough to be met by another trigger."""
    simulator.configure(latency_ms=500)
    yield simulator
    simulator.configure(latency_ms=0)


def test_a_scheduled_check_during_a_manual_sync_exits_4_naming_it(meraki_config, slow_dashboard, org_id):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id])
    before = PluginSettings.load()
    manual = Trigger(lambda: manual_sync(org_id))
    manual.start()
    run = running_run()

    started = time.monotonic()
    code, output = scheduled_check()
    assert time.monotonic() - started < 5
    manual.join(timeout=60)

    assert code == 4
    assert f'run #{run.pk} (manual (ui)' in output
    assert list(SyncRun.objects.values_list('pk', flat=True)) == [run.pk]
    # Nothing ran for the schedule: the slot is given back, and the next check syncs.
    after = PluginSettings.load()
    assert (after.last_scheduled_sync, after.next_scheduled_sync) == (
        before.last_scheduled_sync, before.next_scheduled_sync
    )
    slow_dashboard.configure(latency_ms=0)
    assert scheduled_check()[0] == 0


def test_a_manual_sync_during_a_scheduled_sync_is_refused_naming_it(meraki_config, slow_dashboard, org_id):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id])
    scheduled = Trigger(scheduled_check)
    scheduled.start()
    run = running_run()

    with pytest.raises(SyncAlreadyRunning, match=rf'run #{run.pk} \(schedule'):
        manual_sync(org_id)
    scheduled.join(timeout=60)
    assert scheduled.result[0] == 0
    assert list(SyncRun.objects.values_list('pk', flat=True)) == [run.pk]


def test_a_second_scheduler_during_a_scheduled_sync_finds_it_not_due_and_names_it(
    meraki_config, slow_dashboard, org_id
):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id])
    first = Trigger(scheduled_check)
    first.start()
    run = running_run()

    code, output = scheduled_check()
    first.join(timeout=60)
    assert (first.result[0], code) == (0, 2)
    assert f'In progress: run #{run.pk}' in output
    assert SyncRun.objects.count() == 1


def test_two_triggers_at_once_give_one_sync_and_one_clear_refusal(meraki_config, slow_dashboard, org_id):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id])
    barrier = threading.Barrier(2, timeout=10)
    manual = Trigger(lambda: manual_sync(org_id), barrier)
    scheduled = Trigger(scheduled_check, barrier)
    manual.start()
    scheduled.start()
    manual.join(timeout=60)
    scheduled.join(timeout=60)

    # Exactly one sync fetched and planned; the other trigger was refused with the other run's number, either
    # before creating a run or, when both got past that check together, by the organization's lock at start. The
    # refusal names that run as it was then: pending (created, not started yet) or running.
    synced = SyncRun.objects.get(status=RunStatusChoices.COMPLETED)
    assert synced.api_calls > 0
    others = list(SyncRun.objects.exclude(pk=synced.pk))
    assert all(run.status == RunStatusChoices.FAILED and run.api_calls == 0 for run in others)
    refused_trigger = manual.error if synced.trigger == RunTriggerChoices.SCHEDULE else scheduled.result[1]
    messages = [str(refused_trigger)] + [run.error for run in others]
    refusal = re.compile(rf'is already (pending|running): run #{synced.pk} \(')
    assert any(refusal.search(message) for message in messages), messages
