"""The network pickers of Sync now and the settings: the networks the plugin knows, by name, per organization."""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from dcim.models import Site

from netbox_meraki.models import Change, NetworkRead, PluginSettings, SyncedObject, SyncRun

pytestmark = pytest.mark.django_db

NETWORKS_API = '/api/plugins/meraki/networks/'
SYNC = reverse('plugins:netbox_meraki:sync')
ORGANIZATIONS_TAB = reverse('plugins:netbox_meraki:settings_organizations')


@pytest.fixture
def known(db):
    """Two organizations: London (an owned site), Leeds (read, planned in a dry run), Paris (of the second one)."""
    for name, network_id, organization_id in (('London Wi-Fi 03', 'L_123', '111'), ('Paris Office', 'L_900', '222')):
        site = Site.objects.create(name=name, slug=name.lower().replace(' ', '-'))
        SyncedObject.objects.create(kind='site', meraki_id=network_id, object_type_id=site_type(), object_id=site.pk,
                                    organization_id=organization_id, network_id=network_id,
                                    last_synced=timezone.now())
    NetworkRead.objects.create(organization_id='111', network_id='L_456', read_at=timezone.now())
    run = SyncRun.objects.create(organization_id='111', mode='dry_run')
    Change.objects.create(run=run, sequence=1, action='create', kind='site', meraki_id='L_456',
                          object_repr='Leeds Depot', after={'name': 'Leeds Depot'})
    # Read, never planned: known by its id alone.
    NetworkRead.objects.create(organization_id='111', network_id='L_789', read_at=timezone.now())


def site_type():
    return ContentType.objects.get_for_model(Site).pk


def offered(client, **params):
    response = client.get(NETWORKS_API, params)
    assert response.status_code == 200, response.content
    return [(network['id'], network['display']) for network in response.json()['results']]


def test_the_picker_offers_the_known_networks_by_name_and_filters_by_organization(admin_client, known):
    assert offered(admin_client) == [
        ('L_789', 'L_789'), ('L_456', 'Leeds Depot (L_456)'), ('L_123', 'London Wi-Fi 03 (L_123)'),
        ('L_900', 'Paris Office (L_900)'),
    ]
    assert [id for id, _label in offered(admin_client, organization_id='222')] == ['L_900']
    assert [id for id, _label in offered(admin_client, organization_id=['111', '222'])] == [
        'L_789', 'L_456', 'L_123', 'L_900']
    assert offered(admin_client, q='wi-fi') == [('L_123', 'London Wi-Fi 03 (L_123)')]
    assert offered(admin_client, q='l_456') == [('L_456', 'Leeds Depot (L_456)')]


def test_the_picker_needs_the_right_to_run_syncs_or_see_the_settings(user, user_client, grant, known):
    assert user_client.get(NETWORKS_API).status_code == 403
    grant(user, 'netbox_meraki.run_syncrun')
    assert user_client.get(NETWORKS_API).status_code == 200


def test_sync_now_renders_a_searchable_picker_narrowed_to_the_chosen_organizations(admin_client, known):
    page = admin_client.get(SYNC).content.decode()
    select = re.search(r'<select name="network_ids"[^>]*>', page).group(0)
    assert 'api-select' in select and f'data-url="{NETWORKS_API}"' in select
    assert '"fieldName":"organization_ids"' in select.replace('&quot;', '"')


def test_sync_now_refuses_an_unknown_network_and_one_of_another_organization(admin_client, known):
    page = admin_client.post(SYNC, {'mode': 'dry_run', 'organization_ids': ['111'], 'network_ids': ['L_nope']})
    assert page.status_code == 200
    assert 'Unknown Meraki network: L_nope' in page.content.decode()

    page = admin_client.post(SYNC, {'mode': 'dry_run', 'organization_ids': ['111'], 'network_ids': ['L_900']})
    assert 'Not a network of the chosen organizations: L_900' in page.content.decode()
    # A rejected form shows the chosen network by name.
    assert re.search(r'<option value="L_900"\s+selected\s*>Paris Office \(L_900\)<', page.content.decode())


def test_the_settings_keep_configured_networks_and_refuse_unknown_new_ones(admin_client, known):
    settings = PluginSettings.load()
    settings.organization_ids, settings.network_ids = ['111'], ['L_123', 'L_gone']
    settings.save()

    page = admin_client.get(ORGANIZATIONS_TAB).content.decode()
    assert re.search(r'<option value="L_123"\s+selected\s*>London Wi-Fi 03 \(L_123\)<', page)
    assert '"queryParam":"organization_id","queryValue":["111"]' in page.replace('&quot;', '"')

    # Saving with the network configured before (since gone from Meraki) is accepted; a new unknown one is not.
    response = admin_client.post(ORGANIZATIONS_TAB, {
        'organization_ids': '111', 'network_ids': ['L_123', 'L_gone', 'L_456'], 'default_sync_mode': 'review'})
    assert response.status_code == 302
    assert PluginSettings.load().network_ids == ['L_123', 'L_gone', 'L_456']
    response = admin_client.post(ORGANIZATIONS_TAB, {
        'organization_ids': '111', 'network_ids': ['L_nope'], 'default_sync_mode': 'review'})
    assert 'Unknown Meraki network: L_nope' in response.content.decode()
    assert PluginSettings.load().network_ids == ['L_123', 'L_gone', 'L_456']
