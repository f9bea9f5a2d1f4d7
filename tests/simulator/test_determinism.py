from meraki_sim import Simulator

from .helpers import raw_get

ORG_PATHS = (
    '',
    '/networks',
    '/devices',
    '/devices/availabilities',
    '/devices/statuses',
    '/inventory/devices',
    '/devices/uplinks/addresses/byDevice',
    '/appliance/uplink/statuses',
    '/switch/ports/bySwitch',
    '/switch/ports/statuses/bySwitch',
    '/switch/ports/topology/discovery/byDevice',
    '/wireless/ssids/statuses/byDevice',
    '/firmware/upgrades/byDevice',
    '/configurationChanges',
    '/licenses',
)
NETWORK_PATHS = ('', '/devices', '/wireless/ssids', '/topology/linkLayer', '/firmwareUpgrades', '/appliance/vlans')
DEVICE_PATHS = ('', '/lldpCdp', '/managementInterface', '/switch/ports')


def bodies(sim):
    org = sim.dashboard.orgs[sim.org_ids[0]]
    paths = ['/organizations'] + [f'/organizations/{org.id}{path}' for path in ORG_PATHS]
    paths += [f'/networks/{network_id}{path}' for network_id in sorted(org.networks) for path in NETWORK_PATHS]
    paths += [f'/devices/{serial}{path}' for serial in sorted(org.devices)[:10] for path in DEVICE_PATHS]
    responses = {}
    for path in paths:
        paged = {'perPage': 3} if path.startswith('/organizations/') and path.count('/') > 2 else {}
        response = raw_get(sim, path, **paged)
        assert response.status_code in (200, 400), path  # 400: e.g. VLANs of a network without VLANs
        responses[path] = response.content
    return responses


def test_same_seed_gives_byte_identical_responses():
    with Simulator(seed=11, scale='small', rate_limit=0) as one, Simulator(seed=11, scale='small', rate_limit=0) as two:
        assert bodies(one) == bodies(two)


def test_another_seed_gives_other_responses():
    with Simulator(seed=11, scale='small', rate_limit=0) as one, Simulator(seed=12, scale='small', rate_limit=0) as two:
        assert raw_get(one, '/organizations').content != raw_get(two, '/organizations').content
