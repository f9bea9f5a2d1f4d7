import asyncio
import time

import meraki.aio
import pytest
from meraki.exceptions import APIError

from meraki_sim import Scale, Simulator

from .helpers import CALLER, make_api, raw_get


def test_devices_paged_three_at_a_time_arrive_exactly_once(api, org, org_id):
    devices = api.organizations.getOrganizationDevices(org_id, total_pages='all', perPage=3)
    serials = [device['serial'] for device in devices]
    assert len(serials) == len(set(serials))
    assert set(serials) == set(org.devices)


def test_networks_paged_three_at_a_time_arrive_exactly_once(api, org, org_id):
    networks = api.organizations.getOrganizationNetworks(org_id, total_pages='all', perPage=3)
    assert sorted(network['id'] for network in networks) == sorted(org.networks)


def test_ports_by_switch_paged_arrive_exactly_once(api, org, org_id):
    switches = api.switch.getOrganizationSwitchPortsBySwitch(org_id, total_pages='all', perPage=3)
    expected = {serial for serial, device in org.devices.items() if device['productType'] == 'switch'}
    assert len(switches) == len(expected)
    assert {switch['serial'] for switch in switches} == expected
    for switch in switches:
        assert switch['ports'] == org.switch_ports[switch['serial']]


@pytest.mark.parametrize(
    ('section', 'operation', 'product'),
    [
        ('switch', 'getOrganizationSwitchPortsStatusesBySwitch', 'switch'),
        ('switch', 'getOrganizationSwitchPortsTopologyDiscoveryByDevice', 'switch'),
        ('wireless', 'getOrganizationWirelessSsidsStatusesByDevice', 'wireless'),
    ],
)
def test_items_meta_endpoints_page_exactly_once(api, org, org_id, section, operation, product):
    result = getattr(getattr(api, section), operation)(org_id, total_pages='all', perPage=3)
    serials = [item['serial'] for item in result['items']]
    assert len(serials) == len(set(serials))
    assert set(serials) == {s for s, device in org.devices.items() if device['productType'] == product}
    assert result['meta']['counts']['items']['remaining'] == 0


def test_inventory_includes_unassigned_devices_and_filters_them(api, org, org_id):
    everything = api.organizations.getOrganizationInventoryDevices(org_id, total_pages='all', perPage=3)
    assert {record['serial'] for record in everything} == set(org.inventory)
    unassigned = api.organizations.getOrganizationInventoryDevices(org_id, total_pages='all', usedState='unused')
    assert unassigned
    assert all(record['networkId'] is None for record in unassigned)


def test_configuration_changes_page_backwards_newest_first(api, org, org_id):
    changes = api.organizations.getOrganizationConfigurationChanges(org_id, total_pages='all', perPage=3)
    assert len(changes) == len(org.config_changes)
    stamps = [change['ts'] for change in changes]
    assert stamps == sorted(stamps, reverse=True)


def test_repeatable_filters_narrow_org_wide_lists(api, org, org_id):
    network_ids = sorted(org.networks)[:2]
    devices = api.organizations.getOrganizationDevices(org_id, total_pages='all', perPage=3, networkIds=network_ids)
    assert devices
    assert {device['networkId'] for device in devices} <= set(network_ids)
    expected = {serial for serial, device in org.devices.items() if device['networkId'] in network_ids}
    assert {device['serial'] for device in devices} == expected
    wireless = api.organizations.getOrganizationDevicesAvailabilities(
        org_id, total_pages='all', productTypes=['wireless']
    )
    assert {item['productType'] for item in wireless} == {'wireless'}
    serials = sorted(org.devices)[:4]
    picked = api.organizations.getOrganizationDevicesUplinksAddressesByDevice(org_id, serials=serials)
    assert sorted(item['serial'] for item in picked) == serials


def test_link_header_is_relative_and_carries_filters(sim, org_id):
    response = raw_get(sim, f'/organizations/{org_id}/devices', perPage=3, **{'productTypes[]': 'wireless'})
    links = response.links
    assert set(links) == {'first', 'next', 'last'}
    assert links['next']['url'].startswith(f'/organizations/{org_id}/devices?')
    assert 'productTypes[]=wireless' in links['next']['url']
    second = raw_get(sim, links['next']['url'])
    assert set(second.links) == {'first', 'prev', 'next', 'last'}
    assert not {d['serial'] for d in response.json()} & {d['serial'] for d in second.json()}


def test_per_page_out_of_bounds_is_rejected(api, sim, org_id):
    assert raw_get(sim, f'/organizations/{org_id}/devices', perPage=2).status_code == 400
    assert raw_get(sim, f'/organizations/{org_id}/devices', perPage=5001).status_code == 400
    assert raw_get(sim, f'/organizations/{org_id}/switch/ports/bySwitch', perPage=51).status_code == 400
    assert raw_get(sim, f'/organizations/{org_id}/switch/ports/statuses/bySwitch', perPage=21).status_code == 400
    with pytest.raises(APIError) as error:
        api.organizations.getOrganizationDevices(org_id, perPage=2)
    assert error.value.status == 400


def test_without_per_page_only_the_default_page_comes_back():
    with Simulator(seed=2, scale=Scale(devices=1200, networks=40), rate_limit=0) as sim:
        api = make_api(sim)
        org_id = sim.org_ids[0]
        assert len(api.organizations.getOrganizationDevices(org_id)) == 1000
        assert len(api.organizations.getOrganizationDevices(org_id, total_pages='all')) == 1200


def test_paging_stays_exact_while_devices_are_removed(sim, org, org_id):
    first = raw_get(sim, f'/organizations/{org_id}/devices', perPage=10)
    seen = [device['serial'] for device in first.json()]
    later = sorted(set(org.devices) - set(seen))
    sim.remove_device(later[0])
    url = first.links['next']['url']
    while url:
        page = raw_get(sim, url)
        seen += [device['serial'] for device in page.json()]
        url = page.links.get('next', {}).get('url')
    assert len(seen) == len(set(seen))
    assert set(seen) == set(org.devices)


def test_invalid_page_token_is_rejected(sim, org_id):
    assert raw_get(sim, f'/organizations/{org_id}/devices', startingAfter='not a token!').status_code == 400


def test_the_async_sdk_pages_and_retries_the_same_way():
    with Simulator(seed=1, scale='small', rate_limit=10) as sim:
        org = sim.dashboard.orgs[sim.org_ids[0]]

        async def read():
            async with meraki.aio.AsyncDashboardAPI(
                sim.api_key,
                base_url=sim.base_url,
                output_log=False,
                print_console=False,
                suppress_logging=True,
                caller=CALLER,
                smart_flow_enabled=False,
                smart_flow_cache_path='',
                nginx_429_retry_wait_time=1,
                maximum_retries=5,
            ) as api:
                calls = [api.networks.getNetwork(network_id) for network_id in org.networks for _ in range(5)]
                networks = await asyncio.gather(*calls)
                devices = await api.organizations.getOrganizationDevices(org.id, total_pages='all', perPage=3)
                return networks, devices

        networks, devices = asyncio.run(read())
        assert len(networks) == 5 * len(org.networks)
        assert sim.count_429s()  # the burst went past the limit and the client waited it out
        assert sorted(device['serial'] for device in devices) == sorted(org.devices)


def test_latency_is_added_to_every_response():
    with Simulator(seed=1, scale='small', rate_limit=0, latency_ms=60) as sim:
        started = time.perf_counter()
        raw_get(sim, '/organizations')
        assert time.perf_counter() - started >= 0.06
