"""
A network's addressing: VLANs, or a single LAN when its VLANs are off. Meraki answers the VLAN list with a 400 for
both a single-LAN network and other refusals; the fetch tells them apart by the network's VLAN settings, never by the
wording of the error.
"""

import pytest

from netbox_meraki.fetch import DashboardClient, fetch_organization

VLANS = 'GET /networks/{networkId}/appliance/vlans'
VLANS_SETTINGS = 'GET /networks/{networkId}/appliance/vlans/settings'
SINGLE_LAN = 'GET /networks/{networkId}/appliance/singleLan'


@pytest.fixture
def fetch(simulator, org_id):
    """fetch(): read the organization as a sync does, counting from zero the requests the simulator answers."""
    def read():
        client = DashboardClient(simulator.api_key, simulator.base_url, timeout=5, retries=2, requests_per_second=10)
        simulator.reset_counts()
        try:
            return fetch_organization(client, org_id)
        finally:
            client.close()
    return read


@pytest.fixture
def single_lan(simulator, org_id):
    """A network whose appliance runs a single LAN (VLANs off), as a new network's appliance does."""
    return simulator.add_network(org_id, 'Single LAN branch', ['appliance'])


def appliance_networks(simulator, org_id, vlans_on):
    org = simulator.dashboard.orgs[org_id]
    networks = sorted(network_id for network_id, enabled in org.vlans_enabled.items() if enabled == vlans_on)
    assert networks, f'the simulated organization has no appliance network with VLANs {"on" if vlans_on else "off"}'
    return networks


def test_vlans_are_read_without_asking_their_settings(simulator, org_id, single_lan, fetch):
    with_vlans = appliance_networks(simulator, org_id, vlans_on=True)
    single = appliance_networks(simulator, org_id, vlans_on=False)

    snapshot = fetch()

    assert not snapshot.network_errors
    assert sorted(snapshot.vlans) == with_vlans
    assert sorted(snapshot.single_lan) == single
    counts = simulator.counts()
    assert counts.get(VLANS, 0) == len(with_vlans) + len(single)
    # Only the networks whose VLAN list was refused are asked more.
    assert counts.get(VLANS_SETTINGS, 0) == counts.get(SINGLE_LAN, 0) == len(single)


def test_a_single_lan_is_read_whatever_the_400_says(simulator, org_id, single_lan, fetch):
    simulator.inject('network_error', endpoint=VLANS, network_id=single_lan, status=400,
                     message='This network is configured with a single LAN')

    snapshot = fetch()

    assert single_lan not in snapshot.network_errors.get('vlans', {})
    assert snapshot.single_lan[single_lan] == simulator.dashboard.orgs[org_id].single_lan[single_lan]


def test_a_400_for_a_network_with_vlans_on_is_an_error_not_a_single_lan(simulator, org_id, single_lan, fetch):
    network_id = appliance_networks(simulator, org_id, vlans_on=True)[0]
    single = appliance_networks(simulator, org_id, vlans_on=False)
    # Even worded as Meraki words a single LAN, the refusal is an error: the settings say VLANs are on.
    simulator.inject('network_error', endpoint=VLANS, network_id=network_id, status=400,
                     message='VLANs are not enabled for this network')

    snapshot = fetch()

    error = snapshot.network_errors['vlans'][network_id]
    assert error.startswith(f'getNetworkApplianceVlans of {network_id} failed: HTTP 400')
    assert network_id not in snapshot.vlans and network_id not in snapshot.single_lan
    counts = simulator.counts()
    assert counts.get(VLANS_SETTINGS, 0) == len(single) + 1
    assert counts.get(SINGLE_LAN, 0) == len(single)
