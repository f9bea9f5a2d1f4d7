"""Two Meraki organizations in one NetBox: same network names, runs that never touch the other's objects, moves."""

import pytest
from django.contrib.contenttypes.models import ContentType

from core.models import ObjectChange
from dcim.models import Device, Site

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices
from netbox_meraki.models import PluginSettings, SyncedObject

from ..reliability.conftest import assert_nothing_lost, owned_values, sync
from .conftest import CLASH, assert_untouched, object_dump, owned_objects, owned_pk

SHARED_BASELINE = True
pytestmark = pytest.mark.django_db


def organization_name(simulator, org_id):
    return simulator.dashboard.orgs[org_id].organization['name']


def assert_devices_in_own_site(simulator, org_id, network_id):
    site = owned_pk('site', network_id)
    serials = [s for s, d in simulator.dashboard.orgs[org_id].devices.items() if d['networkId'] == network_id]
    elsewhere = {serial: Device.objects.get(serial=serial).site.name for serial in serials
                 if Device.objects.get(serial=serial).site_id != site}
    assert serials and not elsewhere, f'Devices of {network_id} ({org_id}) not in its site #{site}: {elsewhere}'


def test_clashing_network_names_give_each_organization_its_own_site(baseline, simulator, meraki_config):
    site_a = Site.objects.get(pk=owned_pk('site', baseline.networks['clash_a']))
    site_b = Site.objects.get(pk=owned_pk('site', baseline.networks['clash_b']))

    assert site_a.pk != site_b.pk
    assert CLASH in site_a.name and CLASH in site_b.name, (site_a.name, site_b.name)
    for org_id, role in ((baseline.org_a, 'clash_a'), (baseline.org_b, 'clash_b')):
        assert SyncedObject.objects.get(kind='site', meraki_id=baseline.networks[role]).organization_id == org_id
        assert_devices_in_own_site(simulator, org_id, baseline.networks[role])


def test_a_site_name_rule_with_the_organization_names_both_sites(baseline, simulator, meraki_config):
    settings = PluginSettings.load()
    settings.site_name_rules = [{'regex': '.*', 'template': '{name} ({organization})'}]
    settings.full_clean()
    settings.save()

    runs = [sync(org_id) for org_id in (baseline.org_a, baseline.org_b)]

    assert [run.status for run in runs] == [RunStatusChoices.COMPLETED] * 2, [(r.status, r.error) for r in runs]
    for org_id, role in ((baseline.org_a, 'clash_a'), (baseline.org_b, 'clash_b')):
        site = Site.objects.get(pk=owned_pk('site', baseline.networks[role]))
        assert site.name == f'{CLASH} ({organization_name(simulator, org_id)})'
        assert_devices_in_own_site(simulator, org_id, baseline.networks[role])


def test_an_unresolvable_site_name_clash_is_reported_never_a_crash(baseline, simulator, meraki_config):
    # Two networks of one organization named alike by a rule: the organization's name cannot tell them apart.
    networks = [baseline.networks['wireless_a'], baseline.networks['campus_a']]
    settings = PluginSettings.load()
    settings.site_name_rules = [{'regex': 'Wi-Fi|Campus', 'template': 'Main campus'}]
    settings.save()
    sites = {network: owned_pk('site', network) for network in networks}

    run = sync(baseline.org_a)

    assert run.status in (RunStatusChoices.COMPLETED, RunStatusChoices.PARTIAL), (run.status, run.error)
    for network in networks:
        change = run.changes.filter(kind='site', meraki_id=network).first()
        name = Site.objects.get(pk=sites[network]).name
        renamed = change is not None and change.state == ChangeStateChoices.APPLIED and 'Main campus' in name
        reported = change is not None and change.state == ChangeStateChoices.SKIPPED and change.reason.strip()
        assert renamed or reported, (
            f'Network {network}: site {name!r}, change {change and (change.action, change.state, change.reason)}: '
            f'neither named by the rule nor reported as a skipped change with a reason')
    assert {network: owned_pk('site', network) for network in networks} == sites
    assert len({Site.objects.get(pk=pk).name for pk in sites.values()}) == 2


def test_a_run_of_one_organization_never_changes_or_deletes_the_others_objects(baseline, simulator, meraki_config):
    settings = PluginSettings.load()
    settings.deletion_threshold = 100
    settings.save()
    theirs = owned_objects(baseline.org_b)
    before = object_dump(only=theirs)
    owners_before = {(r.kind, r.meraki_id): (r.object_type_id, r.object_id)
                     for r in SyncedObject.objects.filter(organization_id=baseline.org_b)}
    values_before = owned_values(baseline.org_b)
    # Meraki: the first organization loses the network both name alike, and renames devices.
    simulator.remove_network(baseline.networks['clash_a'])
    for serial in sorted(simulator.dashboard.orgs[baseline.org_a].devices)[:4]:
        simulator.rename_device(serial, f'renamed-{serial.lower()}')

    run = sync(baseline.org_a)

    assert run.status != RunStatusChoices.FAILED, run.error
    owners_after = {(r.kind, r.meraki_id): (r.object_type_id, r.object_id)
                    for r in SyncedObject.objects.filter(organization_id=baseline.org_b)}
    assert_nothing_lost(values_before, owned_values(baseline.org_b), owners_before, owners_after, {})
    assert_untouched(before, object_dump(only=theirs), whose=f'of organization {baseline.org_b}')


def move_access_point(simulator, baseline):
    """The first organization's access point, released there and claimed into a network of the second."""
    serial = baseline.serials['wireless_ap']
    pk = owned_pk('device', serial)
    simulator.move_device(serial, baseline.networks['campus_b'])
    return serial, pk


def sync_in_turn(serial, *org_ids):
    """Sync the organizations one after the other; the changes of each run on the moved device, to explain a failure."""
    changes = []
    for org_id in org_ids:
        run = sync(org_id)
        assert run.status != RunStatusChoices.FAILED, run.error
        changes += [f'{org_id} #{run.pk}: {c.action} {c.kind} {c.meraki_id}: {c.state} {c.reason}'
                    for c in run.changes.filter(meraki_id__startswith=serial)]
    return changes


def assert_one_device_owned_by(baseline, serial, pk, interfaces, changes):
    pks = list(Device.objects.filter(serial=serial).values_list('pk', flat=True))
    assert pks == [pk], f'The device moved between organizations is now {pks} in NetBox, was #{pk}: {changes}'
    device = Device.objects.get(pk=pk)
    site = owned_pk('site', baseline.networks['campus_b'])
    assert device.site_id == site, f'The device is in {device.site}, not in site #{site}: {changes}'
    rows = SyncedObject.objects.filter(meraki_id__startswith=serial)
    kept = [(row.kind, row.meraki_id) for row in rows if row.organization_id != baseline.org_b]
    assert not kept, f'Still owned for organization {baseline.org_a}, which will remove them: {kept}; {changes}'
    assert rows.filter(kind='device').exists()
    device_type = ContentType.objects.get_for_model(Device)
    deleted = ObjectChange.objects.filter(changed_object_type=device_type, changed_object_id=pk, action='delete')
    assert not deleted.exists(), 'The device was deleted on the way: its changelog is broken'
    assert set(device.interfaces.values_list('pk', flat=True)) >= interfaces, (
        f'The device lost the interfaces the plugin made for it: {changes}')


def test_a_device_moved_to_another_organization_stays_one_device(baseline, simulator, meraki_config):
    serial, pk = move_access_point(simulator, baseline)
    interfaces = set(Device.objects.get(pk=pk).interfaces.values_list('pk', flat=True))

    changes = sync_in_turn(serial, baseline.org_b, baseline.org_a, baseline.org_b, baseline.org_a)

    assert_one_device_owned_by(baseline, serial, pk, interfaces, changes)


def test_a_device_moved_to_another_organization_stays_one_device_when_the_old_one_syncs_first(
        baseline, simulator, meraki_config):
    serial, pk = move_access_point(simulator, baseline)
    interfaces = set(Device.objects.get(pk=pk).interfaces.values_list('pk', flat=True))

    changes = sync_in_turn(serial, baseline.org_a, baseline.org_b, baseline.org_a, baseline.org_b)

    assert_one_device_owned_by(baseline, serial, pk, interfaces, changes)
