"""Fixtures shared by the test suites: the Meraki simulator and the plugin pointed at it."""

import meraki
import psycopg
import pytest
from django.db import connection

from meraki_sim import Scale, Simulator
from netbox_meraki.locks import organization_lock_key

API_KEY = 'sim-key-0123456789abcdef0123456789abcdef'


# Big enough for every product mix, small enough that a first sync takes seconds. A test that needs the
# generator's full 'small' organization (45 devices, six networks) says so with @pytest.mark.scale('small').
DEFAULT_SCALE = Scale(organizations=1, networks=4, devices=16)


@pytest.fixture
def simulator(request):
    marker = request.node.get_closest_marker('scale')
    scale = marker.args[0] if marker else DEFAULT_SCALE
    with Simulator(seed=7, scale=scale, rate_limit=10, api_key=API_KEY) as sim:
        yield sim


@pytest.fixture
def meraki_config(simulator, settings):
    """Point the plugin at the simulator, as an operator's PLUGINS_CONFIG would point it at Meraki."""
    config = dict(settings.PLUGINS_CONFIG['netbox_meraki'])
    config.update(api_key=simulator.api_key, base_url=simulator.base_url, maximum_retries=3, request_timeout=5,
                  requests_per_second=10)
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_meraki': config}
    return config


@pytest.fixture
def hold_organization_lock(db):
    """
    hold_organization_lock(organization_id): another database session takes the organization's sync lock until the
    test ends, as the live process running a sync of it would. (A run marked running without it reads as dead.)
    """
    other = psycopg.connect(**connection.get_connection_params())

    def hold(organization_id):
        other.execute('SELECT pg_advisory_lock(%s)', [organization_lock_key(organization_id)])

    yield hold
    other.close()


@pytest.fixture
def org_id(simulator):
    return simulator.org_ids[0]


@pytest.fixture
def meraki_view(simulator, org_id):
    """What the simulator holds, read through the SDK the way any client would see it."""
    return MerakiView(simulator, org_id)


class MerakiView:
    def __init__(self, simulator, org_id):
        self.simulator = simulator
        self.org_id = org_id

    def read(self):
        api = meraki.DashboardAPI(
            self.simulator.api_key, base_url=self.simulator.base_url, output_log=False, print_console=False,
            suppress_logging=True, smart_flow_enabled=False, caller='NetBoxMerakiTests/1.0 netbox-meraki',
        )
        organizations = api.organizations
        self.networks = {n['id']: n for n in organizations.getOrganizationNetworks(self.org_id, total_pages='all')}
        self.devices = {
            d['serial']: d for d in organizations.getOrganizationDevices(self.org_id, total_pages='all')
            if d.get('networkId') in self.networks
        }
        self.statuses = {
            a['serial']: a['status']
            for a in organizations.getOrganizationDevicesAvailabilities(self.org_id, total_pages='all')
        }
        self.uplinks = {
            u['serial']: u['uplinks']
            for u in organizations.getOrganizationDevicesUplinksAddressesByDevice(self.org_id, total_pages='all')
            if u['serial'] in self.devices
        }
        self.simulator.reset_counts()
        return self
