"""The simulator's additions for these tests: a key revoked mid-run, and odd data put in as given."""

import json
import urllib.request

import pytest
from meraki.exceptions import APIError

from meraki_sim import Scale, Simulator


@pytest.fixture(scope='module')
def sim():
    with Simulator(seed=3, scale=Scale(networks=2, devices=6), rate_limit=0, api_key='k' * 40) as simulator:
        yield simulator


def control(sim, path, body):
    request = urllib.request.Request(f'{sim.control_url}/{path}', data=json.dumps(body).encode(), method='POST')
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def test_a_key_revoked_after_some_requests_works_until_then(sim):
    api = sim.client(maximum_retries=1)
    org_id = sim.org_ids[0]
    control(sim, 'keys/revoke', {'key': sim.api_key, 'after': 2})
    try:
        api.organizations.getOrganization(org_id)
        api.organizations.getOrganizationNetworks(org_id)
        with pytest.raises(APIError) as refused:
            api.organizations.getOrganizationDevices(org_id)
        assert refused.value.status == 401
    finally:
        sim.backend.revoked.clear()


def test_odd_values_are_served_as_given(sim):
    org = sim.dashboard.orgs[sim.org_ids[0]]
    serial = sorted(org.devices)[0]
    network_id = sorted(org.vlans)[0]
    api = sim.client()

    sim.edit_device(serial, name='x' * 255, model='ZZ-UNKNOWN')
    control(sim, 'mutations/edit_network', {'networkId': network_id, 'name': 'Zürich — 東京'})
    sim.add_vlan(network_id, 4095, 'Reserved', 'not-a-subnet')
    sim.edit_vlan(network_id, 4095, id=0)

    devices = {d['serial']: d for d in api.organizations.getOrganizationDevices(sim.org_ids[0], total_pages='all')}
    assert (devices[serial]['name'], devices[serial]['model']) == ('x' * 255, 'ZZ-UNKNOWN')
    assert api.networks.getNetwork(network_id)['name'] == 'Zürich — 東京'
    vlan = next(v for v in api.appliance.getNetworkApplianceVlans(network_id) if v['name'] == 'Reserved')
    assert (vlan['id'], vlan['subnet']) == (0, 'not-a-subnet')
    # A device of a model the catalog does not know is still served by every endpoint.
    api.switch.getOrganizationSwitchPortsBySwitch(sim.org_ids[0], total_pages='all')
    with pytest.raises(ValueError, match='networkId cannot be edited'):
        sim.edit_device(serial, networkId=network_id)
