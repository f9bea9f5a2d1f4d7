"""schedule_meraki_sync (one check, --force and --status) and meraki_sync --full, against the Meraki simulator."""

import json
import socket
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from netbox_meraki.choices import RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings, SyncRun
from netbox_meraki.scheduling import scheduled_job, when

from .conftest import change_settings, enable_schedule, schedule_meraki_sync

pytestmark = pytest.mark.django_db


def scheduled_runs():
    return list(SyncRun.objects.filter(trigger=RunTriggerChoices.SCHEDULE).order_by('pk'))


def test_a_disabled_schedule_exits_3_and_syncs_nothing(meraki_config):
    code, out, _err = schedule_meraki_sync()
    assert code == 3
    assert 'Scheduled syncs are disabled' in out
    assert not SyncRun.objects.exists()
    assert PluginSettings.load().last_scheduled_sync is None


def test_a_due_sync_runs_in_the_scheduled_mode_and_moves_last_and_next(meraki_config, org_id):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN, default_sync_mode=SyncModeChoices.AUTO)
    before = timezone.now()
    code, out, err = schedule_meraki_sync()
    after = timezone.now()

    assert code == 0, out + err
    (run,) = scheduled_runs()
    assert (run.organization_id, run.mode, run.status) == (org_id, SyncModeChoices.DRY_RUN, RunStatusChoices.COMPLETED)
    assert 'Scheduled sync (dry_run) of 1 organization finished.' in out
    assert f'Run #{run.pk} of {run.organization_name}: completed (dry_run' in out

    settings = PluginSettings.load()
    assert before <= settings.last_scheduled_sync <= run.created <= after
    assert settings.next_scheduled_sync == settings.last_scheduled_sync + timedelta(minutes=30)
    # The NetBox worker's recurring job moved to the same next time, so the two never both sync one slot.
    assert scheduled_job().scheduled == settings.next_scheduled_sync


def test_a_sync_that_is_not_due_exits_2_and_says_when_it_is(meraki_config):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN)
    assert schedule_meraki_sync()[0] == 0
    settings = PluginSettings.load()

    code, out, _err = schedule_meraki_sync()
    assert code == 2
    assert 'not due' in out and when(settings.next_scheduled_sync) in out
    assert len(scheduled_runs()) == 1
    again = PluginSettings.load()
    assert (again.last_scheduled_sync, again.next_scheduled_sync) == (
        settings.last_scheduled_sync, settings.next_scheduled_sync
    )


def test_a_sync_is_due_again_once_the_next_time_has_come(meraki_config):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN)
    assert schedule_meraki_sync()[0] == 0
    PluginSettings.objects.filter(pk=1).update(next_scheduled_sync=timezone.now())
    assert schedule_meraki_sync()[0] == 0
    assert len(scheduled_runs()) == 2


def test_force_syncs_when_not_due_and_when_disabled(meraki_config, saved):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN)
    assert schedule_meraki_sync()[0] == 0
    first = PluginSettings.load()

    code, out, err = schedule_meraki_sync('--force')
    assert code == 0, out + err
    assert len(scheduled_runs()) == 2
    forced = PluginSettings.load()
    assert forced.last_scheduled_sync > first.last_scheduled_sync
    assert forced.next_scheduled_sync == forced.last_scheduled_sync + timedelta(minutes=30)

    with saved():
        change_settings(enable_scheduled_sync=False)
    code, out, err = schedule_meraki_sync('--force')
    assert code == 0, out + err
    runs = scheduled_runs()
    assert len(runs) == 3 and runs[-1].mode == SyncModeChoices.DRY_RUN
    disabled = PluginSettings.load()
    assert disabled.last_scheduled_sync > forced.last_scheduled_sync
    # Disabled: no next scheduled sync, and no recurring job.
    assert disabled.next_scheduled_sync is None
    assert scheduled_job() is None


def test_a_failed_sync_exits_1_and_still_moves_the_schedule(meraki_config, simulator):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN)
    simulator.revoke_key(simulator.api_key)

    code, out, err = schedule_meraki_sync()
    assert code == 1
    assert 'could not start' in err and 'Invalid API key' in err
    assert simulator.api_key not in out + err
    # A failing Dashboard is not asked again at every check: the next try is one interval later.
    settings = PluginSettings.load()
    assert settings.last_scheduled_sync is not None
    assert settings.next_scheduled_sync == settings.last_scheduled_sync + timedelta(minutes=30)
    assert schedule_meraki_sync()[0] == 2


def test_a_check_that_cannot_reach_redis_exits_1_and_leaves_the_schedule_as_it_was(meraki_config, settings):
    enable_schedule(interval=30)
    before = PluginSettings.load()
    with socket.socket() as closed:  # a port nothing listens on once this socket is closed
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
    settings.RQ_QUEUES = {name: {**queue, 'PORT': port} for name, queue in settings.RQ_QUEUES.items()}

    code, out, err = schedule_meraki_sync()
    assert code == 1
    assert "NetBox's task queue (Redis) cannot be reached" in err
    after = PluginSettings.load()
    assert (after.last_scheduled_sync, after.next_scheduled_sync) == (None, before.next_scheduled_sync)
    assert not SyncRun.objects.exists()


def test_a_failed_run_exits_1_and_names_it(meraki_config, simulator, org_id):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN, organization_ids=[org_id])
    simulator.inject('server_error', endpoint='GET /organizations/{organizationId}', status=404)

    code, out, err = schedule_meraki_sync()
    assert code == 1
    (run,) = scheduled_runs()
    assert run.status == RunStatusChoices.FAILED
    assert '1 failed' in err and f'Run #{run.pk}' in err


def test_status_shows_the_schedule_and_the_last_scheduled_run(meraki_config):
    code, out, _err = schedule_meraki_sync('--status')
    assert code == 0
    assert 'Scheduled sync: disabled' in out and 'Last scheduled run: none yet' in out

    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN)
    schedule_meraki_sync()
    settings = PluginSettings.load()
    (run,) = scheduled_runs()
    job = scheduled_job()

    code, out, _err = schedule_meraki_sync('--status')
    assert code == 0
    lines = out.splitlines()
    assert 'Scheduled sync: enabled' in lines
    assert 'Interval: every 30 minutes' in lines
    assert 'Mode: dry_run' in lines
    assert f'Last scheduled sync: {when(settings.last_scheduled_sync)}' in lines
    assert f'Next scheduled sync: {when(settings.next_scheduled_sync)}' in lines
    assert f'NetBox recurring job: #{job.pk}, scheduled for {when(job.scheduled)}, every 30 minutes' in lines
    assert any(line.startswith(f'Last scheduled run: #{run.pk} of {run.organization_name}: completed (dry_run')
               for line in lines), out
    # --status only reads: it syncs nothing.
    assert len(scheduled_runs()) == 1


def test_continuous_refuses_an_interval_under_one_second():
    with pytest.raises(CommandError, match='--interval must be at least 1 second'):
        call_command('schedule_meraki_sync', '--continuous', '--interval', '0')


def test_interval_without_continuous_is_refused():
    with pytest.raises(CommandError, match='--interval only applies with --continuous'):
        call_command('schedule_meraki_sync', '--interval', '30')


def meraki_sync(*args):
    """meraki_sync in dry-run mode, as an operator would run it; returns its output."""
    out = StringIO()
    call_command('meraki_sync', '--mode', SyncModeChoices.DRY_RUN, *args, stdout=out)
    return out.getvalue()


def test_meraki_sync_full_reads_every_network_even_when_fresh_reads_are_stored(meraki_config, org_id):
    first = json.loads(meraki_sync('--organization', org_id, '--json'))
    assert first['full_read'] is True  # nothing was stored to start from
    # The next sync reads only the networks whose configuration changed: none.
    second = json.loads(meraki_sync('--organization', org_id, '--json'))
    assert second['full_read'] is False

    out = meraki_sync('--organization', org_id, '--full')
    run = SyncRun.objects.latest('pk')
    assert run.full_read is True and run.trigger == RunTriggerChoices.COMMAND
    assert f'Run #{run.pk} of {run.organization_name}: completed (dry_run, full read, ' in out
