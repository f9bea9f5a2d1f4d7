"""schedule_meraki_sync --continuous as systemd runs it: a child process, stopped with SIGTERM."""

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from netbox_meraki.choices import RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings, SyncRun

from .conftest import LineReader, enable_schedule, start_netbox

pytestmark = pytest.mark.usefixtures('committed_db')


def test_continuous_mode_rereads_the_settings_survives_a_failed_sync_and_stops_on_sigterm(
    child_env, simulator, org_id
):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id])
    # The first sync fails: Meraki answers 404 for the organization, once.
    simulator.inject('server_error', endpoint='GET /organizations/{organizationId}', status=404, count=1)

    process = start_netbox('schedule_meraki_sync', '--continuous', '--interval', '1', env=child_env)
    output = LineReader(process.stdout)
    try:
        output.wait_for('Checking every 1 s')
        # Cycle 1: the sync fails; the process says so and goes on.
        output.wait_for('Scheduled sync (dry_run) of 1 organization: 1 failed.')
        # Cycle 2: not due, since even a failed sync moves the schedule one interval on.
        output.wait_for('Scheduled sync not due')
        failed = PluginSettings.load()

        # Each cycle reads the settings afresh: once the next time has come, the next cycle syncs.
        PluginSettings.objects.filter(pk=1).update(next_scheduled_sync=timezone.now())
        output.wait_for('Scheduled sync (dry_run) of 1 organization finished.')
        output.wait_for('Scheduled sync not due')

        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - stopping < 5
        output.wait_for('Stopped.')
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    first, second = SyncRun.objects.filter(trigger=RunTriggerChoices.SCHEDULE).order_by('pk')
    assert first.status == RunStatusChoices.FAILED and '404' in first.error
    assert (second.status, second.mode) == (RunStatusChoices.COMPLETED, SyncModeChoices.DRY_RUN)
    settings = PluginSettings.load()
    assert settings.last_scheduled_sync > failed.last_scheduled_sync
    assert settings.next_scheduled_sync == settings.last_scheduled_sync + timedelta(minutes=30)
