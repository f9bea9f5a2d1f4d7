"""Unit tests of the pure mapping from a Meraki snapshot to desired NetBox records."""

from netbox_meraki.fetch import Snapshot
from netbox_meraki.mapping import MappingOptions, Ref, coordinate, device_name, host_address, map_snapshot

OPTIONS = MappingOptions(
    manufacturer_name='Cisco Meraki',
    role_names={'switch': 'Switch', 'appliance': 'Security Appliance', 'wireless': 'Access Point'},
    status_map={'online': 'active', 'offline': 'offline', 'alerting': 'active', 'dormant': 'offline'},
)


def network(id='N_1', name='Branch 1', **extra):
    return {'id': id, 'name': name, 'productTypes': ['switch'], 'timeZone': 'Europe/Berlin', 'notes': '', **extra}


def device(serial='Q2AA-AAAA-AAAA', network_id='N_1', **extra):
    return {
        'serial': serial, 'name': 'sw-1', 'model': 'MS120-8LP', 'mac': 'AA:BB:CC:00:11:22', 'networkId': network_id,
        'productType': 'switch', 'firmware': 'switch-16-7', 'lanIp': '10.0.0.2', 'address': '1 Main St',
        'lat': 52.5, 'lng': 13.4, **extra,
    }


def snapshot(**kwargs):
    base = {'organization': {'id': '1', 'name': 'Org'}, 'networks': [network()], 'devices': [device()],
            'availabilities': [{'serial': 'Q2AA-AAAA-AAAA', 'status': 'online'}], 'uplinks': []}
    base.update(kwargs)
    return Snapshot(**base)


def test_network_becomes_a_site_with_the_address_its_devices_share():
    records, problems = map_snapshot(snapshot(), OPTIONS)
    site = records['site']['N_1']
    assert problems == []
    assert site.values['name'] == 'Branch 1'
    assert site.values['time_zone'] == 'Europe/Berlin'
    assert site.values['physical_address'] == '1 Main St'
    assert site.values['latitude'] == '52.500000'
    assert site.values['slug'] == 'branch-1-n_1'


def test_device_maps_to_identity_type_role_and_status():
    records, _ = map_snapshot(snapshot(), OPTIONS)
    values = records['device']['Q2AA-AAAA-AAAA'].values
    assert values['site'] == Ref('site', 'N_1')
    assert values['device_type'] == Ref('devicetype', 'MS120-8LP')
    assert values['role'] == Ref('role', 'switch')
    assert values['status'] == 'active'
    assert values['serial'] == 'Q2AA-AAAA-AAAA'
    assert values['cf_meraki_mac'] == 'aa:bb:cc:00:11:22'
    assert records['devicetype']['MS120-8LP'].values['u_height'] == '1'
    assert records['role']['switch'].values['name'] == 'Switch'
    assert records['manufacturer']['meraki'].values['name'] == 'Cisco Meraki'


def test_unnamed_device_falls_back_to_its_serial():
    assert device_name({'serial': 'Q2AA-AAAA-AAAA', 'name': None}) == 'Q2AA-AAAA-AAAA'
    assert device_name({'serial': 'Q2AA-AAAA-AAAA', 'name': '   '}) == 'Q2AA-AAAA-AAAA'
    assert device_name({"serial": "Q2AA-AAAA-AAAA", "name": "x" * 300}) == 'x' * 64


def test_access_points_take_no_rack_units():
    records, _ = map_snapshot(snapshot(devices=[device(model='MR46', productType='wireless')]), OPTIONS)
    assert records['devicetype']['MR46'].values['u_height'] == '0'


def test_status_is_left_alone_when_availabilities_could_not_be_read():
    records, _ = map_snapshot(snapshot(availabilities=None), OPTIONS)
    assert 'status' not in records['device']['Q2AA-AAAA-AAAA'].values


def test_devices_of_networks_out_of_scope_are_not_mapped():
    records, _ = map_snapshot(snapshot(devices=[device(network_id='N_other')]), OPTIONS)
    assert records['device'] == {}


def test_no_device_records_when_devices_could_not_be_read():
    records, _ = map_snapshot(snapshot(devices=None), OPTIONS)
    assert records['device'] == {} and records['site']


def test_device_without_model_is_reported_not_mapped():
    records, problems = map_snapshot(snapshot(devices=[device(model='')]), OPTIONS)
    assert records['device'] == {}
    assert problems == ['device Q2AA-AAAA-AAAA: no model']


def test_uplinks_become_interfaces_addresses_and_a_primary_ip():
    uplinks = [{'serial': 'Q2AA-AAAA-AAAA', 'uplinks': [
        {'interface': 'wan1', 'addresses': [
            {'protocol': 'ipv4', 'address': '10.0.0.2', 'public': {'address': '203.0.113.5'}},
            {'protocol': 'ipv6', 'address': '2001:db8::2'},
        ]},
        {'interface': 'cellular', 'addresses': [{'protocol': 'ipv4', 'address': 'not-an-ip'}]},
    ]}]
    records, problems = map_snapshot(snapshot(uplinks=uplinks), OPTIONS)
    assert set(records['interface']) == {'Q2AA-AAAA-AAAA:wan1', 'Q2AA-AAAA-AAAA:cellular'}
    assert records['interface']['Q2AA-AAAA-AAAA:cellular'].values['type'] == 'lte'
    ipv4 = records['ipaddress']['Q2AA-AAAA-AAAA:wan1:ipv4'].values
    assert ipv4['address'] == '10.0.0.2/32'
    assert ipv4['description'] == 'public 203.0.113.5'
    assert ipv4['assigned_object'] == Ref('interface', 'Q2AA-AAAA-AAAA:wan1')
    assert records['ipaddress']['Q2AA-AAAA-AAAA:wan1:ipv6'].values['address'] == '2001:db8::2/128'
    primary = records['primaryip']['Q2AA-AAAA-AAAA'].values
    assert primary == {'primary_ip4': Ref('ipaddress', 'Q2AA-AAAA-AAAA:wan1:ipv4')}
    assert problems == ["device Q2AA-AAAA-AAAA cellular: invalid address 'not-an-ip'"]


def test_coordinates_are_quantized_and_bounded():
    assert coordinate(12.3456789, 90) == '12.345679'
    assert coordinate(-170.5, 180) == '-170.500000'
    assert coordinate(None, 90) is None
    assert coordinate('', 90) is None
    assert coordinate(91, 90) is None
    assert coordinate('north', 90) is None


def test_host_address_rejects_garbage():
    assert host_address('192.0.2.1', 'ipv4') == '192.0.2.1/32'
    assert host_address(None, 'ipv4') is None
    assert host_address('300.1.1.1', 'ipv4') is None
