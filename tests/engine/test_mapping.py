"""Unit tests of the pure mapping from a Meraki snapshot to desired NetBox records."""

import ast
import dataclasses
import inspect
import re
import textwrap

from meraki.api.wireless import Wireless

from wireless.choices import WirelessAuthCipherChoices, WirelessAuthTypeChoices

from netbox_meraki.fetch import Snapshot
from netbox_meraki.mapping import MappingOptions, Ref, coordinate, device_name, host_address, map_snapshot
from netbox_meraki.mapping_network import SSID_AUTH, SSID_CIPHER, SSID_ENCRYPTION

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


# The device of device(), listed by the uplink endpoint without uplinks.
LISTED = {'serial': 'Q2AA-AAAA-AAAA', 'uplinks': []}


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
    assert site.values['slug'] == 'branch-1'


def test_a_site_slug_takes_the_network_id_only_when_another_network_or_netbox_object_needs_its_slug():
    networks = [network('N_1', 'Paris Office'), network('N_2', 'Paris-Office'), network('N_3', 'Lyon'),
                network('N_4', 'Nice'), network('N_5', '東京')]
    # NetBox already has "lyon" on a site no network of this organization owns, and "nice" on N_4's own site.
    options = dataclasses.replace(OPTIONS, site_slugs={'lyon': '', 'nice': 'N_4'})

    records, _ = map_snapshot(snapshot(networks=networks, devices=[]), options)

    slugs = {network_id: record.values['slug'] for network_id, record in records['site'].items()}
    assert slugs == {'N_1': 'paris-office-n_1', 'N_2': 'paris-office-n_2', 'N_3': 'lyon-n_3', 'N_4': 'nice',
                     'N_5': 'n_5'}


def test_a_long_site_slug_keeps_its_network_id_whole():
    networks = [network('N_1', 'x' * 100), network('N_2', 'X' * 100)]
    records, _ = map_snapshot(snapshot(networks=networks, devices=[]), OPTIONS)
    slugs = [record.values['slug'] for record in records['site'].values()]
    assert slugs == ['x' * 96 + '-n_1', 'x' * 96 + '-n_2']


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
    assert primary == {'primary_ip4': Ref('ipaddress', 'Q2AA-AAAA-AAAA:wan1:ipv4'),
                       'primary_ip6': Ref('ipaddress', 'Q2AA-AAAA-AAAA:wan1:ipv6')}
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


def sdk_enum(function, parameter):
    """
    The values the installed SDK documents for a string parameter: those its docstring lists ('a', 'b' or 'c') and
    those its own argument check accepts. Read at test time, so that a value a newer SDK adds fails the tests below.
    """
    values = set()
    for line in inspect.getdoc(function).splitlines():
        if line.startswith(f'- {parameter} (string):') and (listed := re.search(r"\(('[^)]*')\)", line)):
            values.update(re.findall(r"'([^']*)'", listed[1]))
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and getattr(
                node.test.left, 'value', None) == parameter:
            for statement in node.body:
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.List):
                    values.update(item.value for item in statement.value.elts)
    return values


def test_every_ssid_security_value_the_sdk_documents_has_an_explicit_mapping():
    update_ssid = Wireless.updateNetworkWirelessSsid
    auth_modes = sdk_enum(update_ssid, 'authMode')
    encryption_modes = sdk_enum(update_ssid, 'encryptionMode')
    wpa_modes = sdk_enum(update_ssid, 'wpaEncryptionMode')
    # The parse itself works: these are in every SDK version that has the parameters.
    assert {'open', 'psk', '8021x-radius', '8021x-nac', 'ipsk-without-radius'} <= auth_modes
    assert {'wep', 'wpa'} <= encryption_modes
    assert {'WPA1 only', 'WPA2 only', 'WPA3 only'} <= wpa_modes

    assert sorted(auth_modes - set(SSID_AUTH)) == []
    assert sorted(encryption_modes - set(SSID_ENCRYPTION)) == []
    assert sorted(wpa_modes - set(SSID_CIPHER)) == []
    assert set(SSID_AUTH.values()) == set(WirelessAuthTypeChoices.values()) - {'wep'}
    assert set(SSID_ENCRYPTION.values()) <= {None, *WirelessAuthTypeChoices.values()}
    assert set(SSID_CIPHER.values()) == set(WirelessAuthCipherChoices.values())


def wireless_snapshot(*ssids):
    slots = [{'number': number, 'name': f'SSID {number}', 'enabled': True, **ssid} for number, ssid in enumerate(ssids)]
    return snapshot(networks=[network(productTypes=['wireless'])], ssids={'N_1': slots})


def test_ssid_security_maps_to_netbox_auth_type_and_cipher():
    cases = [
        ({'authMode': 'open'}, 'open', None),
        ({'authMode': 'open-enhanced'}, 'open', None),
        ({'authMode': 'open-with-nac'}, 'open', None),
        ({'authMode': 'psk', 'encryptionMode': 'wep'}, 'wep', None),
        ({'authMode': 'psk', 'encryptionMode': 'wpa', 'wpaEncryptionMode': 'WPA1 only'}, 'wpa-personal', 'tkip'),
        ({'authMode': 'psk', 'encryptionMode': 'wpa', 'wpaEncryptionMode': 'WPA1 and WPA2'}, 'wpa-personal', 'auto'),
        ({'authMode': 'psk', 'encryptionMode': 'wpa', 'wpaEncryptionMode': 'WPA3 Transition Mode'}, 'wpa-personal',
         'aes'),
        ({'authMode': 'ipsk-with-radius', 'encryptionMode': 'wpa', 'wpaEncryptionMode': 'WPA2 only'}, 'wpa-personal',
         'aes'),
        ({'authMode': '8021x-nac', 'encryptionMode': 'wpa-eap', 'wpaEncryptionMode': 'WPA1 and WPA2'},
         'wpa-enterprise', 'auto'),
        ({'authMode': '8021x-radius', 'encryptionMode': 'wpa-eap', 'wpaEncryptionMode': 'WPA3 192-bit Security'},
         'wpa-enterprise', 'aes'),
        # No WPA mode given: the cipher is not known, so NetBox is not told one.
        ({'authMode': '8021x-meraki'}, 'wpa-enterprise', None),
    ]
    records, problems = map_snapshot(wireless_snapshot(*(ssid for ssid, _, _ in cases)), OPTIONS)
    for number, (ssid, auth_type, cipher) in enumerate(cases):
        values = records['wirelesslan'][f'N_1:{number}'].values
        assert (values['auth_type'], values['auth_cipher']) == (auth_type, cipher), ssid
    assert problems == []


def test_unknown_ssid_security_values_are_left_blank_and_reported_once_each():
    records, problems = map_snapshot(wireless_snapshot(
        {'authMode': 'passkey-2030'},
        {'authMode': 'passkey-2030'},
        {'authMode': 'psk', 'encryptionMode': 'wpa', 'wpaEncryptionMode': 'WPA4 only'},
        {'authMode': 'psk', 'encryptionMode': 'wpa', 'wpaEncryptionMode': 'WPA4 only'},
        {'authMode': 'psk', 'encryptionMode': 'quantum'},
    ), OPTIONS)
    security = [(lan.values['auth_type'], lan.values['auth_cipher']) for lan in records['wirelesslan'].values()]
    assert security == [(None, None), (None, None), ('wpa-personal', None), ('wpa-personal', None),
                        ('wpa-personal', None)]
    assert problems == [
        "SSID authMode 'passkey-2030' is not known to this plugin: left blank on wireless LANs",
        "SSID wpaEncryptionMode 'WPA4 only' is not known to this plugin: left blank on wireless LANs",
        "SSID encryptionMode 'quantum' is not known to this plugin: left blank on wireless LANs",
    ]


def test_lan_ip_without_an_uplink_address_is_the_primary_ip_on_a_management_interface():
    # Listed with an uplink without an address, and listed without uplinks: both are managed at their LAN IP.
    listed = device(serial='Q2AA-AAAA-AAAA', lanIp='10.0.0.2')
    bare = device(serial='Q2BB-BBBB-BBBB', lanIp='10.0.0.3', name='ap-1', model='MR46', productType='wireless')
    records, problems = map_snapshot(snapshot(devices=[listed, bare], uplinks=[
        {'serial': 'Q2AA-AAAA-AAAA', 'uplinks': [{'interface': 'man1', 'addresses': []}]},
        {'serial': 'Q2BB-BBBB-BBBB', 'uplinks': []},
    ]), OPTIONS)
    assert problems == []
    for serial, address, vrf in (('Q2AA-AAAA-AAAA', '10.0.0.2/32', Ref('vrf', 'N_1')),
                                 ('Q2BB-BBBB-BBBB', '10.0.0.3/32', Ref('vrf', 'N_1'))):
        interface = records['interface'][f'{serial}:management'].values
        assert interface == {'device': Ref('device', serial), 'name': 'Management', 'type': 'virtual',
                             'enabled': True, 'mgmt_only': True, 'description': 'Meraki LAN IP'}
        ip = records['ipaddress'][f'{serial}:management:ipv4'].values
        assert (ip['address'], ip['vrf'], ip['assigned_object']) == (
            address, vrf, Ref('interface', f'{serial}:management'))
        assert records['primaryip'][serial].values == {'primary_ip4': Ref('ipaddress', f'{serial}:management:ipv4')}
    assert 'Q2AA-AAAA-AAAA:man1' in records['interface']


def test_a_device_the_uplink_list_leaves_out_keeps_its_addresses():
    # An uplink list that comes back short (a hiccup) must not move every device's primary IP to its LAN IP.
    records, problems = map_snapshot(snapshot(devices=[device(lanIp='10.0.0.2')], uplinks=[]), OPTIONS)
    assert problems == []
    assert records['interface'] == {} and records['ipaddress'] == {} and records['primaryip'] == {}


def test_public_lan_ip_stays_in_the_global_table():
    records, _ = map_snapshot(snapshot(devices=[device(lanIp='8.8.4.4')], uplinks=[LISTED]), OPTIONS)
    assert records['ipaddress']['Q2AA-AAAA-AAAA:management:ipv4'].values['vrf'] is None


def test_lan_ip_on_an_uplink_is_not_added_twice():
    uplinks = [{'serial': 'Q2AA-AAAA-AAAA', 'uplinks': [
        {'interface': 'wan1', 'addresses': [{'protocol': 'ipv4', 'address': '192.0.2.9'}]},
        {'interface': 'man1', 'addresses': [{'protocol': 'ipv4', 'address': '10.0.0.2'}]},
    ]}]
    records, _ = map_snapshot(snapshot(uplinks=uplinks), OPTIONS)
    assert set(records['interface']) == {'Q2AA-AAAA-AAAA:wan1', 'Q2AA-AAAA-AAAA:man1'}
    assert records['primaryip']['Q2AA-AAAA-AAAA'].values == {
        'primary_ip4': Ref('ipaddress', 'Q2AA-AAAA-AAAA:man1:ipv4')}


def test_a_lan_ip_no_uplink_has_is_primary_on_a_management_interface_beside_the_uplinks():
    # A cellular gateway: its uplink has the carrier's address, its LAN IP is where it is managed.
    uplinks = [{'serial': 'Q2AA-AAAA-AAAA', 'uplinks': [
        {'interface': 'cellular', 'addresses': [{'protocol': 'ipv4', 'address': '100.64.1.2'}]},
    ]}]
    records, _ = map_snapshot(snapshot(uplinks=uplinks), OPTIONS)
    assert set(records['interface']) == {'Q2AA-AAAA-AAAA:cellular', 'Q2AA-AAAA-AAAA:management'}
    assert records['ipaddress']['Q2AA-AAAA-AAAA:cellular:ipv4'].values['address'] == '100.64.1.2/32'
    assert records['primaryip']['Q2AA-AAAA-AAAA'].values == {
        'primary_ip4': Ref('ipaddress', 'Q2AA-AAAA-AAAA:management:ipv4')}


def test_an_uplink_ipv4_address_is_primary_without_a_lan_ip():
    uplinks = [{'serial': 'Q2AA-AAAA-AAAA', 'uplinks': [
        {'interface': 'cellular', 'addresses': [{'protocol': 'ipv4', 'address': '100.64.1.2'}]},
    ]}]
    records, _ = map_snapshot(snapshot(devices=[device(lanIp=None)], uplinks=uplinks), OPTIONS)
    assert set(records['interface']) == {'Q2AA-AAAA-AAAA:cellular'}
    assert records['macaddress'] == {} and records['primarymac'] == {}
    assert records['primaryip']['Q2AA-AAAA-AAAA'].values == {
        'primary_ip4': Ref('ipaddress', 'Q2AA-AAAA-AAAA:cellular:ipv4')}


def test_lan_ips_are_left_alone_when_uplinks_could_not_be_read():
    records, _ = map_snapshot(snapshot(uplinks=None), OPTIONS)
    assert records['interface'] == {} and records['ipaddress'] == {} and records['primaryip'] == {}


def test_invalid_lan_ip_is_reported_not_mapped():
    records, problems = map_snapshot(snapshot(devices=[device(lanIp='10.0.0.300')], uplinks=[LISTED]), OPTIONS)
    assert records['interface'] == {} and records['primaryip'] == {}
    assert problems == ["device Q2AA-AAAA-AAAA: invalid LAN IP '10.0.0.300'"]


def test_first_global_ipv6_uplink_address_is_the_primary_ipv6():
    uplinks = [{'serial': 'Q2AA-AAAA-AAAA', 'uplinks': [
        {'interface': 'wan1', 'addresses': [
            {'protocol': 'ipv4', 'address': '10.0.0.2'}, {'protocol': 'ipv6', 'address': 'fe80::1'}]},
        {'interface': 'wan2', 'addresses': [{'protocol': 'ipv6', 'address': '2001:db8:1::5'}]},
    ]}]
    records, problems = map_snapshot(snapshot(uplinks=uplinks), OPTIONS)
    assert problems == []
    assert records['primaryip']['Q2AA-AAAA-AAAA'].values == {
        'primary_ip4': Ref('ipaddress', 'Q2AA-AAAA-AAAA:wan1:ipv4'),
        'primary_ip6': Ref('ipaddress', 'Q2AA-AAAA-AAAA:wan2:ipv6'),
    }


def test_an_address_of_the_wrong_protocol_is_reported():
    uplinks = [{'serial': 'Q2AA-AAAA-AAAA', 'uplinks': [
        {'interface': 'wan1', 'addresses': [{'protocol': 'ipv4', 'address': '2001:db8::2'}]},
    ]}]
    records, problems = map_snapshot(snapshot(devices=[device(lanIp=None)], uplinks=uplinks), OPTIONS)
    assert records['ipaddress'] == {} and records['primaryip'] == {}
    assert problems == ["device Q2AA-AAAA-AAAA wan1: invalid address '2001:db8::2'"]
    assert host_address('2001:db8::2', 'ipv6') == '2001:db8::2/128'
    assert host_address('2001:db8::2', 'ipv4') is None
