"""
Fixtures and checks of the reliability tests: what NetBox holds for an organization, whether it is what Meraki
says, whether a run lost anything, and committed data for tests whose threads or child processes share the database.

`make test` runs the randomized tests with a few examples and trials; `make soak` (NETBOX_MERAKI_SOAK=1) with many.
"""

import copy
import os
import random

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import override_settings

from core.models import Job, ObjectChange
from dcim.models import (
    Cable,
    Device,
    DeviceRole,
    DeviceType,
    Interface,
    MACAddress,
    Manufacturer,
    Platform,
    Site,
    SiteGroup,
    VirtualChassis,
)
from extras.models import CustomField
from ipam.models import VLAN, VRF, IPAddress, Prefix, VLANGroup
from tenancy.models import Tenant
from users.models import ObjectPermission, Token, User
from wireless.models import WirelessLAN, WirelessLANGroup

from meraki_sim import Scale, Simulator
from netbox_meraki.choices import DeletePolicyChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.fetch import fetch_organization
from netbox_meraki.kinds import KINDS, UPDATE_KINDS, to_json
from netbox_meraki.mapping import KIND_ORDER, REFERENCE_KINDS, map_snapshot
from netbox_meraki.models import DEFAULT_ROLE_NAMES, Change, NetworkRead, PluginSettings, SyncedObject, SyncRun
from netbox_meraki.plan import NetBoxState
from netbox_meraki.sync import MerakiSyncService, apply_review, approve_changes, dashboard_client, mapping_options

from ..conftest import API_KEY, clear_task_queues

SOAK = os.environ.get('NETBOX_MERAKI_SOAK') == '1'
# Kinds the plugin owns, and the primary IP and MAC (updates of the device and interface), in apply order.
OWNED_KINDS = tuple(kind for kind in KIND_ORDER if kind not in REFERENCE_KINDS)
# The NetBox models the plugin writes, in an order they can be deleted in.
WRITTEN_MODELS = (
    Cable, IPAddress, MACAddress, VirtualChassis, Device, Interface, Prefix, WirelessLAN, VLAN, VLANGroup,
    WirelessLANGroup, VRF, Site, SiteGroup, Tenant, DeviceType, Platform, Manufacturer, DeviceRole,
)
# A small organization for tests that sync many times: three networks of every product mix, ten devices.
SMALL_SCALE = Scale(organizations=1, networks=3, devices=10)


def soak(quick, long):
    """`quick` under `make test`, `long` under `make soak`."""
    return long if SOAK else quick


def seeded_random(name):
    """A random generator for a randomized test, seeded from NETBOX_MERAKI_SEED (printed, to replay a failure)."""
    seed = int(os.environ.get('NETBOX_MERAKI_SEED') or random.SystemRandom().randrange(2**32))
    print(f'{name}: NETBOX_MERAKI_SEED={seed}')
    return random.Random(seed)


def plugin_config(simulator, **options):
    """PLUGINS_CONFIG['netbox_meraki'] pointing at the simulator, with short timeouts and one retry."""
    config = dict(django_settings.PLUGINS_CONFIG['netbox_meraki'])
    config.update(api_key=simulator.api_key, base_url=simulator.base_url, maximum_retries=2, request_timeout=1,
                  requests_per_second=20)
    config.update(options)
    return {**django_settings.PLUGINS_CONFIG, 'netbox_meraki': config}


def sync(org_id, mode=SyncModeChoices.AUTO, **kwargs):
    (run,) = MerakiSyncService().sync_all(mode=mode, organization_ids=[org_id], background=False, **kwargs)
    return run


def sync_and_review(org_id, mode=SyncModeChoices.AUTO, **kwargs):
    """A sync; when it waits for review (review mode, or held removals), everything approved and applied."""
    run = sync(org_id, mode, **kwargs)
    if run.status == RunStatusChoices.AWAITING_REVIEW:
        approve_changes(run)
        run = apply_review(run, background=False)
    return run


# What NetBox holds and what Meraki says.


def netbox_state(org_id):
    """
    What NetBox holds for the organization, with the shared objects known by name: a device's type by its model, a
    role by its product type.
    """
    state = NetBoxState(org_id, PluginSettings.load())
    if manufacturer := state.pk('manufacturer', 'meraki'):
        for device_type in DeviceType.objects.filter(manufacturer_id=manufacturer):
            state.written('devicetype', device_type.model, device_type.pk)
    for product_type in DEFAULT_ROLE_NAMES:
        state.pk('role', product_type)
    return state


def owned_values(org_id):
    """{(kind, Meraki identity): field values} of every object the plugin owns for the organization."""
    state = netbox_state(org_id)
    values = {}
    for kind in OWNED_KINDS:
        source = UPDATE_KINDS.get(kind, kind)
        for meraki_id, pk in state.ids[source].items():
            row = state.objects[source][pk]
            if kind in UPDATE_KINDS and row[f'{KINDS[kind].fields[0]}_id'] is None:
                continue  # a sync sets a primary IP (IPv4) or MAC, and never clears one by itself
            values[(kind, meraki_id)] = state.current_values(kind, row)
    return values


def ownership():
    """{(kind, Meraki identity): (object type, object id)}: the plugin's ownership records."""
    return {(row.kind, row.meraki_id): (row.object_type_id, row.object_id) for row in SyncedObject.objects.all()}


def desired_state(org_id):
    """
    {(kind, identity): (values, fields a sync sets at creation only)} for what Meraki holds now, read without faults
    and mapped with the current settings: what a sync on an empty NetBox would create.
    """
    settings = PluginSettings.load()
    client = dashboard_client()
    try:
        snapshot = fetch_organization(client, org_id, settings.network_ids, inventory=settings.sync_inventory,
                                      stacks=settings.sync_switch_stacks)
    finally:
        client.close()
    assert snapshot.complete and not snapshot.network_errors, (snapshot.errors, snapshot.network_errors)
    records, _problems = map_snapshot(snapshot, mapping_options(settings, org_id))
    state = NetBoxState(org_id, settings, with_objects=False)
    desired = {}
    for kind in OWNED_KINDS:
        for meraki_id, record in records[kind].items():
            ends = [record.values[end] for end in ('a', 'b')] if kind == 'cable' else []
            if any(end.kind == 'netboxinterface' and state.neighbour(end.meraki_id, None)[0] is None for end in ends):
                continue  # a neighbour that is not in NetBox: nothing to connect to
            values = {name: to_json(value) for name, value in record.values.items()}
            if kind == 'vcmember' and not any(values.values()):
                continue  # a switch in no stack: in no virtual chassis, as owned_values() leaves it out
            create_only = set(KINDS[kind].create_only) | set(getattr(record, 'create_only', ()))
            if kind == 'cable':
                create_only -= {'a', 'b'}  # a cable's ends are its identity: they always match
            desired[(kind, meraki_id)] = (values, create_only)
    return desired


def differences(org_id, desired=None):
    """What differs between the objects the plugin owns and what Meraki holds: [] when NetBox has converged."""
    desired = desired_state(org_id) if desired is None else desired
    have = owned_values(org_id)
    problems = []
    for key in sorted(set(desired) - set(have)):
        problems.append(f'missing {key}')
    settings = PluginSettings.load()
    for key in sorted(set(have) - set(desired)):
        spec = KINDS[key[0]]
        policy = settings.policy_for(spec.policy or key[0])
        marked = all(have[key].get(name) == to_json(value) for name, value in spec.mark.items())
        if policy == DeletePolicyChoices.KEEP or (policy == DeletePolicyChoices.MARK and marked):
            continue  # kept, or marked as removed: what the kind's removal policy asks for
        problems.append(f'not in Meraki {key}: {have[key]}')
    for key in sorted(set(desired) & set(have)):
        values, create_only = desired[key]
        if key[0] == 'primaryip' and values.get('primary_ip4') is None:
            continue
        for name, value in values.items():
            if name not in create_only and have[key].get(name) != value:
                problems.append(f'{key} {name}: NetBox {have[key].get(name)!r}, Meraki {value!r}')
    return problems


def assert_converged(org_id):
    """NetBox holds exactly what Meraki says, and one more sync plans nothing."""
    problems = differences(org_id)
    assert not problems, problems[:20]
    again = sync(org_id, SyncModeChoices.DRY_RUN)
    assert again.status == RunStatusChoices.COMPLETED, (again.error, again.log[-5:])
    planned = list(again.changes.values_list('action', 'kind', 'meraki_id', 'before', 'after')[:10])
    assert not planned, planned


def assert_nothing_lost(before, after, owners_before, owners_after, desired):
    """
    Nothing the plugin owned before a run is gone, no longer owned, or changed to anything but what Meraki now says
    (a faulty run may still apply a change Meraki really made; never a blank or a stale value).
    """
    lost = sorted(set(owners_before) - set(owners_after))
    assert not lost, f'ownership dropped: {lost[:10]}'
    moved = [key for key in owners_before if owners_after[key] != owners_before[key]]
    assert not moved, f'ownership moved to other objects: {moved[:10]}'
    gone = sorted(set(before) - set(after))
    assert not gone, f'objects gone: {gone[:10]}'
    changed = []
    for key, values in before.items():
        for name, value in values.items():
            now = after[key].get(name)
            if now != value and now != desired.get(key, ({}, ()))[0].get(name, value):
                changed.append(f'{key} {name}: was {value!r}, now {now!r}')
    assert not changed, changed[:10]


# A simulator and a synced NetBox shared by a module's tests, each of which runs in a transaction rolled back after.


def high_water_marks():
    models = (*WRITTEN_MODELS, ObjectChange, SyncedObject, Change, SyncRun, Job, User, Token, ObjectPermission)
    return {model: (model.objects.order_by('-pk').values_list('pk', flat=True).first() or 0) for model in models}


def remove_rows_since(marks):
    """Delete, in dependency order, every row the tests committed since `marks` were taken."""
    Device.objects.filter(pk__gt=marks[Device]).update(primary_ip4=None, primary_ip6=None)
    for model in (ObjectChange, Change, SyncedObject, SyncRun, Job, *WRITTEN_MODELS, Token, ObjectPermission, User):
        model.objects.filter(pk__gt=marks[model]).delete()
    # Settings and stored network reads are only ever the tests' own.
    PluginSettings.objects.all().delete()
    NetworkRead.objects.all().delete()


@pytest.fixture
def committed(test_database, django_db_blocker):
    """
    The test database in autocommit mode, for tests whose threads or child processes must see what they write;
    everything committed is removed afterwards.
    """
    with django_db_blocker.unblock():
        assert connection.settings_dict['NAME'] == connection.creation._get_test_db_name()
        assert CustomField.objects.filter(name='meraki_firmware').exists(), (
            'The test database lost its migration data: a transactional test ran before this one '
            '(see pytest_collection_modifyitems in tests/conftest.py).')
        marks = high_water_marks()
        clear_task_queues()
        try:
            yield
        finally:
            connection.close()
            remove_rows_since(marks)
            clear_task_queues()


@pytest.fixture(scope='module')
def shared_simulator():
    with Simulator(seed=7, scale=SMALL_SCALE, rate_limit=0, api_key=API_KEY) as sim:
        yield sim


@pytest.fixture(scope='module')
def baseline(shared_simulator, test_database, django_db_blocker):
    """The shared organization synced once into NetBox and committed; the module's tests start from it."""
    org_id = shared_simulator.org_ids[0]
    with django_db_blocker.unblock(), override_settings(PLUGINS_CONFIG=plugin_config(shared_simulator)):
        marks = high_water_marks()
        try:
            run = sync(org_id)
            assert run.status == RunStatusChoices.COMPLETED, run.log
            yield {'org_id': org_id, 'values': owned_values(org_id), 'ownership': ownership()}
        finally:
            remove_rows_since(marks)


@pytest.fixture
def simulator(request):
    """
    In a module that sets SHARED_BASELINE, the module's simulator, whose organization `baseline` synced, given back
    as it was (data, faults, keys) after each test. Elsewhere a simulator of its own, as in every other suite.
    """
    if not getattr(request.module, 'SHARED_BASELINE', False):
        marker = request.node.get_closest_marker('scale')
        with Simulator(seed=7, scale=marker.args[0] if marker else SMALL_SCALE, rate_limit=0, api_key=API_KEY) as sim:
            yield sim
        return
    shared = request.getfixturevalue('shared_simulator')
    request.getfixturevalue('baseline')
    dashboard = shared.dashboard
    with dashboard.lock:
        saved = copy.deepcopy(dashboard.orgs)
    yield shared
    shared.clear_faults()
    shared.backend.revoked.clear()
    shared.backend.revoke_after.clear()
    with dashboard.lock:
        dashboard.orgs = saved


@pytest.fixture
def meraki_config(simulator, settings):
    settings.PLUGINS_CONFIG = plugin_config(simulator)
    return settings.PLUGINS_CONFIG['netbox_meraki']
