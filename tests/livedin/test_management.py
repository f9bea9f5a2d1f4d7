"""
The management interface in a lived-in NetBox: a switch whose type comes from the device-type library has a
management-only `Management` interface, which an interface-name rule maps Meraki's `man1` to. That interface holds the
LAN IP and the MAC address; no second management interface is made beside it, and a MAC address people entered on it
is taken over, never entered twice.
"""

import pytest

from dcim.models import Device, Interface, MACAddress

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices
from netbox_meraki.models import SyncedObject

from ..reliability.conftest import sync
from .conftest import owned_pk

SHARED_BASELINE = True
pytestmark = pytest.mark.django_db


def test_the_library_management_interface_holds_the_lan_ip_and_the_mac(baseline, simulator, meraki_config):
    serial = baseline.serials['branch_switch']
    meraki_device = simulator.dashboard.orgs[baseline.org_a].devices[serial]
    device = Device.objects.get(pk=owned_pk('device', serial))

    management = device.interfaces.filter(mgmt_only=True)
    assert [interface.name for interface in management] == ['Management']
    interface = management.get()
    assert owned_pk('interface', f'{serial}:man1') == interface.pk
    assert interface.type == '1000base-t'  # as the library made it
    assert not SyncedObject.objects.filter(kind='interface', meraki_id=f'{serial}:management').exists()
    assert device.primary_ip4.assigned_object == interface
    assert str(device.primary_ip4.address.ip) == meraki_device['lanIp']
    assert device.primary_ip4.address.prefixlen < 32  # the mask of the branch's management VLAN
    assert [str(mac.mac_address) for mac in interface.mac_addresses.all()] == [meraki_device['mac'].upper()]
    assert interface.primary_mac_address.assigned_object == interface


def test_a_mac_address_people_entered_on_the_management_interface_is_taken_over(baseline, simulator, meraki_config):
    serial = baseline.serials['branch_switch']
    device = Device.objects.get(pk=owned_pk('device', serial))
    interface = device.interfaces.get(name='Management')
    # As if a person had entered the switch's MAC before the plugin synced MAC addresses.
    synced = interface.primary_mac_address
    Interface.objects.filter(pk=interface.pk).update(primary_mac_address=None)
    SyncedObject.objects.filter(kind='macaddress', object_id=synced.pk).delete()
    synced.delete()
    entered = MACAddress.objects.create(mac_address=str(synced.mac_address).lower(), assigned_object=interface,
                                        description='Entered by hand')

    run = sync(baseline.org_a)

    change = run.changes.get(kind='macaddress', meraki_id=f'{serial}:man1:mac')
    assert (change.action, change.state) == (ChangeActionChoices.ADOPT, ChangeStateChoices.APPLIED), change.reason
    assert list(interface.mac_addresses.values_list('pk', flat=True)) == [entered.pk]
    assert owned_pk('macaddress', f'{serial}:man1:mac') == entered.pk
    interface.refresh_from_db()
    assert interface.primary_mac_address_id == entered.pk
    entered.refresh_from_db()
    assert entered.description == 'Entered by hand'  # not a field the sync owns
