"""A scheduled sync that fails before it can start a run: kept on the settings, shown where the schedule is, cleared."""

import pytest
from django.urls import reverse

from netbox_meraki.choices import RunTriggerChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings, SyncRun
from netbox_meraki.scheduling import FAILED, SYNCED, run_scheduled_sync

from .conftest import enable_schedule, schedule_meraki_sync

pytestmark = pytest.mark.django_db

SCHEDULE_PAGES = ('plugins:netbox_meraki:dashboard', 'plugins:netbox_meraki:settings_scheduling',
                  'plugins:netbox_meraki:settings_schedule_status')


def page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def test_a_scheduled_sync_refused_by_meraki_is_shown_with_what_to_check_until_one_starts_runs(
    meraki_config, simulator, org_id, admin_client,
):
    enable_schedule(interval=30, mode=SyncModeChoices.DRY_RUN)
    simulator.revoke_key(simulator.api_key)

    outcome = run_scheduled_sync(force=True)

    assert outcome.status == FAILED and outcome.runs == []
    assert not SyncRun.objects.filter(trigger=RunTriggerChoices.SCHEDULE).exists()
    settings = PluginSettings.load()
    assert settings.schedule_failed_at == settings.last_scheduled_sync
    assert '401' in settings.schedule_failure and 'MERAKI_DASHBOARD_API_KEY' in settings.schedule_failure
    assert simulator.api_key not in settings.schedule_failure
    for name in SCHEDULE_PAGES:
        html = page(admin_client, name)
        assert 'could not start' in html and 'MERAKI_DASHBOARD_API_KEY' in html, name
        assert simulator.api_key not in html
    code, out, _err = schedule_meraki_sync('--status')
    assert 'Last scheduled sync could not start' in out and 'MERAKI_DASHBOARD_API_KEY' in out

    # The key is put right: the next scheduled sync starts its run, and the failure is gone.
    simulator.backend.revoked.clear()
    outcome = run_scheduled_sync(force=True)

    assert outcome.status == SYNCED and len(outcome.runs) == 1
    settings = PluginSettings.load()
    assert (settings.schedule_failed_at, settings.schedule_failure) == (None, '')
    for name in SCHEDULE_PAGES:
        assert 'could not start' not in page(admin_client, name), name


def test_a_scheduled_sync_that_cannot_reach_meraki_says_to_check_the_connection(meraki_config, settings):
    enable_schedule(interval=30)
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_meraki': {
        **meraki_config, 'base_url': 'http://127.0.0.1:9/api/v1', 'maximum_retries': 0, 'request_timeout': 2}}

    outcome = run_scheduled_sync(force=True)

    assert outcome.status == FAILED and outcome.runs == []
    failure = PluginSettings.load().schedule_failure
    assert 'could not be read' in failure and 'base_url' in failure, failure
    assert 'MERAKI_DASHBOARD_API_KEY' not in failure
