"""
Planning reads NetBox in a fixed number of queries, whatever the size of the organization: a plan of an organization
four times as large (four times the devices, ports, addresses, cables and neighbours the plugin owns) makes the same
queries. Each size is synced once, then planned again (a dry run) with everything it owns in NetBox.
"""

from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from meraki_sim import Scale, Simulator
from netbox_meraki.choices import RunStatusChoices, SyncModeChoices
from netbox_meraki.kinds import KINDS, UPDATE_KINDS
from netbox_meraki.models import PluginSettings, SyncedObject
from netbox_meraki.plan import OWNED_KINDS, NetBoxState
from netbox_meraki.sync import MerakiSyncService

from ..conftest import API_KEY
from .test_switch_stacks import stacks_on, switch_network

pytestmark = pytest.mark.django_db


def planning_queries(settings, scale):
    """The queries of a dry run of an organization of `scale` whose first sync is done; counted by statement."""
    with Simulator(seed=3, scale=scale, rate_limit=0, api_key=API_KEY) as simulator:
        config = dict(settings.PLUGINS_CONFIG['netbox_meraki'])
        config.update(api_key=simulator.api_key, base_url=simulator.base_url, requests_per_second=1000)
        settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_meraki': config}
        with transaction.atomic():  # each size starts from the same empty NetBox
            (first,) = MerakiSyncService().sync_all(
                mode=SyncModeChoices.AUTO, organization_ids=[simulator.org_ids[0]], background=False,
            )
            assert first.status == RunStatusChoices.COMPLETED, first.log
            owned = SyncedObject.objects.filter(kind='cable').count()
            with CaptureQueriesContext(connection) as queries:
                (run,) = MerakiSyncService().sync_all(
                    mode=SyncModeChoices.DRY_RUN, organization_ids=[simulator.org_ids[0]], background=False,
                )
            assert run.status == RunStatusChoices.COMPLETED and not run.changes.exists(), run.log
            transaction.set_rollback(True)
    return len(queries), owned


def test_planning_makes_the_same_queries_at_four_times_the_size(settings):
    small, small_cables = planning_queries(settings, Scale(organizations=1, networks=2, devices=16))
    large, large_cables = planning_queries(settings, Scale(organizations=1, networks=8, devices=64))

    assert large_cables >= 3 * small_cables > 0
    assert large == small


def test_planning_reads_what_each_object_holds(meraki_config, simulator, org_id):
    """
    Planning compares rows read for a whole kind at once; the apply checks model instances before it writes. Both
    give every owned object's every synced field the same stored values: tagged VLANs, WLANs, cable ends, addresses'
    interfaces, custom fields, primary IPs and MACs, places in a switch stack.
    """
    stacks_on()
    network_id, switches = switch_network(simulator, org_id)
    simulator.create_switch_stack(network_id, 'Core stack', [switches[1], switches[0], switches[2]])
    (run,) = MerakiSyncService().sync_all(mode=SyncModeChoices.AUTO, organization_ids=[org_id], background=False)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    state = NetBoxState(org_id, PluginSettings.load())
    compared = Counter()
    for kind in OWNED_KINDS + tuple(UPDATE_KINDS):
        model_kind = UPDATE_KINDS.get(kind, kind)
        instances = KINDS[kind].model.objects.in_bulk(list(state.objects[model_kind]))
        for pk, row in state.objects[model_kind].items():
            assert state.current_values(kind, row) == state.current_values(kind, instances[pk]), (kind, pk)
            compared[kind] += 1
    assert set(compared) == set(OWNED_KINDS) | set(UPDATE_KINDS), compared
    values = [state.current_values('interface', row) for row in state.objects['interface'].values()]
    assert any(value['tagged_vlans'] for value in values) and any(value['wireless_lans'] for value in values)
    assert any(state.current_values('vcmaster', row)['master'] for row in state.objects['virtualchassis'].values())
