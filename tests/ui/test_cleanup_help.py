"""The Cleanup tab says what the chosen delete policy does; the inventory site is needed only with inventory sync."""

import re

import pytest
from django.urls import reverse

from netbox_meraki.models import PluginSettings

pytestmark = pytest.mark.django_db

CLEANUP = reverse('plugins:netbox_meraki:settings_cleanup')
MAPPING = reverse('plugins:netbox_meraki:settings_mapping')


def shown_help(page, kind):
    """{policy: text} of the policy texts the help of a kind's select shows (not hidden)."""
    help_text = re.search(rf'id="id_policy_{kind}_helptext">(.*?)</span>\s*</div>', page, re.S).group(1)
    texts = re.findall(r'<span data-policy="(\w+)"( class="d-none")?>(.*?)</span>', help_text, re.S)
    assert {policy for policy, _hidden, _text in texts} == {'delete', 'mark', 'keep'}, help_text
    return {policy: text for policy, hidden, text in texts if not hidden}


def test_each_kind_says_what_its_chosen_policy_does(admin_client):
    page = admin_client.get(CLEANUP).content.decode()

    (site,) = shown_help(page, 'site').items()
    assert site[0] == 'mark' and 'status becomes retired' in site[1]
    (interface,) = shown_help(page, 'interface').items()
    assert interface[0] == 'delete' and 'deleted from NetBox' in interface[1]
    assert 'cleanup.js' in page

    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, 'site': 'keep', 'sitegroup': 'mark'}
    settings.save()
    page = admin_client.get(CLEANUP).content.decode()
    assert list(shown_help(page, 'site')) == ['keep']
    # A site group has no status: "mark" says it keeps it.
    assert 'no status to mark' in shown_help(page, 'sitegroup')['mark']


def test_a_refused_save_shows_the_help_of_the_policy_chosen_in_it(admin_client):
    data = dict(admin_client.get(CLEANUP).context['form'].initial)
    response = admin_client.post(CLEANUP, {**data, 'policy_device': 'delete', 'deletion_threshold': '140'})
    assert response.status_code == 200
    assert list(shown_help(response.content.decode(), 'device')) == ['delete']


def mapping_data(client, **changes):
    data = {field: value for field, value in client.get(MAPPING).context['form'].initial.items()
            if value not in (None, [], False)}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not False}


def test_the_inventory_site_is_needed_only_when_inventory_is_synced(admin_client):
    response = admin_client.post(MAPPING, mapping_data(admin_client, sync_inventory='on', inventory_site_name=' '))
    assert response.status_code == 200
    assert response.context['form'].errors['inventory_site_name'] == [
        'Name the site that holds unassigned inventory: syncing unassigned inventory needs one.']
    assert PluginSettings.load().sync_inventory is False

    response = admin_client.post(MAPPING, mapping_data(admin_client, inventory_site_name=''))
    assert response.status_code == 302, response.context['form'].errors
    assert PluginSettings.load().inventory_site_name == ''

    response = admin_client.post(MAPPING, mapping_data(admin_client, sync_inventory='on',
                                                       inventory_site_name='Spares'))
    assert response.status_code == 302, response.context['form'].errors
    settings = PluginSettings.load()
    assert (settings.sync_inventory, settings.inventory_site_name) == (True, 'Spares')
