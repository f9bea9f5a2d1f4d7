import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
from meraki.exceptions import APIError

from .helpers import make_api, raw_get

DEVICES = 'GET /organizations/{organizationId}/devices'
VLANS = 'GET /networks/{networkId}/appliance/vlans'


def vlan_networks(org):
    return sorted(network_id for network_id, enabled in org.vlans_enabled.items() if enabled)


def test_server_error_is_retried_by_the_sdk_until_it_passes(sim, api, org_id):
    sim.inject('server_error', endpoint=DEVICES, count=1, status=503)
    assert api.organizations.getOrganizationDevices(org_id)
    assert sim.counts()[DEVICES] == 2


def test_persistent_server_error_surfaces_as_api_error(sim, org_id):
    sim.inject('server_error', endpoint=DEVICES)
    with pytest.raises(APIError) as error:
        make_api(sim, maximum_retries=1).organizations.getOrganizationDevices(org_id)
    assert error.value.status == 500


def test_server_error_share_hits_that_share_of_requests(sim, org_id):
    sim.inject('server_error', endpoint=DEVICES, share=0.5)
    statuses = [raw_get(sim, f'/organizations/{org_id}/devices').status_code for _ in range(10)]
    assert statuses.count(500) == 5
    assert raw_get(sim, f'/organizations/{org_id}/networks').status_code == 200


def test_rate_limit_storm_answers_429_then_passes(sim, api, org_id):
    sim.inject('rate_limit_storm', count=2)
    response = raw_get(sim, f'/organizations/{org_id}')
    assert response.status_code == 429
    assert response.headers['Retry-After'] == '1'
    assert api.organizations.getOrganization(org_id)['id'] == org_id
    assert sim.count_429s() == 2


def test_rate_limit_storm_for_some_seconds(sim, org_id):
    sim.inject('rate_limit_storm', seconds=0.3)
    assert all(raw_get(sim, f'/organizations/{org_id}').status_code == 429 for _ in range(5))
    time.sleep(0.35)
    assert raw_get(sim, f'/organizations/{org_id}').status_code == 200


def test_timeout_hangs_past_the_client_timeout_then_the_retry_succeeds(sim, org_id):
    # The retry has the client's whole timeout to be answered, with room to spare on a loaded machine.
    sim.inject('timeout', endpoint=DEVICES, seconds=6, count=1)
    api = make_api(sim, single_request_timeout=3)
    assert api.organizations.getOrganizationDevices(org_id)
    assert sim.counts()[DEVICES] == 2


def test_malformed_json_is_not_json_and_the_sdk_retries(sim, api, org_id):
    sim.inject('malformed_json', endpoint=DEVICES, count=1)
    response = raw_get(sim, f'/organizations/{org_id}/devices')
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    sim.inject('malformed_json', endpoint=DEVICES, count=1)
    assert api.organizations.getOrganizationDevices(org_id)


def test_truncated_body_breaks_the_connection_and_the_sdk_retries(sim, api, org_id):
    sim.inject('truncated', endpoint=DEVICES, count=1)
    url = urlsplit(f'{sim.base_url}/organizations/{org_id}/devices')
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    connection.request('GET', url.path, headers={'Authorization': f'Bearer {sim.api_key}'})
    with pytest.raises(http.client.IncompleteRead):
        connection.getresponse().read()
    connection.close()
    sim.inject('truncated', endpoint=DEVICES, count=1)
    assert api.organizations.getOrganizationDevices(org_id)


def test_network_error_hits_one_network_only(sim, org):
    broken, *others = vlan_networks(org)
    sim.inject('network_error', endpoint=VLANS, network_id=broken, status=500)
    assert raw_get(sim, f'/networks/{broken}/appliance/vlans').status_code == 500
    assert others
    for network_id in others:
        assert raw_get(sim, f'/networks/{network_id}/appliance/vlans').status_code == 200
    assert raw_get(sim, f'/networks/{broken}/appliance/vlans/settings').status_code == 200


def test_network_scoped_fault_covers_that_networks_device_calls(sim, org):
    network_id = next(iter(org.networks))
    serial = next(s for s, device in org.devices.items() if device['networkId'] == network_id)
    other = next(s for s, device in org.devices.items() if device['networkId'] != network_id)
    sim.inject('server_error', network_id=network_id, status=502)
    assert raw_get(sim, f'/devices/{serial}').status_code == 502
    assert raw_get(sim, f'/devices/{other}').status_code == 200


def test_empty_list_for_an_endpoint(sim, api, org_id):
    sim.inject('empty_list', endpoint=DEVICES)
    assert api.organizations.getOrganizationDevices(org_id, total_pages='all') == []
    assert api.organizations.getOrganizationNetworks(org_id)


def test_empty_list_for_one_network_of_an_org_wide_list(sim, api, org, org_id):
    network_id = sorted(org.networks)[0]
    sim.inject('empty_list', endpoint=DEVICES, network_id=network_id)
    devices = api.organizations.getOrganizationDevices(org_id, total_pages='all', perPage=3)
    assert {device['serial'] for device in devices} == {
        serial for serial, device in org.devices.items() if device['networkId'] != network_id
    }


def test_empty_list_for_one_network_of_a_network_endpoint(sim, api, org):
    broken = vlan_networks(org)[0]
    sim.inject('empty_list', endpoint=VLANS, network_id=broken)
    assert api.appliance.getNetworkApplianceVlans(broken) == []
    topology = 'GET /networks/{networkId}/topology/linkLayer'
    sim.inject('empty_list', endpoint=topology, network_id=broken)
    assert api.networks.getNetworkTopologyLinkLayer(broken)['links'] == []


def test_missing_link_header_loses_the_rest_of_the_pages(sim, api, org, org_id):
    sim.inject('missing_link', endpoint=DEVICES, count=1)
    devices = api.organizations.getOrganizationDevices(org_id, total_pages='all', perPage=5)
    assert len(devices) == 5 < len(org.devices)
    assert len(api.organizations.getOrganizationDevices(org_id, total_pages='all', perPage=5)) == len(org.devices)


def test_faults_can_be_cleared(sim, org_id):
    sim.inject('server_error')
    assert raw_get(sim, f'/organizations/{org_id}').status_code == 500
    sim.clear_faults()
    assert raw_get(sim, f'/organizations/{org_id}').status_code == 200


def test_unknown_fault_kind_is_refused(sim):
    with pytest.raises(ValueError):
        sim.inject('gremlins')
    with pytest.raises(ValueError):
        sim.inject('network_error', endpoint=VLANS)
