"""
Meraki modelled the way NetBox models networks (issue #15): every device with a LAN IP has a management interface
holding it with its network's mask, the device's MAC as a MAC address object (that interface's primary MAC), wireless
LANs with their VLAN and site, and every device status Meraki gives through the status map.
"""

import ipaddress
import re

import meraki
import pytest
from meraki.api.organizations import Organizations

from dcim.models import Device, Interface, MACAddress
from ipam.models import IPAddress
from wireless.models import WirelessLAN

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.mapping import Ref, map_snapshot
from netbox_meraki.models import DEFAULT_STATUS_MAP, PluginSettings, SyncedObject
from netbox_meraki.sync import apply_review, approve_changes

from .test_mapping import OPTIONS, device, network, snapshot
from .test_sync import owned, sync

pytestmark = pytest.mark.django_db

SERIAL = 'Q2AA-AAAA-AAAA'
VLANS = [{'id': 1, 'name': 'Default', 'subnet': '10.0.0.0/24', 'applianceIp': '10.0.0.1'},
         {'id': 10, 'name': 'Data', 'subnet': '10.0.10.0/24', 'applianceIp': '10.0.10.1'}]


def man1(address='10.0.0.2'):
    return [{'serial': SERIAL, 'uplinks': [{'interface': 'man1', 'addresses': [
        {'protocol': 'ipv4', 'address': address}]}]}]


# Mapping

def test_the_uplink_that_carries_the_lan_ip_is_the_management_interface_with_the_mac():
    records, problems = map_snapshot(snapshot(uplinks=man1(), vlans={'N_1': VLANS}), OPTIONS)

    assert problems == []
    assert set(records['interface']) == {f'{SERIAL}:man1'}
    assert records['interface'][f'{SERIAL}:man1'].values['mgmt_only'] is True
    address = records['ipaddress'][f'{SERIAL}:man1:ipv4']
    assert address.values['address'] == '10.0.0.2/24'  # the mask of the network's VLAN 1
    assert address.values['assigned_object'] == Ref('interface', f'{SERIAL}:man1')
    assert records['primaryip'][SERIAL].values == {'primary_ip4': Ref('ipaddress', f'{SERIAL}:man1:ipv4')}
    assert records['macaddress'][f'{SERIAL}:man1:mac'].values == {
        'mac_address': 'AA:BB:CC:00:11:22', 'assigned_object': Ref('interface', f'{SERIAL}:man1')}
    assert records['primarymac'][f'{SERIAL}:man1'].values == {
        'primary_mac_address': Ref('macaddress', f'{SERIAL}:man1:mac')}


def test_a_lan_ip_no_uplink_carries_gets_a_virtual_management_interface_with_the_mac():
    uplinks = [{'serial': SERIAL, 'uplinks': [{'interface': 'cellular', 'addresses': [
        {'protocol': 'ipv4', 'address': '100.64.1.2'}]}]}]
    records, _ = map_snapshot(snapshot(uplinks=uplinks, single_lan={'N_1': {'subnet': '10.0.0.0/26'}}), OPTIONS)

    assert records['ipaddress'][f'{SERIAL}:management:ipv4'].values['address'] == '10.0.0.2/26'
    assert records['ipaddress'][f'{SERIAL}:cellular:ipv4'].values['address'] == '100.64.1.2/32'
    assert 'mgmt_only' not in records['interface'][f'{SERIAL}:cellular'].values
    assert records['macaddress'][f'{SERIAL}:management:mac'].values['assigned_object'] == Ref(
        'interface', f'{SERIAL}:management')
    assert list(records['primarymac']) == [f'{SERIAL}:management']


def test_a_wan_uplink_that_carries_the_lan_ip_holds_it_but_is_not_management_only():
    uplinks = [{'serial': SERIAL, 'uplinks': [{'interface': 'wan1', 'addresses': [
        {'protocol': 'ipv4', 'address': '10.0.0.2'}]}]}]
    records, _ = map_snapshot(snapshot(uplinks=uplinks), OPTIONS)

    assert set(records['interface']) == {f'{SERIAL}:wan1'}
    assert 'mgmt_only' not in records['interface'][f'{SERIAL}:wan1'].values
    assert records['primaryip'][SERIAL].values == {'primary_ip4': Ref('ipaddress', f'{SERIAL}:wan1:ipv4')}
    assert list(records['macaddress']) == [f'{SERIAL}:wan1:mac']


@pytest.mark.parametrize(('subnets', 'lan_ip', 'address', 'create_only'), [
    (['10.0.0.0/16', '10.0.0.0/24'], '10.0.0.2', '10.0.0.2/24', ()),  # the smallest subnet that holds it
    (['192.168.1.0/24'], '10.0.0.2', '10.0.0.2/32', ()),  # no subnet holds it
    (['10.0.0.0/24'], '10.0.0.0', '10.0.0.0/32', ()),  # a network address NetBox refuses on an interface
    (['10.0.0.0/24', 'not-a-subnet'], '10.0.0.2', '10.0.0.2/24', ()),
    (None, '10.0.0.2', '10.0.0.2/32', ('address',)),  # VLANs not read: created as a host, its mask left alone
])
def test_the_lan_ip_takes_the_mask_of_the_network_subnet_that_holds_it(subnets, lan_ip, address, create_only):
    kwargs = {'vlans': {'N_1': [{'id': n + 1, 'subnet': s} for n, s in enumerate(subnets)]}} if subnets else {}
    if subnets is None:
        kwargs['network_errors'] = {'vlans': {'N_1': 'HTTP 500'}}
    records, _ = map_snapshot(snapshot(devices=[device(lanIp=lan_ip)], uplinks=man1(lan_ip), **kwargs), OPTIONS)

    record = records['ipaddress'][f'{SERIAL}:man1:ipv4']
    assert (record.values['address'], record.create_only) == (address, create_only)


def test_a_device_without_a_lan_ip_or_a_valid_mac_gets_no_mac_address():
    records, _ = map_snapshot(snapshot(devices=[device(mac='not-a-mac')], uplinks=man1()), OPTIONS)
    assert records['macaddress'] == {} and records['primarymac'] == {}
    assert records['primaryip'][SERIAL].values == {'primary_ip4': Ref('ipaddress', f'{SERIAL}:man1:ipv4')}
    records, _ = map_snapshot(snapshot(devices=[device(lanIp=None)], uplinks=man1()), OPTIONS)
    assert records['macaddress'] == {} and records['primarymac'] == {}
    assert 'mgmt_only' not in records['interface'][f'{SERIAL}:man1'].values


def wireless_snapshot(ssids, **kwargs):
    aps = [device(serial='Q2AP-0000-0001', model='MR46', productType='wireless', tags=['lobby']),
           device(serial='Q2AP-0000-0002', model='MR46', productType='wireless', tags=[])]
    return snapshot(networks=[network(productTypes=['appliance', 'wireless'])], devices=aps, uplinks=[],
                    vlans={'N_1': VLANS}, ssids={'N_1': ssids}, **kwargs)


def ssid(number, **extra):
    return {'number': number, 'name': f'SSID {number}', 'enabled': True, 'authMode': 'open', **extra}


def test_an_ssid_s_vlan_is_its_wireless_lan_s_when_the_network_has_it_and_the_site_its_scope():
    ssids = [ssid(0, ipAssignmentMode='Bridge mode', useVlanTagging=True, defaultVlanId=10),
             ssid(1, ipAssignmentMode='Bridge mode', useVlanTagging=True, defaultVlanId=77),  # no VLAN 77 here
             ssid(2, ipAssignmentMode='NAT mode', useVlanTagging=False, defaultVlanId=10),
             ssid(3, ipAssignmentMode='Bridge mode')]
    records, problems = map_snapshot(wireless_snapshot(ssids), OPTIONS)

    assert problems == []
    lans = records['wirelesslan']
    assert lans['N_1:0'].values['vlan'] == Ref('vlan', 'N_1:10')
    assert [lans[f'N_1:{n}'].values['vlan'] for n in (1, 2, 3)] == [None, None, None]
    assert {record.values['scope'] for record in lans.values()} == {Ref('site', 'N_1')}
    # Without the network's VLANs, an SSID's VLAN is not known: left as it is.
    records, _ = map_snapshot(wireless_snapshot(ssids, network_errors={'vlans': {'N_1': 'HTTP 500'}}), OPTIONS)
    assert 'vlan' not in records['wirelesslan']['N_1:0'].values


def test_radios_are_linked_to_the_ssids_they_broadcast():
    ssids = [ssid(0), ssid(1, availableOnAllAps=False, availabilityTags=['lobby']), ssid(2, enabled=False)]
    options = type(OPTIONS)(**{**OPTIONS.__dict__, 'sync_disabled_ssids': True})
    records, _ = map_snapshot(wireless_snapshot(ssids), options)

    assert set(records['wirelesslan']) == {'N_1:0', 'N_1:1', 'N_1:2'}
    radios = {serial: records['interface'][f'{serial}:radio0'].values['wireless_lans']
              for serial in ('Q2AP-0000-0001', 'Q2AP-0000-0002')}
    assert radios == {
        'Q2AP-0000-0001': [Ref('wirelesslan', 'N_1:0'), Ref('wirelesslan', 'N_1:1')],  # tagged lobby
        'Q2AP-0000-0002': [Ref('wirelesslan', 'N_1:0')],
    }


def test_every_device_status_meraki_documents_has_a_default_mapping():
    documented = re.search(r'Valid statuses are \[([^\]]*)\]', Organizations.getOrganizationDevicesStatuses.__doc__)
    statuses = set(re.findall(r'"([^"]+)"', documented[1]))
    assert statuses == {'online', 'alerting', 'offline', 'dormant'}
    assert set(DEFAULT_STATUS_MAP) == statuses


# Syncs through the simulator

def api_of(simulator):
    return meraki.DashboardAPI(
        simulator.api_key, base_url=simulator.base_url, output_log=False, print_console=False, suppress_logging=True,
        smart_flow_enabled=False, caller='NetBoxMerakiTests/1.0 netbox-meraki',
    )


def network_subnets(api, network):
    """The network's LAN subnets as Meraki gives them: its appliance's VLANs, or its single LAN."""
    if 'appliance' not in network['productTypes']:
        return []
    try:
        return [ipaddress.ip_network(vlan['subnet']) for vlan in api.appliance.getNetworkApplianceVlans(network['id'])]
    except meraki.APIError:
        return [ipaddress.ip_network(api.appliance.getNetworkApplianceSingleLan(network['id'])['subnet'])]


def expected_lan_address(lan_ip, subnets):
    ip = ipaddress.ip_address(lan_ip)
    holding = [subnet for subnet in subnets if ip in subnet]
    return f'{ip}/{max(subnet.prefixlen for subnet in holding) if holding else 32}'


def management_interface(device):
    return device.primary_ip4.assigned_object


def test_first_sync_manages_every_device_at_its_lan_ip_with_its_mac(meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    api = api_of(simulator)
    subnets = {network_id: network_subnets(api, network) for network_id, network in view.networks.items()}

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log[-5:]
    devices = {device.serial: device for device in owned(Device).select_related('primary_ip4')}
    with_lan_ip = {serial: meraki_device for serial, meraki_device in view.devices.items() if meraki_device['lanIp']}
    assert len(with_lan_ip) >= 8
    masks = set()
    for serial, meraki_device in with_lan_ip.items():
        device = devices[serial]
        interface = management_interface(device)
        address = expected_lan_address(meraki_device['lanIp'], subnets[meraki_device['networkId']])
        masks.add(address.partition('/')[2])
        assert (interface.device_id, interface.mgmt_only, str(device.primary_ip4.address)) == (
            device.pk, True, address), serial
        # One address of that host on the device: the management interface holds it.
        host = meraki_device['lanIp']
        assert IPAddress.objects.filter(address__net_host=host, vrf=device.primary_ip4.vrf).count() == 1
        assert [str(mac.mac_address) for mac in interface.mac_addresses.all()] == [meraki_device['mac'].upper()]
        assert str(interface.primary_mac_address.mac_address) == meraki_device['mac'].upper()
        assert interface.name == ('Management' if not view.uplinks.get(serial) or host not in {
            address['address'] for uplink in view.uplinks[serial] for address in uplink['addresses']} else 'man1')
        assert device.custom_field_data['meraki_mac'] == meraki_device['mac'].lower()
    assert masks - {'32'}, 'the LAN IPs take their subnets\' masks'
    assert owned(MACAddress).count() == len(with_lan_ip)
    assert not MACAddress.objects.exclude(pk__in=owned(MACAddress)).exists()

    second = sync(org_id)
    assert second.changes.count() == 0, list(second.changes.values('kind', 'meraki_id', 'before', 'after')[:5])


def test_wireless_lans_have_their_ssid_s_vlan_and_site_and_radios_broadcast_them(
    meraki_config, simulator, org_id, meraki_view,
):
    view = meraki_view.read()
    api = api_of(simulator)
    run = sync(org_id)
    assert run.status == RunStatusChoices.COMPLETED, run.log[-5:]

    wlans = {row.meraki_id: WirelessLAN.objects.get(pk=row.object_id)
             for row in SyncedObject.objects.filter(kind='wirelesslan')}
    tagged = untagged = 0
    for network_id, meraki_network in view.networks.items():
        if 'wireless' not in meraki_network['productTypes']:
            continue
        site = SyncedObject.objects.get(kind='site', meraki_id=network_id).object_id
        # The network's VLANs the plugin owns: its appliance's, and those its switch ports use.
        vids = {int(row.meraki_id.partition(':')[2])
                for row in SyncedObject.objects.filter(kind='vlan', meraki_id__startswith=f'{network_id}:')}
        enabled = []
        for ssid in api.wireless.getNetworkWirelessSsids(network_id):
            if not ssid['enabled']:
                continue
            wlan = wlans[f'{network_id}:{ssid["number"]}']
            enabled.append(wlan.pk)
            assert (wlan.scope_type.model, wlan.scope_id) == ('site', site)
            vid = ssid.get('defaultVlanId') if ssid.get('useVlanTagging') else None
            if vid in vids:
                assert wlan.vlan.vid == vid and wlan.vlan.group.scope_id == site, ssid
                tagged += 1
            else:
                assert wlan.vlan is None, ssid
                untagged += 1
        for serial, meraki_device in view.devices.items():
            if meraki_device['networkId'] == network_id and meraki_device['productType'] == 'wireless':
                radio = Interface.objects.get(device__serial=serial, name='radio0')
                assert sorted(radio.wireless_lans.values_list('pk', flat=True)) == sorted(enabled)
    assert tagged and untagged

    network_id, number = next(key.split(':') for key, wlan in sorted(wlans.items()) if wlan.vlan)
    other = next(vid for vid in (1, 10, 20, 99) if vid != wlans[f'{network_id}:{number}'].vlan.vid and
                 SyncedObject.objects.filter(kind='vlan', meraki_id=f'{network_id}:{vid}').exists())
    simulator.edit_ssid(network_id, int(number), defaultVlanId=other)
    run = sync(org_id)
    change = run.changes.get(kind='wirelesslan')
    assert change.after == {'vlan': {'ref': 'vlan', 'id': f'{network_id}:{other}'}}
    assert WirelessLAN.objects.get(pk=change.object_id).vlan.vid == other

    simulator.edit_ssid(network_id, int(number), defaultVlanId=3999)  # a VLAN the network does not have
    run = sync(org_id)
    assert run.status == RunStatusChoices.COMPLETED, run.log[-5:]
    assert run.changes.get(kind='wirelesslan').after == {'vlan': None}
    assert not [line for line in run.log if '3999' in str(line)]
    assert sync(org_id).changes.count() == 0


def as_previous_release_left_it():
    """
    Put NetBox back as the previous release synced it: LAN IPs as host addresses, `man1` not management-only, no MAC
    address objects, wireless LANs without VLAN or scope.
    """
    for address in owned(IPAddress).filter(interface__name__in=('man1', 'Management')):
        IPAddress.objects.filter(pk=address.pk).update(address=f'{address.address.ip}/32')
    owned(Interface).filter(name='man1').update(mgmt_only=False)
    Interface.objects.update(primary_mac_address=None)
    owned(MACAddress).delete()
    SyncedObject.objects.filter(kind='macaddress').delete()
    WirelessLAN.objects.update(vlan=None, scope_type=None, scope_id=None, _site=None, _region=None, _site_group=None,
                               _location=None)


def test_an_install_synced_before_is_brought_up_to_date_by_updates_alone(meraki_config, org_id):
    sync(org_id)
    addresses = set(owned(IPAddress).values_list('pk', flat=True))
    as_previous_release_left_it()

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log[-5:]
    actions = {(change.kind, change.action) for change in run.changes.all()}
    assert actions == {('ipaddress', 'update'), ('interface', 'update'), ('macaddress', 'create'),
                       ('primarymac', 'update'), ('wirelesslan', 'update')}, actions
    assert all(change.after == {'mgmt_only': True} for change in run.changes.filter(kind='interface'))
    assert all(set(change.after) == {'address'} for change in run.changes.filter(kind='ipaddress'))
    assert all(set(change.after) <= {'vlan', 'scope'} for change in run.changes.filter(kind='wirelesslan'))
    assert set(owned(IPAddress).values_list('pk', flat=True)) == addresses
    assert sync(org_id).changes.count() == 0


def test_a_new_mac_updates_the_mac_address_and_a_removed_device_takes_its_mac_along(
    meraki_config, simulator, org_id, meraki_view,
):
    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, 'device': 'delete'}
    settings.save()
    sync(org_id)
    view = meraki_view.read()
    changed, removed = [serial for serial in sorted(view.devices) if view.devices[serial]['lanIp']][:2]
    simulator.edit_device(changed, mac='0c:8d:db:aa:bb:cc')
    mac = MACAddress.objects.get(pk=SyncedObject.objects.get(
        kind='macaddress', meraki_id__startswith=f'{removed}:').object_id)
    simulator.remove_device(removed)

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log[-5:]
    update = run.changes.get(kind='macaddress', meraki_id__startswith=f'{changed}:')
    assert (update.action, update.after) == (ChangeActionChoices.UPDATE, {'mac_address': '0C:8D:DB:AA:BB:CC'})
    assert str(management_interface(Device.objects.get(serial=changed)).primary_mac_address) == '0C:8D:DB:AA:BB:CC'
    deletion = run.changes.get(kind='macaddress', meraki_id__startswith=f'{removed}:')
    assert (deletion.action, deletion.state) == (ChangeActionChoices.DELETE, ChangeStateChoices.APPLIED)
    assert not MACAddress.objects.filter(pk=mac.pk).exists()
    assert not Device.objects.filter(serial=removed).exists()
    assert sync(org_id).changes.count() == 0


def test_a_mac_the_policy_keeps_keeps_its_interface_and_device(meraki_config, simulator, org_id, meraki_view):
    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, 'device': 'delete', 'macaddress': 'keep'}
    settings.save()
    sync(org_id)
    serial = next(serial for serial, device in sorted(meraki_view.read().devices.items()) if device['lanIp'])
    simulator.remove_device(serial)

    run = sync(org_id)

    assert not run.changes.filter(kind='macaddress').exists()
    interface = run.changes.get(kind='interface', meraki_id__in=[f'{serial}:man1', f'{serial}:management'])
    assert interface.action == ChangeActionChoices.MARK and 'MAC address' in interface.reason
    assert run.changes.get(kind='device', meraki_id=serial).action == ChangeActionChoices.MARK
    device = Device.objects.get(serial=serial)
    assert device.status == 'decommissioning'
    assert device.interfaces.get(pk=interface.object_id).mac_addresses.count() == 1


def test_a_mac_people_added_to_a_removed_interface_keeps_it(meraki_config, simulator, org_id, meraki_view):
    # NetBox deletes an interface's MAC addresses with it: one the plugin does not own stops the deletion.
    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, 'device': 'delete'}
    settings.save()
    sync(org_id)
    serial = next(serial for serial, device in sorted(meraki_view.read().devices.items()) if device['lanIp'])
    interface = management_interface(Device.objects.get(serial=serial))
    hand_made = MACAddress.objects.create(mac_address='02:00:00:00:00:01', assigned_object=interface)
    simulator.remove_device(serial)

    run = sync(org_id)

    assert run.changes.get(kind='macaddress', meraki_id__startswith=f'{serial}:').action == ChangeActionChoices.DELETE
    change = run.changes.get(kind='interface', object_id=interface.pk)
    assert change.action == ChangeActionChoices.MARK and '02:00:00:00:00:01' in change.reason
    assert MACAddress.objects.filter(pk=hand_made.pk).exists()
    assert not Interface.objects.get(pk=interface.pk).enabled


def test_mass_mac_removal_is_held_for_review(meraki_config, simulator, org_id, meraki_view):
    sync(org_id)
    view = meraki_view.read()
    network_id = max(view.networks, key=lambda n: sum(
        d['networkId'] == n and bool(d['lanIp']) for d in view.devices.values()))
    serials = [s for s, d in view.devices.items() if d['networkId'] == network_id and d['lanIp']]
    assert len(serials) >= 2
    for serial in serials:
        simulator.edit_device(serial, mac='')  # Meraki answers without a MAC for every device of the network

    run = sync(org_id)

    removals = run.changes.filter(kind='macaddress')
    assert removals.count() == len(serials)
    assert set(removals.values_list('state', flat=True)) == {ChangeStateChoices.HELD}
    assert 'Held for review' in removals.first().reason
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert owned(MACAddress).count() == sum(1 for d in view.devices.values() if d['lanIp'])


def test_review_mode_applies_mac_addresses_and_primary_macs_once_approved(meraki_config, org_id):
    run = sync(org_id, mode=SyncModeChoices.REVIEW)
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    planned = run.changes.filter(kind__in=('macaddress', 'primarymac'))
    assert planned.filter(kind='macaddress').count() == planned.filter(kind='primarymac').count() > 0
    assert not MACAddress.objects.exists()

    approve_changes(run)
    run = apply_review(run, background=False)

    assert run.status == RunStatusChoices.COMPLETED, run.log[-5:]
    assert owned(MACAddress).count() == planned.filter(kind='macaddress').count()
    interfaces = Interface.objects.filter(primary_mac_address__isnull=False)
    assert interfaces.count() == owned(MACAddress).count()
    assert all(interface.primary_mac_address.assigned_object == interface for interface in interfaces)
    assert sync(org_id).changes.count() == 0


def test_every_meraki_status_maps_through_the_status_map(meraki_config, simulator, org_id, meraki_view):
    settings = PluginSettings.load()
    settings.status_map = {'online': 'active', 'alerting': 'failed', 'offline': 'offline', 'dormant': 'planned'}
    settings.full_clean()
    settings.save()
    serials = sorted(meraki_view.read().devices)[:4]
    for serial, status in zip(serials, ('online', 'alerting', 'offline', 'dormant'), strict=True):
        simulator.set_device_status(serial, status)
    view = meraki_view.read()
    assert {view.statuses[serial] for serial in serials} == {'online', 'alerting', 'offline', 'dormant'}
    assert set(view.statuses.values()) <= set(DEFAULT_STATUS_MAP)

    sync(org_id)

    assert {serial: Device.objects.get(serial=serial).status for serial in serials} == dict(
        zip(serials, ('active', 'failed', 'offline', 'planned'), strict=True))
    for serial, status in zip(serials, ('dormant', 'online', 'alerting', 'offline'), strict=True):
        simulator.set_device_status(serial, status)
    run = sync(org_id)
    assert {change.meraki_id: change.after for change in run.changes.filter(kind='device')} == {
        serials[0]: {'status': 'planned'}, serials[1]: {'status': 'active'}, serials[2]: {'status': 'failed'},
        serials[3]: {'status': 'offline'}}
    assert sync(org_id).changes.count() == 0



def test_a_vlan_meraki_removes_leaves_its_wireless_lan_first(meraki_config, simulator, org_id, meraki_view):
    # NetBox refuses to delete a VLAN a wireless LAN has (PROTECT): the wireless LAN lets go of it in the same run.
    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, 'vlan': 'delete', 'prefix': 'delete'}
    settings.save()
    view = meraki_view.read()
    network_id = next(network_id for network_id, network in sorted(view.networks.items())
                      if {'appliance', 'wireless'} <= set(network['productTypes'])
                      and api_of(simulator).appliance.getNetworkApplianceVlansSettings(network_id)['vlansEnabled'])
    simulator.add_vlan(network_id, 333, 'Wireless only', '10.233.0.0/24', '10.233.0.1')
    simulator.edit_ssid(network_id, 0, ipAssignmentMode='Bridge mode', useVlanTagging=True, defaultVlanId=333)
    sync(org_id)
    row = SyncedObject.objects.get(kind='wirelesslan', meraki_id=f'{network_id}:0')
    wlan = WirelessLAN.objects.get(pk=row.object_id)
    assert wlan.vlan.vid == 333

    # VLAN 333 is gone, 334 is new (another name and subnet: a renumbered VLAN is not what this test is about).
    simulator.edit_vlan(network_id, 333, id=334, name='Wireless too', subnet='10.234.0.0/24', applianceIp='10.234.0.1')

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, list(run.changes.exclude(state='applied').values_list(
        'kind', 'action', 'reason'))
    assert run.changes.get(kind='wirelesslan').after == {'vlan': None}
    deletion = run.changes.get(kind='vlan', meraki_id=f'{network_id}:333')
    assert (deletion.action, deletion.state) == (ChangeActionChoices.DELETE, ChangeStateChoices.APPLIED)
    wlan.refresh_from_db()
    assert wlan.vlan is None
    assert sync(org_id).changes.count() == 0
