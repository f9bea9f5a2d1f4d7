"""Mutations for lived-in NetBox tests: a named neighbour that is not Meraki's; a device moved between organizations."""

import pytest

from meraki_sim import Scale, Simulator

from .helpers import CLIENT, make_api


@pytest.fixture
def two_orgs():
    with Simulator(seed=3, scale=Scale(organizations=2, networks=3, devices=10), rate_limit=0) as simulator:
        yield simulator


def lldp(api, org_id, serial):
    """{port id: {TLV name: value}} of a switch's LLDP neighbours, from the org-wide topology endpoint."""
    switches = api.switch.getOrganizationSwitchPortsTopologyDiscoveryByDevice(org_id, total_pages='all')['items']
    ports = next(switch['ports'] for switch in switches if switch['serial'] == serial)
    return {port['portId']: {tlv['name']: tlv['value'] for tlv in port['lldp']} for port in ports}


def test_a_switch_port_sees_the_named_neighbour_it_is_connected_to(sim, api, org, org_id):
    serial = next(s for s, device in sorted(org.devices.items()) if device['productType'] == 'switch')
    port_id = org.switch_ports[serial][0]['portId']

    link = sim.connect_neighbour(serial, port_id, 'core-sw-01', 'GigabitEthernet1/0/48')

    assert link['b']['systemName'] == 'core-sw-01'
    neighbour = lldp(api, org_id, serial)[port_id]
    assert (neighbour['System name'], neighbour['Port ID']) == ('core-sw-01', 'GigabitEthernet1/0/48')
    cdp = api.devices.getDeviceLldpCdp(serial)['ports'][port_id]['cdp']
    assert (cdp['deviceId'], cdp['portId']) == ('core-sw-01', 'GigabitEthernet1/0/48')
    # Whatever the port was connected to before is unplugged: one link per port.
    assert sum(1 for item in org.links if item['a'] == {'serial': serial, 'portId': port_id}
               or item['b'] == {'serial': serial, 'portId': port_id}) == 1


def test_connect_neighbour_over_http_and_its_errors(sim, org):
    serial = next(s for s, device in sorted(org.devices.items()) if device['productType'] == 'switch')
    url = f'{sim.control_url}/mutations/connect_neighbour'

    def post(port_id, system_name, remote_port):
        body = {'serial': serial, 'portId': port_id, 'systemName': system_name, 'remotePort': remote_port}
        return CLIENT.post(url, json=body)

    answer = post('2', 'dist-sw-01', 'Gi1/0/1')
    assert answer.status_code == 200 and answer.json()['result']['b']['systemName'] == 'dist-sw-01'
    assert post('999', 'x', '1').status_code == 404
    assert post('2', ' ', '1').status_code == 400


def test_a_device_moved_to_another_organization_leaves_the_first(two_orgs):
    api = make_api(two_orgs)
    first, second = two_orgs.org_ids
    orgs = two_orgs.dashboard.orgs
    serial = next(s for s, device in sorted(orgs[first].devices.items()) if device['productType'] == 'switch')
    target = sorted(orgs[second].networks)[0]

    moved = two_orgs.move_device(serial, target)

    assert moved['networkId'] == target
    assert serial not in {d['serial'] for d in api.organizations.getOrganizationDevices(first, total_pages='all')}
    assert serial not in {d['serial'] for d in api.organizations.getOrganizationInventoryDevices(
        first, total_pages='all')}
    in_second = {d['serial']: d for d in api.organizations.getOrganizationDevices(second, total_pages='all')}
    assert in_second[serial]['networkId'] == target
    assert serial in {s['serial'] for s in api.switch.getOrganizationSwitchPortsBySwitch(second, total_pages='all')}
    assert serial in {a['serial'] for a in api.organizations.getOrganizationDevicesAvailabilities(
        second, total_pages='all')}
