import pytest
from meraki.exceptions import APIError

from meraki_sim import Scale, Simulator, generate

from .helpers import make_api, raw_get


@pytest.fixture
def two_orgs():
    """Two organizations; 'other-key' sees only the second."""
    dashboard = generate(4, Scale(organizations=2, devices=20))
    with Simulator(dashboard=dashboard, rate_limit=0, api_keys={'other-key': [dashboard.org_ids[1]]}) as simulator:
        yield simulator


def test_wrong_key_is_answered_401(sim):
    api = make_api(sim, api_key='not-the-key')
    with pytest.raises(APIError) as error:
        api.organizations.getOrganizations()
    assert error.value.status == 401
    assert raw_get(sim, '/organizations', api_key='nope').json() == {'errors': ['Invalid API key']}


def test_missing_key_is_answered_401(sim):
    assert raw_get(sim, '/organizations', headers={}).status_code == 401


def test_both_auth_headers_are_accepted(sim):
    assert raw_get(sim, '/organizations', headers={'Authorization': f'Bearer {sim.api_key}'}).status_code == 200
    assert raw_get(sim, '/organizations', headers={'X-Cisco-Meraki-API-Key': sim.api_key}).status_code == 200


def test_a_key_sees_only_its_organizations(two_orgs):
    first, second = two_orgs.org_ids
    assert [org['id'] for org in make_api(two_orgs).organizations.getOrganizations()] == sorted([first, second])
    api = make_api(two_orgs, api_key='other-key')
    assert [org['id'] for org in api.organizations.getOrganizations()] == [second]
    assert api.organizations.getOrganizationDevices(second)
    hidden_network = next(iter(two_orgs.dashboard.orgs[first].networks))
    hidden_serial = next(iter(two_orgs.dashboard.orgs[first].devices))
    for call in (
        lambda: api.organizations.getOrganization(first),
        lambda: api.organizations.getOrganizationDevices(first),
        lambda: api.networks.getNetwork(hidden_network),
        lambda: api.devices.getDevice(hidden_serial),
    ):
        with pytest.raises(APIError) as error:
            call()
        assert error.value.status == 404


def test_unknown_ids_are_answered_404(api, sim):
    for call in (
        lambda: api.organizations.getOrganization('999999999'),
        lambda: api.networks.getNetwork('N_000'),
        lambda: api.networks.getNetworkDevices('L_000'),
        lambda: api.devices.getDevice('Q2XX-0000-0000'),
    ):
        with pytest.raises(APIError) as error:
            call()
        assert error.value.status == 404
    assert raw_get(sim, '/nothing/here').status_code == 404


def test_unassigned_device_has_no_device_endpoint(api, org):
    spare = next(serial for serial, record in org.inventory.items() if record['networkId'] is None)
    with pytest.raises(APIError) as error:
        api.devices.getDevice(spare)
    assert error.value.status == 404


def test_a_revoked_key_is_answered_401_from_then_on(api, sim):
    assert api.organizations.getOrganizations()
    sim.revoke_key(sim.api_key)
    with pytest.raises(APIError) as error:
        api.organizations.getOrganizations()
    assert error.value.status == 401


def test_product_missing_from_the_network_is_answered_400(api, org):
    no_wireless = next(n for n, network in org.networks.items() if 'wireless' not in network['productTypes'])
    no_appliance = next(n for n, network in org.networks.items() if 'appliance' not in network['productTypes'])
    with pytest.raises(APIError) as error:
        api.wireless.getNetworkWirelessSsids(no_wireless)
    assert error.value.status == 400
    with pytest.raises(APIError) as error:
        api.appliance.getNetworkApplianceVlans(no_appliance)
    assert error.value.status == 400


def test_vlans_of_a_single_lan_network_are_answered_400(api, org):
    single = next(n for n, enabled in org.vlans_enabled.items() if not enabled)
    with pytest.raises(APIError) as error:
        api.appliance.getNetworkApplianceVlans(single)
    assert error.value.status == 400
    assert error.value.message == {'errors': ['VLANs are not enabled for this network']}
    assert api.appliance.getNetworkApplianceVlansSettings(single) == {'vlansEnabled': False}
    assert api.appliance.getNetworkApplianceSingleLan(single) == org.single_lan[single]
