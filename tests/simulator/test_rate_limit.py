import time
from concurrent.futures import ThreadPoolExecutor

from meraki_sim import Simulator

from .helpers import make_api, raw_get


def test_a_burst_past_the_limit_gets_429_with_an_integer_retry_after():
    with Simulator(seed=1, rate_limit=10) as sim:
        org_id = sim.org_ids[0]
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda _: raw_get(sim, f'/organizations/{org_id}/networks'), range(40)))
        limited = [response for response in responses if response.status_code == 429]
        assert 10 <= len(responses) - len(limited) <= 25  # 10/s plus a burst of 10
        assert limited
        assert all(int(response.headers['Retry-After']) >= 1 for response in limited)
        assert limited[0].json() == {'errors': ['API rate limit exceeded for organization']}
        assert sim.count_429s() == len(limited)
        assert sim.counts()['GET /organizations/{organizationId}/networks'] == 40


def test_the_sdk_honours_retry_after_and_every_call_succeeds():
    with Simulator(seed=1, rate_limit=10) as sim:
        api = make_api(sim, maximum_retries=5)
        org_id = sim.org_ids[0]
        started = time.monotonic()
        results = [api.organizations.getOrganization(org_id) for _ in range(28)]
        elapsed = time.monotonic() - started
        assert all(result['id'] == org_id for result in results)
        assert sim.count_429s() >= 1
        assert elapsed >= 1  # the SDK slept Retry-After before retrying
        assert sim.total_requests() == 28 + sim.count_429s()


def test_network_and_device_calls_are_charged_to_their_organization():
    with Simulator(seed=1, rate_limit=10) as sim:
        # Time stands still for the limiter: the organization's 20 tokens (10/s plus a burst of 10) are not refilled
        # while the requests are sent, however slowly the machine sends them.
        sim.backend.limiter.clock = lambda: 0.0
        org = sim.dashboard.orgs[sim.org_ids[0]]
        network_id, serial = next(iter(org.networks)), next(iter(org.devices))
        statuses = [raw_get(sim, f'/networks/{network_id}').status_code for _ in range(10)]
        statuses += [raw_get(sim, f'/devices/{serial}').status_code for _ in range(10)]
        assert statuses == [200] * 20
        assert raw_get(sim, f'/organizations/{org.id}').status_code == 429


def test_the_per_ip_limit_applies_across_organizations():
    with Simulator(seed=1, rate_limit=0, ip_rate_limit=5) as sim:
        sim.backend.limiter.clock = lambda: 0.0  # no refill while the requests are sent: exactly 5 get through
        statuses = [raw_get(sim, '/organizations').status_code for _ in range(8)]
        assert statuses == [200] * 5 + [429] * 3
        assert 'IP address' in raw_get(sim, '/organizations').json()['errors'][0]


def test_rate_limit_zero_switches_limits_off(sim):
    assert all(raw_get(sim, '/organizations').status_code == 200 for _ in range(150))


def test_smart_flow_throttles_the_client_and_looks_networks_up():
    """The SDK's smart flow keeps under the limit on its own, at the price of extra look-up calls."""
    with Simulator(seed=1, rate_limit=10) as sim:
        api = make_api(sim, smart_flow_enabled=True, smart_flow_cache_path='')
        org = sim.dashboard.orgs[sim.org_ids[0]]
        network_id = sorted(org.networks)[0]
        for _ in range(25):
            api.organizations.getOrganization(org.id)
        assert sim.count_429s() == 0
        sim.reset_counts()
        api.networks.getNetwork(network_id)
        counts = sim.counts()
        # an unknown network id costs a look-up of the network and a load of the org's networks and inventory
        assert counts['GET /networks/{networkId}'] == 2
        assert counts['GET /organizations/{organizationId}/networks'] == 1
        assert counts['GET /organizations/{organizationId}/inventoryDevices'] == 1  # a path Meraki does not have
        sim.reset_counts()
        serial = sorted(org.devices)[0]
        api.devices.getDevice(serial)
        api.devices.getDevice(serial)
        # a device body has no organizationId, so every device call is preceded by a look-up of the device
        assert sim.counts() == {'GET /devices/{serial}': 4}
