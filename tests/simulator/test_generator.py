import ipaddress
import json
import re
from collections import Counter

import pytest

from meraki_sim import Scale, generate
from meraki_sim.catalog import model_info

SERIAL = re.compile(r'^Q2[0-9A-Z]{2}-[0-9A-Z]{4}-[0-9A-Z]{4}$')


def dump(dashboard):
    return json.dumps({org_id: vars(org) | {'_cache': None} for org_id, org in dashboard.orgs.items()}, sort_keys=True)


def test_same_seed_and_scale_give_identical_data():
    assert dump(generate(7, 'small')) == dump(generate(7, 'small'))


def test_different_seeds_give_different_data():
    assert dump(generate(7, 'small')) != dump(generate(8, 'small'))


def test_small_scale_is_one_organization_of_a_few_networks():
    dashboard = generate(0, 'small')
    assert len(dashboard.orgs) == 1
    org = next(iter(dashboard.orgs.values()))
    assert 5 <= len(org.networks) <= 8
    assert 30 <= len(org.devices) <= 60


@pytest.mark.parametrize('devices', [100, 1000])
def test_explicit_scale_hits_the_device_count(devices):
    dashboard = generate(3, Scale(organizations=2, devices=devices))
    assert len(dashboard.orgs) == 2
    for org in dashboard.orgs.values():
        assert abs(len(org.devices) - devices) <= devices * 0.1


def test_every_family_and_product_mix_is_present():
    org = next(iter(generate(0, 'small').orgs.values()))
    families = {model_info(device['model']).family for device in org.devices.values()}
    assert families == {'MX', 'Z', 'MS', 'MR', 'MG', 'MV', 'MT'}
    mixes = {tuple(network['productTypes']) for network in org.networks.values()}
    assert ('wireless',) in mixes
    assert ('camera', 'sensor') in mixes
    assert any({'appliance', 'switch', 'wireless'} <= set(mix) for mix in mixes)
    combined = [n for n in org.networks.values() if len(n['productTypes']) > 1]
    assert all(network['id'].startswith('L_') for network in combined)


def test_serials_and_macs_are_unique_and_meraki_shaped():
    dashboard = generate(5, Scale(organizations=2, devices=1000))
    serials = [serial for org in dashboard.orgs.values() for serial in org.inventory]
    macs = [record['mac'] for org in dashboard.orgs.values() for record in org.inventory.values()]
    assert len(set(serials)) == len(serials)
    assert len(set(macs)) == len(macs)
    assert all(SERIAL.match(serial) for serial in serials)


def test_devices_reference_their_network_and_inventory():
    org = next(iter(generate(2, 'medium').orgs.values()))
    for serial, device in org.devices.items():
        assert device['networkId'] in org.networks
        assert org.inventory[serial]['networkId'] == device['networkId']
        assert device['productType'] in org.networks[device['networkId']]['productTypes']
    unassigned = [record for record in org.inventory.values() if record['networkId'] is None]
    assert unassigned


def test_medium_scale_has_the_awkward_cases_a_sync_must_handle():
    org = next(iter(generate(2, 'medium').orgs.values()))
    assert any(device['name'] in ('', None) for device in org.devices.values())
    assert set(org.statuses.values()) == {'online', 'offline', 'alerting', 'dormant'}
    assert any(not enabled for enabled in org.vlans_enabled.values())
    subnets = Counter(vlan['subnet'] for vlans in org.vlans.values() for vlan in vlans)
    assert subnets['192.168.1.0/24'] > 1  # the same RFC 1918 plan at several sites
    for vlans in org.vlans.values():
        for vlan in vlans:
            assert ipaddress.ip_address(vlan['applianceIp']) in ipaddress.ip_network(vlan['subnet'])
    ports = [port for ports in org.switch_ports.values() for port in ports]
    assert {port['type'] for port in ports} == {'access', 'trunk'}
    assert any(port['voiceVlan'] for port in ports)
    assert any(not port['enabled'] for port in ports)
    assert any(port['allowedVlans'] not in ('all', None) and port['type'] == 'trunk' for port in ports)


def test_every_wireless_network_has_fifteen_ssids_some_enabled():
    org = next(iter(generate(4, 'medium').orgs.values()))
    for network_id, network in org.networks.items():
        if 'wireless' not in network['productTypes']:
            assert network_id not in org.ssids
            continue
        ssids = org.ssids[network_id]
        assert [ssid['number'] for ssid in ssids] == list(range(15))
        assert 1 <= sum(ssid['enabled'] for ssid in ssids) <= 4


def test_links_join_existing_ports_and_include_foreign_neighbours():
    org = next(iter(generate(4, 'medium').orgs.values()))
    foreign = 0
    seen = set()
    for link in org.links:
        for end in (link['a'], link['b']):
            if end['serial'] is None:
                foreign += 1
                continue
            model = model_info(org.devices[end['serial']]['model'])
            if model.family == 'MS':
                assert end['portId'] in model.ports
            key = (end['serial'], end['portId'])
            assert key not in seen, 'a port is cabled twice'
            seen.add(key)
    assert foreign
    families = {
        frozenset(model_info(org.devices[end['serial']]['model']).family for end in (link['a'], link['b']))
        for link in org.links
        if link['a']['serial'] and link['b']['serial']
    }
    assert {frozenset({'MX', 'MS'}), frozenset({'MS'}), frozenset({'MS', 'MR'}), frozenset({'MS', 'MV'})} <= families


def test_switch_ports_cabled_to_access_points_are_trunks():
    org = next(iter(generate(4, 'medium').orgs.values()))
    ports = {(serial, port['portId']): port for serial, ports in org.switch_ports.items() for port in ports}
    for link in org.links:
        for own, other in ((link['a'], link['b']), (link['b'], link['a'])):
            if (own['serial'], own['portId']) in ports and other['serial']:
                if org.devices[other['serial']]['productType'] == 'wireless':
                    assert ports[(own['serial'], own['portId'])]['type'] == 'trunk'


def test_generated_stacks_are_switches_of_their_network():
    stacks = 0
    for seed in (3, 7):
        for org in generate(seed=seed, scale='small').orgs.values():
            for network_id, network_stacks in org.stacks.items():
                switches = {serial for serial, device in org.devices.items()
                            if device['networkId'] == network_id and device['productType'] == 'switch'}
                for stack in network_stacks:
                    stacks += 1
                    assert 2 <= len(stack['serials']) <= 4
                    assert set(stack['serials']) <= switches
    assert stacks
