import pytest
from meraki.exceptions import APIError


def devices_by_serial(api, org_id):
    return {device['serial']: device for device in api.organizations.getOrganizationDevices(org_id, total_pages='all')}


def test_renamed_device_is_visible(sim, api, org, org_id):
    serial = sorted(org.devices)[0]
    assert sim.rename_device(serial, 'renamed-01')['name'] == 'renamed-01'
    assert devices_by_serial(api, org_id)[serial]['name'] == 'renamed-01'
    assert api.devices.getDevice(serial)['name'] == 'renamed-01'
    changes = api.organizations.getOrganizationConfigurationChanges(org_id, perPage=3)
    assert changes[0]['label'] == 'Device name' and changes[0]['newValue'] == 'renamed-01'


def test_removed_device_leaves_the_network_but_stays_in_inventory(sim, api, org, org_id):
    serial = next(s for s, device in org.devices.items() if device['productType'] == 'switch')
    network_id = org.devices[serial]['networkId']
    sim.remove_device(serial)
    assert serial not in devices_by_serial(api, org_id)
    inventory = {r['serial']: r for r in api.organizations.getOrganizationInventoryDevices(org_id, total_pages='all')}
    assert inventory[serial]['networkId'] is None
    assert serial not in {d['serial'] for d in api.networks.getNetworkDevices(network_id)}
    assert all(serial not in (link['a']['serial'], link['b']['serial']) for link in org.links)
    with pytest.raises(APIError):
        api.devices.getDevice(serial)


def test_added_device_appears_with_its_product(sim, api, org, org_id):
    network_id = next(n for n, network in org.networks.items() if network['productTypes'] == ['wireless'])
    serial = sim.add_device(network_id, model='MS120-8LP', name='new-switch')
    assert devices_by_serial(api, org_id)[serial]['name'] == 'new-switch'
    assert 'switch' in api.networks.getNetwork(network_id)['productTypes']
    assert len(api.switch.getDeviceSwitchPorts(serial)) == 10
    statuses = api.organizations.getOrganizationDevicesAvailabilities(org_id, total_pages='all', serials=[serial])
    assert statuses[0]['status'] == 'online'


def test_moved_device_changes_network(sim, api, org, org_id):
    serial = sorted(org.devices)[0]
    target = next(n for n in sorted(org.networks) if n != org.devices[serial]['networkId'])
    sim.move_device(serial, target)
    assert devices_by_serial(api, org_id)[serial]['networkId'] == target
    assert api.devices.getDeviceLldpCdp(serial)['ports'] == {}


def test_network_rename_remove_and_add(sim, api, org, org_id):
    first, second = sorted(org.networks)[:2]
    sim.rename_network(first, 'Renamed Site')
    assert api.networks.getNetwork(first)['name'] == 'Renamed Site'
    orphans = sim.remove_network(second)['unassigned']
    assert second not in {n['id'] for n in api.organizations.getOrganizationNetworks(org_id, total_pages='all')}
    assert not set(orphans) & set(devices_by_serial(api, org_id))
    with pytest.raises(APIError) as error:
        api.networks.getNetwork(second)
    assert error.value.status == 404
    new = sim.add_network(org_id, 'Pop-up Store', ['appliance', 'wireless'])
    assert api.networks.getNetwork(new)['productTypes'] == ['appliance', 'wireless']
    assert new.startswith('L_')
    assert len(api.wireless.getNetworkWirelessSsids(new)) == 15
    assert api.appliance.getNetworkApplianceVlansSettings(new) == {'vlansEnabled': False}
    with pytest.raises(ValueError):
        sim.add_network(org_id, 'Pop-up Store', ['wireless'])


def test_vlan_subnet_change_is_visible(sim, api, org):
    network_id = next(n for n, enabled in org.vlans_enabled.items() if enabled)
    vlan_id = org.vlans[network_id][0]['id']
    sim.set_vlan_subnet(network_id, vlan_id, '172.31.5.0/24')
    vlan = api.appliance.getNetworkApplianceVlans(network_id)[0]
    assert (vlan['subnet'], vlan['applianceIp']) == ('172.31.5.0/24', '172.31.5.1')


def test_ssid_changes_are_visible(sim, api, org):
    network_id = next(iter(org.ssids))
    sim.rename_ssid(network_id, 0, 'Staff')
    sim.disable_ssid(network_id, 0)
    ssid = api.wireless.getNetworkWirelessSsids(network_id)[0]
    assert (ssid['name'], ssid['enabled']) == ('Staff', False)


def test_port_vlan_change_is_visible(sim, api, org):
    serial = next(iter(org.switch_ports))
    sim.set_port_vlans(serial, '3', vlan=30, allowed_vlans='1,30', type='trunk')
    port = next(p for p in api.switch.getDeviceSwitchPorts(serial) if p['portId'] == '3')
    assert (port['type'], port['vlan'], port['allowedVlans']) == ('trunk', 30, '1,30')


def test_recable_and_remove_link_show_in_lldp(sim, api, org):
    switch, other = [s for s, device in org.devices.items() if device['productType'] == 'switch'][:2]
    sim.recable(switch, '5', other, '6')
    neighbour = api.devices.getDeviceLldpCdp(switch)['ports']['5']['lldp']
    assert neighbour['chassisId'] == org.devices[other]['mac'] and neighbour['portId'] == '6'
    assert api.devices.getDeviceLldpCdp(other)['ports']['6']['cdp']['portId'] == 'Port 5'
    sim.remove_link(switch, '5')
    assert '5' not in api.devices.getDeviceLldpCdp(switch)['ports']


def test_device_status_change_is_visible(sim, api, org, org_id):
    serial = sorted(org.devices)[0]
    sim.set_device_status(serial, 'offline')
    statuses = api.organizations.getOrganizationDevicesAvailabilities(org_id, total_pages='all', serials=[serial])
    assert statuses[0]['status'] == 'offline'
    with pytest.raises(ValueError):
        sim.set_device_status(serial, 'sleepy')


def test_unknown_ids_raise_lookup_error(sim):
    with pytest.raises(LookupError):
        sim.rename_device('Q2XX-0000-0000', 'x')
    with pytest.raises(LookupError):
        sim.rename_network('N_0', 'x')


def switches_of(org, network_id):
    return sorted(s for s, device in org.devices.items()
                  if device['networkId'] == network_id and device['productType'] == 'switch')


def test_switch_stacks_are_created_renamed_thinned_and_deleted_through_the_log(sim, api, org, org_id):
    network_id = max(sorted(org.networks), key=lambda n: len(switches_of(org, n)))
    while len(switches_of(org, network_id)) < 3:
        sim.add_device(network_id, model='MS120-8LP')
    serials = switches_of(org, network_id)[:3]
    stack = sim.create_switch_stack(network_id, 'Core', [serials[2], serials[0], serials[1]])
    (listed,) = api.switch.getNetworkSwitchStacks(network_id)
    assert listed['id'] == stack['id'] and listed['name'] == 'Core'
    assert listed['serials'] == [serials[2], serials[0], serials[1]]
    assert [member['serial'] for member in listed['members']] == listed['serials']
    with pytest.raises(ValueError):
        sim.create_switch_stack(network_id, 'Again', serials[:2])  # already stacked

    sim.rename_switch_stack(network_id, stack['id'], 'Core A')
    sim.remove_switch_from_stack(network_id, stack['id'], serials[0])
    sim.remove_device(serials[1])  # a switch leaving its network leaves its stack too
    (listed,) = api.switch.getNetworkSwitchStacks(network_id)
    assert (listed['name'], listed['serials']) == ('Core A', [serials[2]])

    sim.delete_switch_stack(network_id, stack['id'])
    assert api.switch.getNetworkSwitchStacks(network_id) == []
    changes = api.organizations.getOrganizationConfigurationChanges(org_id, perPage=10)
    labels = [change['label'] for change in changes if change['networkId'] == network_id]
    assert labels[:5] == ['Switch stack deleted', 'Device removed', 'Switch stack member removed',
                          'Switch stack name', 'Switch stack created']

