"""Fixtures shared by the test suites: the Meraki simulator and the plugin pointed at it."""

import threading

import django_rq
import meraki
import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from meraki_sim import Scale, Simulator
from netbox_meraki.locks import organization_lock_key

API_KEY = 'sim-key-0123456789abcdef0123456789abcdef'
# Fixtures of tests that commit to the test database outside pytest-django's transactions.
COMMITTING_FIXTURES = ('committed', 'committed_db')


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """
    Run the tests that commit (COMMITTING_FIXTURES) before transactional ones (`django_db(transaction=True)`): those
    end by emptying the database (content types, custom fields, tags), and pytest-django orders tests without a
    django_db mark after them.
    """
    def commits(item):
        return any(name in getattr(item, 'fixturenames', ()) for name in COMMITTING_FIXTURES)

    def transactional(item):
        marker = item.get_closest_marker('django_db')
        fixtures = getattr(item, 'fixturenames', ())
        return bool(marker and marker.kwargs.get('transaction')) or 'transactional_db' in fixtures or (
            'live_server' in fixtures)

    committing = [item for item in items if commits(item)]
    others = [item for item in items if not commits(item)]
    first = next((number for number, item in enumerate(others) if transactional(item)), len(others))
    items[:] = others[:first] + committing + others[first:]


@pytest.fixture(scope='session')
def test_database(django_db_setup, django_db_blocker):
    """
    The test database, also when no test of the session asks pytest-django for one (it sets a database up only for
    tests marked django_db): without it, tests that commit would run against the development database.
    """
    from django.test.utils import setup_databases, teardown_databases

    if connection.settings_dict['NAME'] == connection.creation._get_test_db_name():
        yield
        return
    with django_db_blocker.unblock():
        databases = setup_databases(verbosity=0, interactive=False, aliases={'default'})
    yield
    with django_db_blocker.unblock():
        teardown_databases(databases, verbosity=0)


def clear_task_queues():
    for name in django_settings.RQ_QUEUES:
        rq_queue = django_rq.get_queue(name)
        rq_queue.empty()
        for registry in (rq_queue.scheduled_job_registry, rq_queue.deferred_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)


class Trigger(threading.Thread):
    """
    A trigger on a thread of its own (with its own database connection), which keeps what came of it. With a
    barrier, it starts when the barrier's other parties do (the barrier's own timeout bounds the wait).
    """

    def __init__(self, target, barrier=None):
        super().__init__(daemon=True)
        self.target, self.barrier = target, barrier
        self.result = self.error = None

    def run(self):
        try:
            if self.barrier:
                self.barrier.wait()
            self.result = self.target()
        except Exception as exc:
            self.error = exc
        finally:
            connection.close()


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
