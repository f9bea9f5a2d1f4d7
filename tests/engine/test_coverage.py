"""Full inventory coverage: VLANs, prefixes, addresses, switch ports, wireless LANs, cables and inventory."""

import ipaddress

import pytest
from django.contrib.contenttypes.models import ContentType

from core.models import ObjectChange
from dcim.models import Cable, Device, Interface, Site
from ipam.models import VLAN, IPAddress, Prefix
from wireless.models import WirelessLAN

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings, SyncedObject
from netbox_meraki.sync import MerakiSyncService

pytestmark = pytest.mark.django_db

AUTH = {'psk': 'wpa-personal', 'open': 'open', '8021x-radius': 'wpa-enterprise', '8021x-meraki': 'wpa-enterprise'}


def sync(org_id, mode=SyncModeChoices.AUTO, **kwargs):
    (run,) = MerakiSyncService().sync_all(mode=mode, organization_ids=[org_id], background=False, **kwargs)
    return run


def owned(kind):
    rows = SyncedObject.objects.filter(kind=kind)
    model = ContentType.objects.get_for_id(rows.first().object_type_id).model_class() if rows.exists() else None
    return {row.meraki_id: model.objects.get(pk=row.object_id) for row in rows} if model else {}


def site_of(network_id):
    return Site.objects.get(pk=SyncedObject.objects.get(kind='site', meraki_id=network_id).object_id)


def org_data(simulator, org_id):
    return simulator.dashboard.orgs[org_id]


def port_vids(port, defined):
    """What the simulator's port means in NetBox terms: (mode, untagged vid, tagged vids)."""
    if port['type'] == 'trunk':
        if port['allowedVlans'] == 'all':
            return 'tagged-all', port['vlan'], []
        allowed = set()
        for part in port['allowedVlans'].split(','):
            first, _, last = part.partition('-')
            allowed.update(range(int(first), int(last or first) + 1))
        return 'tagged', port['vlan'], sorted(v for v in allowed if v in defined and v != port['vlan'])
    if port.get('voiceVlan'):
        return 'tagged', port['vlan'], [port['voiceVlan']]
    return ('access' if port['vlan'] else None), port['vlan'], []


def ap_link(org):
    """A link between a switch port and an access point: (switch end, AP end)."""
    for link in org.links:
        ends = sorted((link['a'], link['b']), key=lambda end: end.get('serial') not in org.switch_ports)
        switch, other = ends
        if switch.get('serial') in org.switch_ports and org.devices.get(other.get('serial'), {}).get(
            'productType') == 'wireless':
            return switch, other
    raise AssertionError('the simulator has no switch-to-AP link')


def expected_vlans(org):
    """{(network id, vid)}: the appliance's VLANs plus those the network's switch ports use."""
    vlans = {(network_id, int(vlan['id'])) for network_id, items in org.vlans.items() for vlan in items}
    for serial, ports in org.switch_ports.items():
        network_id = org.devices[serial]['networkId']
        for port in ports:
            for vid in (port['vlan'], port.get('voiceVlan')):
                if vid:
                    vlans.add((network_id, vid))
    return vlans


@pytest.mark.scale('small')
def test_netbox_holds_exactly_the_network_contents_meraki_describes(meraki_config, simulator, org_id):
    run = sync(org_id)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    org = org_data(simulator, org_id)

    # VLANs, in a VLAN group per site.
    vlans = owned('vlan')
    assert {(v.group.scope_id, v.vid) for v in vlans.values()} == {
        (site_of(network_id).pk, vid) for network_id, vid in expected_vlans(org)}
    for network_id, items in org.vlans.items():
        for vlan in items:
            assert vlans[f'{network_id}:{vlan["id"]}'].name == vlan['name']

    # A prefix per subnet, at the site, with its VLAN, in the network's VRF; the appliance IP on an SVI.
    prefixes = owned('prefix')
    subnets = {(n, str(v['id'])): v for n, items in org.vlans.items() for v in items}
    subnets.update({(n, 'lan'): lan for n, lan in org.single_lan.items()})
    assert set(prefixes) == {f'{n}:{key}' for n, key in subnets}
    addresses = owned('ipaddress')
    for (network_id, key), subnet in subnets.items():
        prefix = prefixes[f'{network_id}:{key}']
        assert str(prefix.prefix) == str(ipaddress.ip_network(subnet['subnet']))
        assert prefix.scope == site_of(network_id)
        assert prefix.vrf.name == site_of(network_id).name
        assert (prefix.vlan.vid if prefix.vlan else None) == (None if key == 'lan' else int(key))
        gateway = addresses[f'{network_id}:{key}:appliance']
        assert str(gateway.address) == f'{subnet["applianceIp"]}/{prefix.prefix.prefixlen}'
        assert gateway.vrf == prefix.vrf
        assert gateway.assigned_object.name == ('LAN' if key == 'lan' else f'Vlan{key}')
        assert gateway.assigned_object.device.role.name == 'Security Appliance'

    # Switch ports with their state, mode and VLANs.
    interfaces = owned('interface')
    for serial, ports in org.switch_ports.items():
        network_id = org.devices[serial]['networkId']
        defined = {vid for n, vid in expected_vlans(org) if n == network_id}
        for port in ports:
            interface = interfaces[f'{serial}:port/{port["portId"]}']
            mode, untagged, tagged = port_vids(port, defined)
            assert interface.device.serial == serial
            assert interface.name == port['portId']
            assert interface.enabled == port['enabled']
            assert interface.description == (port['name'] or '')
            assert interface.poe_mode == ('pse' if port['poeEnabled'] else None)
            assert interface.mode == mode
            assert (interface.untagged_vlan.vid if interface.untagged_vlan else None) == untagged
            assert sorted(v.vid for v in interface.tagged_vlans.all()) == tagged

    # Enabled SSIDs as wireless LANs, linked to the radios of the network's access points.
    wlans = owned('wirelesslan')
    enabled = {f'{n}:{s["number"]}': s for n, items in org.ssids.items() for s in items if s['enabled']}
    assert set(wlans) == set(enabled)
    for identity, ssid in enabled.items():
        assert wlans[identity].ssid == ssid['name']
        expected = AUTH.get(ssid['authMode'], wlans[identity].auth_type)
        expected = 'wep' if ssid.get('encryptionMode') == 'wep' else expected
        assert wlans[identity].auth_type == expected
    for serial, device in org.devices.items():
        if device['productType'] == 'wireless' and device['networkId'] in org.ssids:
            radio = interfaces[f'{serial}:radio0']
            expected = {f'{device["networkId"]}:{s["number"]}' for s in org.ssids[device['networkId']] if s['enabled']}
            assert {w.pk for w in radio.wireless_lans.all()} == {wlans[i].pk for i in expected}

    # A cable for every LLDP/CDP link a switch sees between two Meraki devices, and no other.
    expected_links = set()
    for link in org.links:
        a, b = link['a'], link['b']
        if not (a.get('serial') in org.devices and b.get('serial') in org.devices):
            continue
        if 'MS' not in (org.devices[a['serial']]['model'][:2], org.devices[b['serial']]['model'][:2]):
            continue
        expected_links.add(frozenset({(a['serial'], a['portId']), (b['serial'], b['portId'])}))
    cables = set()
    for cable in owned('cable').values():
        ends = [cable.a_terminations[0], cable.b_terminations[0]]
        cables.add(frozenset({(end.device.serial, end.name) for end in ends}))
    assert cables == expected_links
    assert Cable.objects.count() == len(expected_links)

    # A second sync writes nothing.
    changelog = ObjectChange.objects.count()
    again = sync(org_id)
    assert again.changes.count() == 0, list(again.changes.values('kind', 'meraki_id', 'before', 'after')[:5])
    assert ObjectChange.objects.count() == changelog


def test_meraki_changes_become_matching_updates_deletions_and_cable_changes(meraki_config, simulator, org_id):
    sync(org_id)
    org = org_data(simulator, org_id)
    network_id, items = next(iter(sorted(org.vlans.items())))
    vlan = items[1]
    new_subnet = '10.250.0.0/24'
    simulator.set_vlan_subnet(network_id, vlan['id'], new_subnet, appliance_ip='10.250.0.1')
    switch, access = next(
        (serial, port) for serial, ports in sorted(org.switch_ports.items()) for port in ports
        if org.devices[serial]['networkId'] == network_id and port['type'] == 'access' and not port.get('voiceVlan')
        and port['vlan'] != int(vlan['id'])
    )
    simulator.set_port_vlans(switch, access['portId'], vlan=int(vlan['id']))
    wireless_network, ssids = next((n, s) for n, s in sorted(org.ssids.items()) if any(x['enabled'] for x in s))
    ssid = next(s for s in ssids if s['enabled'])
    simulator.rename_ssid(wireless_network, ssid['number'], 'Renamed SSID')
    switch_end, _ap_end = ap_link(org)
    simulator.remove_link(switch_end['serial'], switch_end['portId'])

    # A full read: Meraki logs no configuration change for an unplugged cable (test_change_driven.py).
    run = sync(org_id, full_read=True)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    changes = {(c.kind, c.action, c.meraki_id): c for c in run.changes.all()}
    prefix_change = changes[('prefix', 'update', f'{network_id}:{vlan["id"]}')]
    assert prefix_change.after == {'prefix': new_subnet}
    gateway_change = changes[('ipaddress', 'update', f'{network_id}:{vlan["id"]}:appliance')]
    assert gateway_change.after == {'address': '10.250.0.1/24'}
    port_change = changes[('interface', 'update', f'{switch}:port/{access["portId"]}')]
    assert port_change.after['untagged_vlan'] == {'ref': 'vlan', 'id': f'{network_id}:{vlan["id"]}'}
    assert changes[('wirelesslan', 'update', f'{wireless_network}:{ssid["number"]}')].after == {'ssid': 'Renamed SSID'}
    removed = [c for c in run.changes.all() if c.kind == 'cable']
    assert [c.action for c in removed] == [ChangeActionChoices.DELETE]
    assert f'{switch_end["serial"]}:port/{switch_end["portId"]}' in removed[0].meraki_id
    # The AP's port was known only through that link: it goes with it. Nothing else changed.
    assert ('interface', 'delete', f'{_ap_end["serial"]}:port/{_ap_end["portId"]}') in changes
    assert len(changes) == 6, sorted(changes)
    assert all(c.state == ChangeStateChoices.APPLIED for c in changes.values())
    assert str(owned('prefix')[f'{network_id}:{vlan["id"]}'].prefix) == new_subnet
    interface = Interface.objects.get(device__serial=switch, name=access['portId'])
    assert interface.untagged_vlan.vid == int(vlan['id'])


def test_recabling_replaces_the_cable(meraki_config, simulator, org_id):
    sync(org_id)
    org = org_data(simulator, org_id)
    switch_end, ap_end = ap_link(org)
    switch = switch_end['serial']
    used = {end['portId'] for link in org.links for end in (link['a'], link['b']) if end.get('serial') == switch}
    free = next(p['portId'] for p in org.switch_ports[switch] if p['portId'] not in used)
    simulator.recable(switch, free, ap_end['serial'], ap_end['portId'])

    run = sync(org_id, full_read=True)  # cabling is not a logged configuration change

    cable_changes = [(c.action, c.state) for c in run.changes.filter(kind='cable').order_by('sequence')]
    assert cable_changes == [('delete', 'applied'), ('create', 'applied')]
    ap_port = Interface.objects.get(device__serial=ap_end['serial'], name=ap_end['portId'])
    assert ap_port.link_peers[0] == Interface.objects.get(device__serial=switch, name=free)


def test_overlapping_subnets_of_two_networks_both_land(meraki_config, simulator, org_id):
    org = org_data(simulator, org_id)
    (first, first_vlans), (second, second_vlans) = sorted(org.vlans.items())[:2]
    simulator.set_vlan_subnet(second, second_vlans[0]['id'], first_vlans[0]['subnet'],
                              appliance_ip=first_vlans[0]['applianceIp'])

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    same = Prefix.objects.filter(prefix=first_vlans[0]['subnet'])
    assert same.count() == 2
    assert same[0].vrf != same[1].vrf
    assert IPAddress.objects.filter(address__net_host=first_vlans[0]['applianceIp']).count() == 2


def test_a_network_whose_vlans_cannot_be_read_loses_nothing(meraki_config, simulator, org_id):
    sync(org_id)
    org = org_data(simulator, org_id)
    network_id = sorted(org.vlans)[0]
    before = {k: set(owned(k)) for k in ('vlan', 'prefix', 'ipaddress', 'interface')}
    simulator.inject('network_error', endpoint='GET /networks/{networkId}/appliance/vlans', network_id=network_id,
                     status=500)

    run = sync(org_id, full_read=True)  # the network is read again although nothing in it changed

    assert run.status == RunStatusChoices.PARTIAL
    assert network_id in run.error
    assert not run.changes.filter(action__in=('delete', 'mark')).exists()
    assert {k: set(owned(k)) for k in before} == before


@pytest.mark.scale('small')
def test_unassigned_inventory_is_synced_when_enabled(meraki_config, simulator, org_id):
    settings = PluginSettings.load()
    settings.sync_inventory = True
    settings.save()
    org = org_data(simulator, org_id)
    unassigned = {serial for serial, item in org.inventory.items() if not item['networkId']}
    assert unassigned

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    devices = Device.objects.filter(serial__in=unassigned)
    assert devices.count() == len(unassigned)
    assert {d.status for d in devices} == {'inventory'}
    assert {d.site.name for d in devices} == {'Meraki inventory'}


@pytest.mark.scale('small')
def test_cable_to_a_neighbour_already_in_netbox_by_name(meraki_config, simulator, org_id):
    from dcim.models import DeviceRole, DeviceType, Manufacturer

    org = org_data(simulator, org_id)
    link = next(link for link in org.links if link['a'].get('serial') in org.switch_ports and not link['b'].get(
        'serial') and link['b']['systemName'].startswith('core'))
    maker = Manufacturer.objects.create(name='Other', slug='other')
    device_type = DeviceType.objects.create(manufacturer=maker, model='Router', slug='router')
    role = DeviceRole.objects.create(name='Core', slug='core')
    hand_site = Site.objects.create(name='Core site', slug='core-site')
    router = Device.objects.create(name=link['b']['systemName'], site=hand_site, device_type=device_type, role=role)
    port = Interface.objects.create(device=router, name=link['b']['portId'], type='10gbase-x-sfpp')

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    port.refresh_from_db()
    assert port.cable is not None
    assert port.link_peers[0].device.serial == link['a']['serial']
    # The neighbour itself is not the plugin's: never changed, and not owned.
    assert not SyncedObject.objects.filter(object_id=port.pk, kind='interface').exists()


def test_vlans_of_review_mode_are_shown_and_applied_with_everything_else(meraki_config, org_id):
    run = sync(org_id, mode=SyncModeChoices.REVIEW)
    kinds = set(run.changes.values_list('kind', flat=True))
    assert {'vlan', 'prefix', 'wirelesslan', 'cable', 'interface', 'vlangroup', 'vrf'} <= kinds
    assert not VLAN.objects.exists() and not WirelessLAN.objects.exists()
