"""
Deletions never take along what the plugin does not own: checked when planning and again when applying; parts NetBox
made from a device type's templates go with the device; a network that could not be read blocks removals there only.
"""

import pytest

from dcim.models import ConsolePortTemplate, Device, DeviceType, Interface, InterfaceTemplate, Manufacturer
from ipam.models import IPAddress

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings, SyncedObject
from netbox_meraki.sync import MerakiSyncService, apply_review, approve_changes

pytestmark = pytest.mark.django_db

VLANS = 'GET /networks/{networkId}/appliance/vlans'


def sync(org_id, mode=SyncModeChoices.AUTO):
    (run,) = MerakiSyncService().sync_all(mode=mode, organization_ids=[org_id], background=False)
    return run


def delete_removed(**settings):
    plugin_settings = PluginSettings.load()
    plugin_settings.delete_policy = dict.fromkeys(plugin_settings.delete_policy, 'delete')
    plugin_settings.deletion_threshold = 100
    for name, value in settings.items():
        setattr(plugin_settings, name, value)
    plugin_settings.save()


def owned_object(model, kind, meraki_id):
    return model.objects.get(pk=SyncedObject.objects.get(kind=kind, meraki_id=meraki_id).object_id)


def port_ids(simulator, org_id, serial):
    switches = simulator.client().switch.getOrganizationSwitchPortsBySwitch(org_id, total_pages='all')
    return [port['portId'] for switch in switches if switch['serial'] == serial for port in switch['ports']]


def switch_of(view):
    return next(serial for serial, device in sorted(view.devices.items()) if device['productType'] == 'switch')


def test_a_device_goes_with_the_parts_its_type_made_and_nothing_else(meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    serial = switch_of(view)
    model = view.devices[serial]['model']
    manufacturer = Manufacturer.objects.create(name='Cisco Meraki', slug='cisco-meraki')
    device_type = DeviceType.objects.create(manufacturer=manufacturer, model=model, slug='library-switch')
    ConsolePortTemplate.objects.create(device_type=device_type, name='Console')
    for port in port_ids(simulator, org_id, serial):
        InterfaceTemplate.objects.create(device_type=device_type, name=f'Port {port}', type='1000base-t')
    InterfaceTemplate.objects.create(device_type=device_type, name='Management', type='1000base-t', mgmt_only=True)
    delete_removed(interface_name_rules=[
        {'models': '', 'regex': r'(?P<port>\d+)', 'template': 'Port {port}'},
        {'models': '', 'regex': 'man1', 'template': 'Management'},
    ])
    assert sync(org_id).status == RunStatusChoices.COMPLETED
    device = Device.objects.get(serial=serial)
    assert device.consoleports.filter(name='Console').exists()
    assert Interface.objects.filter(device=device, name='Port 1').count() == 1

    simulator.remove_device(serial)
    run = sync(org_id)

    removal = run.changes.get(kind='device', meraki_id=serial)
    assert (removal.action, removal.state) == (ChangeActionChoices.DELETE, ChangeStateChoices.APPLIED), removal.reason
    assert not Device.objects.filter(serial=serial).exists()
    assert all(entry.get('owned') for entry in removal.cascade if 'id' in entry), removal.cascade


def test_an_address_added_after_the_plan_turns_the_approved_deletion_into_a_mark(
        meraki_config, simulator, org_id, meraki_view):
    delete_removed()
    serial = switch_of(meraki_view.read())
    assert sync(org_id).status == RunStatusChoices.COMPLETED
    simulator.remove_device(serial)
    run = sync(org_id, SyncModeChoices.REVIEW)
    assert run.changes.get(kind='device', meraki_id=serial).action == ChangeActionChoices.DELETE
    port = Interface.objects.filter(device__serial=serial, name='1').get()
    # A person puts an address on one of its ports while the plan waits for review.
    address = IPAddress.objects.create(address='192.0.2.77/24', assigned_object=port, description='people')

    approve_changes(run)
    run = apply_review(run, background=False)

    port_change = run.changes.get(kind='interface', meraki_id=f'{serial}:port/1')
    assert (port_change.action, port_change.state) == (ChangeActionChoices.MARK, ChangeStateChoices.APPLIED)
    assert 'people' not in port_change.reason and '192.0.2.77/24' in port_change.reason
    assert [entry['id'] for entry in port_change.cascade if entry.get('owned') is False] == [address.pk]
    device_change = run.changes.get(kind='device', meraki_id=serial)
    assert device_change.action == ChangeActionChoices.MARK and device_change.state == ChangeStateChoices.APPLIED
    address.refresh_from_db()
    assert address.assigned_object == port
    assert Device.objects.get(serial=serial).status == 'decommissioning'
    assert Interface.objects.get(pk=port.pk).enabled is False


def test_a_network_that_could_not_be_read_blocks_removals_there_only(meraki_config, simulator, org_id, meraki_view):
    delete_removed()
    view = meraki_view.read()
    assert sync(org_id).status == RunStatusChoices.COMPLETED
    appliances = sorted((device['networkId'], serial) for serial, device in view.devices.items()
                        if device['productType'] == 'appliance')
    (unread, kept), (read, removed) = appliances[:2]
    simulator.remove_device(kept)
    simulator.remove_device(removed)
    simulator.inject('network_error', endpoint=VLANS, network_id=unread)

    run = sync(org_id)

    assert run.status == RunStatusChoices.PARTIAL
    assert Device.objects.filter(serial=kept).exists(), 'a device of the network that could not be read was removed'
    assert not run.changes.filter(meraki_id__startswith=kept).exists()
    assert not Device.objects.filter(serial=removed).exists(), 'the other network\'s removal did not go through'
    assert any(f'No removals planned in network {unread}' in line['message'] for line in run.log), run.log


def test_without_name_rules_no_port_is_created_beside_the_interfaces_its_type_made(
        meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    serial = switch_of(view)
    manufacturer = Manufacturer.objects.create(name='Cisco Meraki', slug='cisco-meraki')
    device_type = DeviceType.objects.create(manufacturer=manufacturer, model=view.devices[serial]['model'],
                                            slug='library-switch')
    for number in range(1, 5):
        InterfaceTemplate.objects.create(device_type=device_type, name=f'Port {number}', type='1000base-t')

    run = sync(org_id)

    device = Device.objects.get(serial=serial)
    assert set(Interface.objects.filter(device=device).exclude(type='virtual').values_list('name', flat=True)) == {
        f'Port {number}' for number in range(1, 5)}, 'a port was created beside the interfaces the type made'
    skipped = run.changes.get(kind='interface', meraki_id=f'{serial}:port/1')
    assert skipped.state == ChangeStateChoices.SKIPPED
    assert "none is named '1'" in skipped.reason and 'interface-name rules' in skipped.reason


def test_a_port_whose_address_moves_to_another_port_in_the_same_run_is_deleted(
        meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    old, network_id = next((serial, device['networkId']) for serial, device in sorted(view.devices.items())
                           if device['productType'] == 'appliance')
    assert sync(org_id).status == RunStatusChoices.COMPLETED
    svis = list(SyncedObject.objects.filter(kind='interface', meraki_id__startswith=f'{old}:vlan'))
    assert svis, 'the appliance has no VLAN interfaces to move'
    # The network's appliance is replaced: its gateway addresses move to the new one's VLAN interfaces.
    simulator.remove_device(old)
    new = simulator.add_device(network_id, model='MX68', name='new-mx')

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, list(run.changes.exclude(state='applied').values_list(
        'action', 'kind', 'meraki_id', 'reason')[:5])
    for svi in svis:
        removal = run.changes.get(kind='interface', meraki_id=svi.meraki_id)
        assert removal.action == ChangeActionChoices.DELETE, (removal.action, removal.reason)
        assert not Interface.objects.filter(pk=svi.object_id).exists()
    moved = owned_object(IPAddress, 'ipaddress', f'{network_id}:{svis[0].meraki_id.split(":vlan")[1]}:appliance')
    assert moved.assigned_object.device.serial == new
