"""Which run changed an object: the runs on a synced object's Meraki panel, and a run's link to NetBox's changelog."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import ObjectChange
from dcim.models import Device, Interface, Site
from utilities.templatetags.builtins.filters import isodatetime

from netbox_meraki.choices import SyncModeChoices
from netbox_meraki.models import SyncedObject, SyncRun

from .conftest import run_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(meraki_config, org_id):
    """A first sync, applied: it creates every site and device."""
    return run_sync(org_id, SyncModeChoices.AUTO)


def text(html):
    """What a piece of a page reads, without its tags."""
    return ' '.join(re.sub(r'<[^>]+>', '', html).split())


def recent_runs(page):
    """The run links of the panel's "Changed by" row, in the order shown."""
    cell = re.search(r'<td id="meraki-recent-runs">(.*?)</td>', page, re.S)
    assert cell, 'no "Changed by" row'
    return re.findall(r'<a href="(/plugins/meraki/runs/\d+/)">', cell.group(1))


def test_an_object_lists_the_runs_that_changed_it_newest_first_in_one_query(admin_client, simulator, org_id, synced):
    device = Device.objects.filter(tags__slug='meraki').order_by('name').first()
    other = Device.objects.filter(tags__slug='meraki').exclude(pk=device.pk).first()
    simulator.rename_device(device.serial, 'renamed-by-meraki')
    renamed = run_sync(org_id, SyncModeChoices.AUTO)
    unchanged = run_sync(org_id, SyncModeChoices.AUTO)
    assert not ObjectChange.objects.filter(request_id=unchanged.request_id).exists()

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(device.get_absolute_url()).content.decode()
    assert recent_runs(page) == [renamed.get_absolute_url(), synced.get_absolute_url()]
    run_queries = [query['sql'] for query in queries
                   if 'core_objectchange' in query['sql'] and 'netbox_meraki_syncrun' in query['sql']]
    assert len(run_queries) == 1, run_queries

    assert recent_runs(admin_client.get(other.get_absolute_url()).content.decode()) == [synced.get_absolute_url()]
    # Sites, and the other objects the plugin owns, have the panel too.
    assert synced.get_absolute_url() in recent_runs(admin_client.get(device.site.get_absolute_url()).content.decode())
    interface = Interface.objects.filter(device=other).first()
    page = admin_client.get(interface.get_absolute_url()).content.decode()
    assert 'Meraki identity' in page and recent_runs(page) == [synced.get_absolute_url()]


def test_the_runs_show_only_to_users_who_may_see_runs(user, user_client, grant):
    site = Site.objects.create(name='Owned site', slug='owned-site')
    SyncedObject.objects.create(kind='site', meraki_id='N_1', object=site, organization_id='1',
                                last_synced=timezone.now())
    grant(user, 'dcim.view_site')
    page = user_client.get(site.get_absolute_url()).content.decode()
    assert '<code>N_1</code>' in page and 'meraki-recent-runs' not in page

    grant(user, 'netbox_meraki.view_syncrun')
    assert recent_runs(user_client.get(site.get_absolute_url()).content.decode()) == []


def test_the_run_page_links_to_what_it_changed_in_netbox_changelog(admin_client, synced):
    response = admin_client.post(reverse('dcim:site_add'), {'name': 'Made by hand', 'slug': 'made-by-hand',
                                                            'status': 'active'})
    assert response.status_code == 302
    assert ObjectChange.objects.filter(object_repr='Made by hand').exclude(request_id=synced.request_id).exists()

    page = admin_client.get(synced.get_absolute_url()).content.decode()
    url = synced.get_changelog_url()
    assert url == f'/core/changelog/?request_id={synced.request_id}'
    assert f'href="{url}"' in page and f'<code>{synced.request_id}</code>' in page

    changelog = admin_client.get(f'{url}&per_page=1000').content.decode()
    assert f'of {ObjectChange.objects.filter(request_id=synced.request_id).count()}' in changelog
    for device in Device.objects.filter(tags__slug='meraki'):
        assert device.name in changelog
    assert 'Made by hand' not in changelog


def test_an_owned_object_says_at_the_top_when_meraki_was_read_and_when_a_sync_changed_it(
    admin_client, simulator, org_id, synced,
):
    device = Device.objects.filter(tags__slug='meraki').order_by('name').first()
    simulator.rename_device(device.serial, 'renamed-by-meraki')
    renamed = run_sync(org_id, SyncModeChoices.AUTO)
    unchanged = run_sync(org_id, SyncModeChoices.AUTO)
    device.refresh_from_db()
    row = SyncedObject.objects.get(kind='device', meraki_id=device.serial)

    page = admin_client.get(device.get_absolute_url()).content.decode()
    line = re.search(r'id="meraki-identity-line">(.*?)</div>', page, re.S).group(1)
    # Read by the last run, changed by the one before it: the two times differ.
    assert f'<code>{row.network_id}</code>' in line
    assert f'Last read from Meraki: {text(isodatetime(unchanged.started))}' in text(line)
    assert f'Last changed by a sync: {text(isodatetime(row.last_synced))}' in text(line)
    assert row.last_run == renamed and row.last_synced < unchanged.started
    assert page.index('meraki-identity-line') < page.index('<div class="card">')


def test_sync_this_network_from_a_site_or_device_page(admin_client, user, user_client, grant, simulator, org_id,
                                                     synced, django_capture_on_commit_callbacks):
    device = Device.objects.filter(tags__slug='meraki').order_by('name').first()
    network_id = SyncedObject.objects.get(kind='device', meraki_id=device.serial).network_id
    page = admin_client.get(device.site.get_absolute_url()).content.decode()
    form = re.search(r'<form action="([^"]+)" method="post" class="d-inline" id="meraki-sync-network">(.*?)</form>',
                     page, re.S)
    assert form, 'no Sync this network button'
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))
    assert fields['organization_ids'] == org_id and fields['network_ids'] == network_id
    assert 'Sync this network' in form.group(2)
    assert 'id="meraki-sync-network"' in admin_client.get(device.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks():
        response = admin_client.post(form.group(1), fields)
    run = SyncRun.objects.latest('created')
    assert response.status_code == 302 and response.url == run.get_absolute_url()
    assert run.network_ids == [network_id] and run.organization_id == org_id

    # Only for users who may run syncs.
    grant(user, 'dcim.view_device')
    assert 'meraki-sync-network' not in user_client.get(device.get_absolute_url()).content.decode()
