"""Sync now, the dashboard, the menu and the Meraki panel on NetBox's site and device pages."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from dcim.models import Device, Site
from utilities.testing.utils import disable_warnings

from netbox_meraki.choices import RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.models import NetworkRead, SyncedObject, SyncRun

from .conftest import API_KEY, run_sync

pytestmark = pytest.mark.django_db

SYNC = reverse('plugins:netbox_meraki:sync')
DASHBOARD = reverse('plugins:netbox_meraki:dashboard')


@pytest.fixture
def operator(user, user_client, grant):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.run_syncrun')
    return user_client


def test_sync_now_offers_the_organizations_the_key_sees(operator, meraki_config, simulator, org_id):
    page = operator.get(SYNC).content.decode()
    name = simulator.dashboard.orgs[org_id].organization['name']
    assert f'{name} ({org_id})' in page
    assert 'Review (approve before applying)' in page
    assert API_KEY not in page


def test_sync_now_queues_a_job_and_goes_to_the_run(operator, user, meraki_config, simulator, org_id,
                                                   django_capture_on_commit_callbacks):
    for network_id in ('N_1', 'N_2'):
        NetworkRead.objects.create(organization_id=org_id, network_id=network_id, read_at=timezone.now())
    with django_capture_on_commit_callbacks() as queued:
        response = operator.post(SYNC, {'mode': SyncModeChoices.DRY_RUN, 'organization_ids': [org_id],
                                        'network_ids': ['N_1', 'N_2', 'N_1']})
    run = SyncRun.objects.get()
    assert response.status_code == 302 and response.url == run.get_absolute_url()
    assert (run.mode, run.status, run.trigger, run.user) == (
        SyncModeChoices.DRY_RUN, RunStatusChoices.PENDING, RunTriggerChoices.MANUAL, user,
    )
    assert run.network_ids == ['N_1', 'N_2']
    assert run.full_read is False
    assert run.job is not None and queued
    # The toast names the organization as people know it.
    toast = [str(message) for message in get_messages(response.wsgi_request)]
    assert toast == [f"Sync of {simulator.dashboard.orgs[org_id].organization['name']} ({org_id}) queued."]
    page = operator.get(run.get_absolute_url()).content.decode()
    assert 'Waiting for a worker' in page and 'hx-trigger="every 2s"' in page


def test_sync_now_with_full_read_queues_a_run_that_reads_every_network(operator, meraki_config, org_id,
                                                                       django_capture_on_commit_callbacks):
    page = operator.get(SYNC).content.decode()
    assert 'name="full_read"' in page and 'not only those whose configuration changed' in page
    with django_capture_on_commit_callbacks():
        response = operator.post(SYNC, {'mode': SyncModeChoices.REVIEW, 'organization_ids': [org_id],
                                        'full_read': 'on'})
    run = SyncRun.objects.get()
    assert response.status_code == 302 and response.url == run.get_absolute_url()
    assert run.full_read is True
    assert '<th scope="row">Read</th><td>Full</td>' in operator.get(run.get_absolute_url()).content.decode()


def test_sync_now_while_a_sync_runs_names_the_running_run(operator, meraki_config, org_id,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        operator.post(SYNC, {'mode': SyncModeChoices.REVIEW, 'organization_ids': [org_id]})
    running = SyncRun.objects.get()
    response = operator.post(SYNC, {'mode': SyncModeChoices.REVIEW, 'organization_ids': [org_id]})
    page = response.content.decode()
    assert response.status_code == 200
    assert f'run #{running.pk}' in page and 'already pending' in page
    assert running.get_absolute_url() in page
    assert SyncRun.objects.count() == 1
    # Said once, in the alert that links the run, not again as a form error.
    assert page.count('is already pending') == 1 and 'alert-danger' not in page


def test_sync_now_reports_an_unreachable_dashboard(operator, meraki_config, simulator):
    simulator.revoke_key(API_KEY)
    response = operator.post(SYNC, {'mode': SyncModeChoices.REVIEW})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'Invalid API key' in page or '401' in page
    assert API_KEY not in page
    assert not SyncRun.objects.exists()


def test_sync_now_needs_the_run_sync_permission(user, user_client, grant, meraki_config):
    grant(user, 'netbox_meraki.view_syncrun')
    with disable_warnings('django.request'):
        assert user_client.get(SYNC).status_code == 403
        assert user_client.post(SYNC, {'mode': SyncModeChoices.REVIEW}).status_code == 403
    assert not SyncRun.objects.exists()


def test_the_dashboard_shows_connection_last_run_ownership_and_pending_review(admin_client, meraki_config, org_id):
    review = run_sync(org_id, SyncModeChoices.REVIEW)
    run_sync(org_id, SyncModeChoices.AUTO)
    page = admin_client.get(DASHBOARD).content.decode()
    assert meraki_config['base_url'] in page and 'Configured' in page
    assert API_KEY not in page
    assert '1 run awaits review' in page
    assert review.get_absolute_url() in page
    assert 'Reached' in page
    # What the plugin owns, per kind, with links to NetBox's lists of the objects tagged "meraki".
    sites = SyncedObject.objects.filter(kind='site').count()
    devices = SyncedObject.objects.filter(kind='device').count()
    assert f'href="/dcim/sites/?tag=meraki">Sites</a></td>\n                <td class="text-end">{sites}' in page
    assert f'href="/dcim/devices/?tag=meraki">Devices</a></td>\n                <td class="text-end">{devices}' in page
    assert 'Fetched 2 networks and 6 devices' in page
    assert admin_client.get('/dcim/devices/?tag=meraki').status_code == 200


def test_the_dashboard_shows_the_next_scheduled_sync(admin_client):
    from netbox_meraki.models import PluginSettings

    upcoming = timezone.now() + timedelta(minutes=25)
    PluginSettings.load()
    PluginSettings.objects.update(enable_scheduled_sync=True, sync_interval_minutes=30, next_scheduled_sync=upcoming)
    page = admin_client.get(DASHBOARD).content.decode()
    assert 'Enabled' in page and 'every 30 min' in page
    assert timezone.localtime(upcoming).strftime('%H:%M:%S') in page
    assert '(in 24' in page or '(in 25' in page


def test_the_dashboard_and_menu_follow_the_users_rights(user, user_client, grant):
    with disable_warnings('django.request'):
        assert user_client.get(DASHBOARD).status_code == 403
    grant(user, 'netbox_meraki.view_syncrun')
    page = user_client.get(DASHBOARD).content.decode()
    assert 'Recent runs' in page
    assert 'Test connection' not in page and 'Sync now</a>' not in page
    menu = user_client.get('/').content.decode()
    for url in (DASHBOARD, reverse('plugins:netbox_meraki:syncrun_list'), reverse('plugins:netbox_meraki:review')):
        assert f'href="{url}"' in menu
    assert f'href="{SYNC}"' not in menu
    assert f'href="{reverse("plugins:netbox_meraki:settings")}"' not in menu


def test_the_menu_has_every_page_for_an_administrator(admin_client):
    menu = admin_client.get('/').content.decode()
    for name in ('dashboard', 'sync', 'syncrun_list', 'review', 'settings'):
        assert f'href="{reverse(f"plugins:netbox_meraki:{name}")}"' in menu, name


def test_synced_sites_and_devices_show_their_meraki_identity(admin_client, meraki_config, org_id):
    run = run_sync(org_id, SyncModeChoices.AUTO)
    device = Device.objects.filter(tags__slug='meraki').first()
    page = admin_client.get(device.get_absolute_url()).content.decode()
    assert '<i class="mdi mdi-cloud-sync" aria-hidden="true"></i> Meraki' in page
    assert f'<code>{device.serial}</code>' in page and f'<code>{org_id}</code>' in page
    assert run.get_absolute_url() in page

    synced = SyncedObject.objects.get(object_type=ContentType.objects.get_for_model(Site), kind='site',
                                      object_id=Site.objects.filter(tags__slug='meraki').first().pk)
    page = admin_client.get(Site.objects.get(pk=synced.object_id).get_absolute_url()).content.decode()
    assert f'<code>{synced.meraki_id}</code>' in page and 'Network ID' in page
    assert API_KEY not in page

    other = Site.objects.create(name='Not from Meraki', slug='not-from-meraki')
    assert 'mdi-cloud-sync" aria-hidden="true"></i> Meraki' not in admin_client.get(
        other.get_absolute_url()).content.decode()
