"""
Devices whose type comes from the device-type library: the interfaces NetBox made from its templates are the ones the
sync fills in (`Port 1` for Meraki's port 1), never a second interface for the same port. Addresses people entered
that equal what the sync wants are adopted or reported, never duplicated.
"""

import pytest

from dcim.models import Device, Interface
from ipam.models import IPAddress

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices
from netbox_meraki.models import PluginSettings, SyncedObject, SyncRun

from ..reliability.conftest import sync
from .conftest import LIBRARY_TYPES, owned_pk

SHARED_BASELINE = True
pytestmark = pytest.mark.django_db


def failed_interfaces(baseline, serial):
    run = SyncRun.objects.get(pk=baseline.first_runs[baseline.org_a])
    return [f'{c.action} {c.object_repr}: {c.state}: {c.reason}' for c in run.changes.filter(
        kind='interface', meraki_id__startswith=f'{serial}:').exclude(state=ChangeStateChoices.APPLIED)]


def test_switch_ports_fill_the_interfaces_the_library_type_made(baseline, simulator, meraki_config):
    serial = baseline.serials['branch_switch']
    device = Device.objects.get(pk=owned_pk('device', serial))
    ports = [port['portId'] for port in simulator.dashboard.orgs[baseline.org_a].switch_ports[serial]]

    assert not failed_interfaces(baseline, serial), failed_interfaces(baseline, serial)[:10]
    names = list(device.interfaces.values_list('name', flat=True))
    duplicated = [port for port in ports if port in names]
    assert not duplicated, f'Ports created beside the library\'s "Port N" interfaces: {duplicated}'
    for port in ports:
        interface = device.interfaces.get(name=f'Port {port}')
        owner = SyncedObject.objects.filter(kind='interface', meraki_id=f'{serial}:port/{port}').first()
        assert owner and owner.object_id == interface.pk, (
            f'Meraki port {port} is not the library\'s interface "Port {port}" (#{interface.pk}): {owner}')
    # The library's other interfaces (management, stack ports) are left as NetBox made them.
    template_names = {values['name'] for values in LIBRARY_TYPES[device.device_type.model]['interfaces']}
    assert template_names <= set(names), sorted(template_names - set(names))
    assert len(names) == len(set(names)), names


def test_appliance_uplinks_fill_the_library_internet_interfaces(baseline, simulator, meraki_config):
    serial = baseline.serials['branch_appliance']
    device = Device.objects.get(pk=owned_pk('device', serial))
    uplinks = [uplink['interface'] for uplink in simulator.dashboard.orgs[baseline.org_a].uplinks[serial]]
    assert uplinks == ['wan1', 'wan2']

    assert not failed_interfaces(baseline, serial), failed_interfaces(baseline, serial)[:10]
    names = list(device.interfaces.values_list('name', flat=True))
    assert not set(uplinks) & set(names), f'Uplinks created beside the library\'s "Internet N" interfaces: {names}'
    # A LAN port a switch's LLDP neighbour names (the core switch's uplink) is the library's "Port N" too.
    bare = [name for name in names if name.isdigit()]
    assert not bare, f'LAN ports created beside the library\'s "Port N" interfaces: {bare}'
    for number, uplink in enumerate(uplinks, start=1):
        interface = device.interfaces.get(name=f'Internet {number}')
        assert owned_pk('interface', f'{serial}:{uplink}') == interface.pk, (uplink, interface)
        addresses = SyncedObject.objects.filter(kind='ipaddress', meraki_id__startswith=f'{serial}:{uplink}:')
        for row in addresses:
            assert IPAddress.objects.get(pk=row.object_id).assigned_object == interface, row


def add_device_with_reserved_address(simulator, baseline):
    """A new access point in Meraki, whose LAN address a person has already entered in the network's VRF."""
    network = baseline.networks['campus_a']
    serial = simulator.add_device(network, model='MR44', name='new-ap')
    address = f'{simulator.dashboard.orgs[baseline.org_a].devices[serial]["lanIp"]}/32'
    reserved = IPAddress.objects.create(
        address=address, vrf_id=owned_pk('vrf', network), status='reserved', description='For the new AP (by hand)',
    )
    return serial, reserved


def addresses_like(reserved):
    """The addresses in NetBox with the reserved one's host, in its VRF."""
    host = str(reserved.address).partition('/')[0]
    return list(IPAddress.objects.filter(vrf_id=reserved.vrf_id, address__net_host=host))


def test_an_address_people_entered_is_adopted_when_adoption_is_on(baseline, simulator, meraki_config):
    settings = PluginSettings.load()
    settings.adopt_existing = True
    settings.save()
    serial, reserved = add_device_with_reserved_address(simulator, baseline)

    run = sync(baseline.org_a)

    identity = f'{serial}:man1:ipv4'
    change = run.changes.get(kind='ipaddress', meraki_id=identity)
    assert (change.action, change.state) == (ChangeActionChoices.ADOPT, ChangeStateChoices.APPLIED), (
        change.action, change.state, change.reason)
    assert [address.pk for address in addresses_like(reserved)] == [reserved.pk], (
        f'{reserved.address} is now in NetBox {len(addresses_like(reserved))} times in its VRF')
    assert owned_pk('ipaddress', identity) == reserved.pk
    reserved.refresh_from_db()
    interface = Interface.objects.get(pk=owned_pk('interface', f'{serial}:man1'))
    assert reserved.assigned_object == interface, reserved.assigned_object


def test_an_address_people_entered_is_reported_not_duplicated_when_adoption_is_off(baseline, simulator,
                                                                                   meraki_config):
    serial, reserved = add_device_with_reserved_address(simulator, baseline)
    values = (reserved.status, reserved.description, reserved.assigned_object_id)

    run = sync(baseline.org_a)

    change = run.changes.get(kind='ipaddress', meraki_id=f'{serial}:man1:ipv4')
    assert change.state == ChangeStateChoices.SKIPPED and change.reason.strip(), (
        f'The address a person entered is {change.state}, not skipped with a reason: {change.reason!r}')
    assert [address.pk for address in addresses_like(reserved)] == [reserved.pk], (
        f'{reserved.address} is now in NetBox {len(addresses_like(reserved))} times in its VRF')
    reserved.refresh_from_db()
    assert (reserved.status, reserved.description, reserved.assigned_object_id) == values
    assert not SyncedObject.objects.filter(kind='ipaddress', object_id=reserved.pk).exists()
