"""Removals in a lived-in NetBox: what people made under the plugin's objects is never deleted or changed."""

import pytest

from netbox_meraki.choices import ChangeActionChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings

from ..reliability.conftest import sync, sync_and_review
from .conftest import assert_untouched, object_dump, owned_objects, template_components, unexplained_removals

SHARED_BASELINE = True
pytestmark = pytest.mark.django_db


def remove_network_and_device(simulator, baseline):
    """Meraki loses the network whose site holds a hand-made prefix, and the device people added to."""
    simulator.remove_network(baseline.networks['clash_a'])
    simulator.remove_device(baseline.serials['campus_switch'])


@pytest.mark.parametrize('mode', [SyncModeChoices.AUTO, SyncModeChoices.REVIEW, SyncModeChoices.DRY_RUN])
def test_removals_never_delete_or_change_what_people_made(mode, baseline, simulator, meraki_config):
    components = template_components()
    owned = owned_objects()
    before = object_dump(skip=owned)
    remove_network_and_device(simulator, baseline)

    # Everything approved (review, and removals held in auto mode): the worst a person can do.
    first = sync_and_review(baseline.org_a, mode)
    assert_untouched(before, object_dump(skip=owned), components)
    second = sync_and_review(baseline.org_a, mode)
    assert_untouched(before, object_dump(skip=owned), components)

    missing = unexplained_removals([first, second])
    assert not missing, f'Removals skipped, held or marked without saying why: {missing[:10]}'


def cascade_entries(change, kind):
    """{pk: entry} of the objects of `kind` (model name) the change's removal would have taken along."""
    return {entry['id']: entry for entry in change.cascade or []
            if 'id' in entry and kind in str(entry.get('type', '')).lower().replace(' ', '')}


def test_a_removal_that_would_take_hand_made_objects_along_is_a_mark_naming_them(baseline, simulator, meraki_config):
    # An operator who chose to delete what Meraki no longer has (the defaults mark sites and devices anyway).
    settings = PluginSettings.load()
    settings.delete_policy = dict.fromkeys(settings.delete_policy, 'delete')
    settings.save()
    hand = baseline.hand
    remove_network_and_device(simulator, baseline)

    run = sync(baseline.org_a, SyncModeChoices.DRY_RUN)

    device = run.changes.get(kind='device', meraki_id=baseline.serials['campus_switch'])
    assert device.action == ChangeActionChoices.MARK, (
        f'Removing the device would delete the hand-made interface Loopback0, address 192.0.2.10/24 and journal '
        f'entry with it, yet the plan is to {device.action} it ({device.reason!r}).')
    assert device.reason.strip(), 'The device is marked instead of deleted without saying why.'
    interfaces = cascade_entries(device, 'interface')
    assert hand['interface'] in interfaces and interfaces[hand['interface']]['owned'] is False, (
        f'The mark does not list the hand-made interface #{hand["interface"]} as what the deletion would have taken '
        f'along: {device.cascade}')
    taken = {}
    for change in run.changes.filter(action=ChangeActionChoices.MARK):
        taken.update(cascade_entries(change, 'ipaddress'))
    assert hand['ip'] in taken and taken[hand['ip']]['owned'] is False, (
        f'No mark lists the hand-made address #{hand["ip"]} on the device\'s interface: {taken}')

    site = run.changes.get(kind='site', meraki_id=baseline.networks['clash_a'])
    assert site.action == ChangeActionChoices.MARK and site.reason.strip(), (
        f'Deleting the site would delete the hand-made prefix 10.200.0.0/24 scoped to it, yet the plan is to '
        f'{site.action} it ({site.reason!r}).')
    assert hand['prefix'] in cascade_entries(site, 'prefix'), (
        f'The site\'s mark does not list the hand-made prefix #{hand["prefix"]}: {site.cascade}')
