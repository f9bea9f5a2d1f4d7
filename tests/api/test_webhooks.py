"""Meraki webhooks: alerts queue one debounced sync per organization, of the networks they name."""

import logging

import django_rq
import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from core.choices import JobStatusChoices
from core.models import Job

from meraki_sim import Scale
from netbox_meraki.choices import RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.jobs import WebhookSyncJob
from netbox_meraki.models import PluginSettings, SyncRun
from netbox_meraki.secrets import redact
from netbox_meraki.webhooks import pending_networks, queue_sync, sync_pending_networks

from ..conftest import clear_task_queues
from .conftest import API

SECRET = 'meraki-webhook-secret-5f3a9c'
WRONG_SECRET = 'guessed-secret-0000'
TWO_ORGANIZATIONS = Scale(organizations=2, networks=3, devices=6)


def clear_pending_networks():
    redis = get_redis_connection('default')
    for key in redis.scan_iter('netbox_meraki:webhooks:*'):
        redis.delete(key)


@pytest.fixture(autouse=True)
def clean_queues():
    """Start and end with no job in RQ and no network pending: they live in Redis, outside the test's transaction."""
    clear_task_queues()
    clear_pending_networks()
    yield
    clear_task_queues()
    clear_pending_networks()


@pytest.fixture
def webhooks_on(meraki_config, settings):
    config = {**meraki_config, 'webhook_secret': SECRET, 'webhook_debounce_seconds': 60}
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_meraki': config}
    return config


def post(body):
    """Post a body to the endpoint without any NetBox token, as Meraki does."""
    return APIClient().post(f'{API}/webhooks/', body, format='json')


def alert(simulator, network_id, secret=SECRET, alert_type_id='settings_changed'):
    org = simulator.dashboard.org_of_network(network_id)
    return {
        'version': '0.1', 'sharedSecret': secret, 'sentAt': '2026-01-01T00:00:00Z', 'organizationId': org.id,
        'organizationName': org.organization['name'], 'networkId': network_id, 'networkName': '',
        'deviceSerial': '', 'alertType': 'Settings changed', 'alertTypeId': alert_type_id,
        'alertLevel': 'informational', 'occurredAt': '2026-01-01T00:00:00Z', 'alertData': {},
    }


def webhook_jobs():
    return Job.objects.filter(name=WebhookSyncJob.name)


def scheduled_rq_jobs():
    """The webhook sync jobs waiting in RQ for their window to end, by organization."""
    rq_queue = django_rq.get_queue('default')
    rq_jobs = [rq_queue.fetch_job(job_id) for job_id in rq_queue.scheduled_job_registry.get_job_ids()]
    return {rq_job.kwargs['organization_id']: rq_job for rq_job in rq_jobs if rq_job is not None}


def networks_of(simulator, org_id):
    return sorted(simulator.dashboard.orgs[org_id].networks)


@pytest.mark.scale(TWO_ORGANIZATIONS)
# Committed data for the live server; restored afterwards as the browser test restores it, so that the transactional
# tests after this one find the database as migrations left it (content types with their ids).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_alerts_in_a_window_queue_one_sync_per_organization_of_their_networks(
    live_server, simulator, webhooks_on, caplog,
):
    PluginSettings.objects.update_or_create(pk=1, defaults={'scheduled_sync_mode': SyncModeChoices.DRY_RUN})
    url = f'{live_server.url}{API}/webhooks/'
    first, second = simulator.org_ids
    a1, a2, _a3 = networks_of(simulator, first)
    b1 = networks_of(simulator, second)[0]
    device_in_a2 = next(d['serial'] for d in simulator.dashboard.orgs[first].devices.values() if d['networkId'] == a2)

    deliveries = [
        simulator.send_webhook(url, SECRET, 'settings_changed', network_id=a1),
        simulator.send_webhook(url, SECRET, 'settings_changed', device_serial=device_in_a2),
        simulator.send_webhook(url, SECRET, 'settings_changed', network_id=a1),
        simulator.send_webhook(url, SECRET, 'settings_changed', network_id=b1),
    ]
    refused = simulator.send_webhook(url, WRONG_SECRET, 'settings_changed', network_id=_a3)

    assert [delivery.status for delivery in deliveries] == [202] * 4, [delivery.body for delivery in deliveries]
    assert refused.status == 403
    assert WRONG_SECRET not in caplog.text and SECRET not in caplog.text
    assert webhook_jobs().count() == 2
    assert set(webhook_jobs().values_list('status', flat=True)) == {JobStatusChoices.STATUS_SCHEDULED}
    assert pending_networks(first) == sorted([a1, a2])
    assert pending_networks(second) == [b1]
    queued = scheduled_rq_jobs()
    assert sorted(queued) == sorted([first, second])

    # The window ends: the job runs (here at once, in this process) and syncs only the networks named.
    queued[first].perform()
    run = SyncRun.objects.get(organization_id=first)
    assert run.trigger == RunTriggerChoices.WEBHOOK
    assert run.mode == SyncModeChoices.DRY_RUN
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.network_ids == sorted([a1, a2])
    assert set(run.changes.filter(kind='site').values_list('meraki_id', flat=True)) == {a1, a2}
    assert run.job.name == WebhookSyncJob.name
    assert pending_networks(first) == []
    assert pending_networks(second) == [b1]


@pytest.mark.parametrize('secret', [WRONG_SECRET, None], ids=['wrong secret', 'no secret'])
def test_a_wrong_or_missing_secret_is_refused_and_logged_without_it(webhooks_on, simulator, db, caplog, secret):
    body = alert(simulator, networks_of(simulator, simulator.org_ids[0])[0], secret=secret)
    if secret is None:
        del body['sharedSecret']
    with caplog.at_level(logging.WARNING, logger='netbox_meraki.webhooks'):
        response = post(body)

    assert response.status_code == 403
    assert 'shared secret' in response.json()['detail']
    refusals = [record for record in caplog.records if record.name == 'netbox_meraki.webhooks']
    assert [record.levelname for record in refusals] == ['WARNING']
    assert 'shared secret' in refusals[0].getMessage()
    assert WRONG_SECRET not in caplog.text and SECRET not in caplog.text
    assert not webhook_jobs().exists()
    assert pending_networks(simulator.org_ids[0]) == []


def test_webhooks_are_off_without_a_configured_secret(meraki_config, simulator, db):
    assert not meraki_config.get('webhook_secret')
    response = post(alert(simulator, networks_of(simulator, simulator.org_ids[0])[0], secret=''))

    assert response.status_code == 404
    assert 'webhook_secret' in response.json()['detail']
    assert not webhook_jobs().exists()
    assert pending_networks(simulator.org_ids[0]) == []


@pytest.mark.parametrize('body, detail', [
    ('{"sharedSecret": ', 'JSON object'),
    ([1, 2], 'JSON object'),
    ({'sharedSecret': SECRET, 'alertTypeId': 'settings_changed'}, 'no organizationId'),
    ({'sharedSecret': SECRET, 'organizationId': '1', 'alertTypeId': {'id': 1}}, 'alertTypeId must be a string'),
], ids=['not json', 'not an object', 'no organization', 'alert type not a string'])
def test_a_body_that_is_not_a_meraki_alert_is_a_bad_request(webhooks_on, db, body, detail):
    if isinstance(body, str):
        response = APIClient().post(f'{API}/webhooks/', body, content_type='application/json')
    else:
        response = post(body)

    assert response.status_code == 400
    assert detail in response.json()['detail']
    assert not webhook_jobs().exists()


def test_alerts_about_nothing_synced_are_accepted_and_ignored(webhooks_on, simulator, db):
    network_id = networks_of(simulator, simulator.org_ids[0])[0]
    PluginSettings.objects.update_or_create(pk=1, defaults={'organization_ids': ['999999']})

    other_organization = post(alert(simulator, network_id))
    PluginSettings.objects.filter(pk=1).update(organization_ids=[])
    device_down = post(alert(simulator, network_id, alert_type_id='power_supply_down'))

    assert (other_organization.status_code, device_down.status_code) == (200, 200)
    assert 'is not synced' in other_organization.json()['detail']
    assert 'power_supply_down' in device_down.json()['detail']
    assert not webhook_jobs().exists()
    assert pending_networks(simulator.org_ids[0]) == []


def test_networks_wait_for_the_next_window_while_their_organization_syncs(
    webhooks_on, simulator, org_id, hold_organization_lock,
):
    network_id = networks_of(simulator, org_id)[0]
    SyncRun.objects.create(organization_id=org_id, mode=SyncModeChoices.AUTO, status=RunStatusChoices.RUNNING,
                           trigger=RunTriggerChoices.SCHEDULE)
    hold_organization_lock(org_id)
    queue_sync(org_id, [network_id])

    assert sync_pending_networks(org_id) is None
    assert SyncRun.objects.filter(trigger=RunTriggerChoices.WEBHOOK).count() == 0
    assert pending_networks(org_id) == [network_id]
    # The window that ended could not sync: a new one is open, with its own job.
    assert webhook_jobs().count() == 2


def test_the_webhook_secret_is_redacted_from_messages_like_the_api_key(webhooks_on):
    assert redact(f'a message that quotes {SECRET} by mistake') == 'a message that quotes [redacted] by mistake'
