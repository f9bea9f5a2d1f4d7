"""Meraki switch stacks as NetBox virtual chassis (issue #15): mapping, and syncs through the SDK and the simulator."""

import pytest

from dcim.models import Device, VirtualChassis

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.mapping import Ref, map_snapshot
from netbox_meraki.models import PluginSettings, SyncedObject
from netbox_meraki.sync import apply_review, approve_changes

from .test_mapping import OPTIONS, device, network, snapshot
from .test_sync import owned, sync

pytestmark = pytest.mark.django_db

STACKS = 'GET /networks/{networkId}/switch/stacks'
SERIALS = ('Q2AA-AAAA-AAA1', 'Q2AA-AAAA-AAA2', 'Q2AA-AAAA-AAA3', 'Q2AA-AAAA-AAA4')


def test_a_stack_maps_to_a_virtual_chassis_with_its_switches_at_their_positions():
    switches = [device(serial=serial, name=f'sw-{n}') for n, serial in enumerate(SERIALS, start=1)]
    stack = {'id': '8473', 'name': 'Core', 'serials': [SERIALS[2], SERIALS[0], SERIALS[1]], 'isMonitorOnly': False}
    # Stacks are mapped when they were read (the setting is on): the snapshot holds them, per network.
    records, problems = map_snapshot(snapshot(devices=switches, stacks={'N_1': [stack]}), OPTIONS)

    assert problems == []
    assert records['virtualchassis']['8473'].values == {'name': 'Core'}
    assert records['virtualchassis']['8473'].network_id == 'N_1'
    assert records['vcmaster']['8473'].values == {'master': Ref('device', SERIALS[2])}
    places = {serial: tuple(record.values.values()) for serial, record in records['vcmember'].items()}
    assert places == {
        SERIALS[2]: (Ref('virtualchassis', '8473'), 1), SERIALS[0]: (Ref('virtualchassis', '8473'), 2),
        SERIALS[1]: (Ref('virtualchassis', '8473'), 3), SERIALS[3]: (None, None),
    }
    # The switch out of every stack first: a position is freed before another switch takes it.
    assert list(records['vcmember'])[0] == SERIALS[3]
    # The device records themselves never carry the stack.
    assert all('virtual_chassis' not in record.values for record in records['device'].values())

    # Not read (the setting is off), or this network's call failed: nothing about stacks at all.
    records, _ = map_snapshot(snapshot(devices=switches), OPTIONS)
    assert not records['virtualchassis'] and not records['vcmember'] and not records['vcmaster']
    failed = snapshot(devices=switches, stacks={}, network_errors={'stacks': {'N_1': 'HTTP 500'}})
    records, _ = map_snapshot(failed, OPTIONS)
    assert not records['virtualchassis'] and not records['vcmember']


def test_a_stack_without_an_id_is_reported_and_skipped():
    records, problems = map_snapshot(snapshot(
        networks=[network()], stacks={'N_1': [{'name': 'No id', 'serials': ['Q2AA-AAAA-AAAA']}]},
    ), OPTIONS)
    assert not records['virtualchassis']
    assert records['vcmember']['Q2AA-AAAA-AAAA'].values == {'virtual_chassis': None, 'vc_position': None}
    assert problems and 'without an id' in problems[0]


def switch_network(simulator, org_id, switches=3):
    """The network with the most switches, given `switches` switches (claimed when missing), and their serials."""
    org = simulator.dashboard.orgs[org_id]

    def serials(network_id):
        return sorted(serial for serial, item in org.devices.items()
                      if item['networkId'] == network_id and item['productType'] == 'switch')

    network_id = max(sorted(org.networks), key=lambda n: len(serials(n)))
    while len(serials(network_id)) < switches:
        simulator.add_device(network_id, model='MS120-8LP')
    return network_id, serials(network_id)


def stacks_read(simulator):
    """The networks whose stacks were read: the requests the simulator answered, not those it refused with a 429."""
    return simulator.counts().get(STACKS, 0) - simulator.counts_429().get(STACKS, 0)


def switch_networks(simulator, org_id):
    return {device['networkId'] for device in simulator.dashboard.orgs[org_id].devices.values()
            if device['productType'] == 'switch'}


def stacks_on(delete_policy=None):
    settings = PluginSettings.load()
    settings.sync_switch_stacks = True
    if delete_policy:
        settings.delete_policy = {**settings.delete_policy, **delete_policy}
    settings.save()


def chassis(stack_id):
    return VirtualChassis.objects.get(pk=SyncedObject.objects.get(kind='virtualchassis', meraki_id=stack_id).object_id)


def members(stack_id):
    return list(Device.objects.filter(virtual_chassis=chassis(stack_id)).order_by('vc_position')
                .values_list('serial', 'vc_position'))


@pytest.fixture
def stack(meraki_config, simulator, org_id):
    """Stack sync on, and a stack of three switches in Meraki: (network id, stack, the network's switches)."""
    stacks_on()
    network_id, switches = switch_network(simulator, org_id)
    created = simulator.create_switch_stack(network_id, 'Core stack', [switches[1], switches[0], switches[2]])
    return network_id, created, switches


def test_stacks_become_virtual_chassis_and_a_second_sync_changes_nothing(simulator, org_id, stack):
    network_id, created, switches = stack

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    vc = chassis(created['id'])
    assert vc.name == 'Core stack'
    assert vc.tags.filter(slug='meraki').exists()
    assert members(created['id']) == [(switches[1], 1), (switches[0], 2), (switches[2], 3)]
    assert vc.master.serial == switches[1]
    stacked = {serial for stacks in simulator.dashboard.orgs[org_id].stacks.values() for item in stacks
               for serial in item['serials']}
    assert set(owned(Device).filter(virtual_chassis__isnull=False).values_list('serial', flat=True)) == stacked
    assert stacks_read(simulator) == len(switch_networks(simulator, org_id))

    for full_read in (False, True):
        again = sync(org_id, full_read=full_read)
        assert again.status == RunStatusChoices.COMPLETED, again.log
        assert again.changes.count() == 0


def test_with_the_setting_off_stacks_are_neither_read_nor_touched(meraki_config, simulator, org_id):
    network_id, switches = switch_network(simulator, org_id)
    simulator.create_switch_stack(network_id, 'Core stack', switches[1:])
    sync(org_id)
    # A person's virtual chassis on switches the plugin owns stays as it is.
    vc = VirtualChassis.objects.create(name='Made by hand')
    Device.objects.filter(serial=switches[0]).update(virtual_chassis=vc, vc_position=7)
    simulator.reset_counts()

    run = sync(org_id, full_read=True)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert STACKS not in simulator.counts()
    assert not SyncedObject.objects.filter(kind='virtualchassis').exists()
    assert not run.changes.filter(kind__in=('virtualchassis', 'vcmember', 'vcmaster')).exists()
    assert Device.objects.get(serial=switches[0]).virtual_chassis == vc

    # Turned on, the next sync reads the stacks of the networks with switches, though nothing changed in Meraki, and
    # stores them: the one after reads only the stacked network's again (its stack was made minutes ago, within the
    # clock margin of Meraki's change log). A switch in no stack in Meraki stays in a person's virtual chassis.
    stacks_on()
    simulator.reset_counts()
    run = sync(org_id)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert not run.full_read
    assert stacks_read(simulator) == len(switch_networks(simulator, org_id))
    assert Device.objects.get(serial=switches[0]).virtual_chassis == vc
    assert members(run.changes.get(kind='virtualchassis').meraki_id) == [(switches[1], 1), (switches[2], 2)]
    simulator.reset_counts()
    assert sync(org_id).changes.count() == 0
    assert stacks_read(simulator) == len(switch_networks(simulator, org_id)) - 1


def test_a_member_removed_and_a_stack_renamed_follow_meraki(simulator, org_id, stack):
    network_id, created, switches = stack
    sync(org_id)
    # The master leaves: NetBox needs another master before it lets the switch go, and the others move up.
    simulator.remove_switch_from_stack(network_id, created['id'], switches[1])
    simulator.rename_switch_stack(network_id, created['id'], 'Core stack A')

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert not run.full_read  # Meraki's change log made the network be read again
    vc = chassis(created['id'])
    assert vc.name == 'Core stack A'
    assert members(created['id']) == [(switches[0], 1), (switches[2], 2)]
    assert vc.master.serial == switches[0]
    left = Device.objects.get(serial=switches[1])
    assert (left.virtual_chassis, left.vc_position) == (None, None)
    assert sync(org_id).changes.count() == 0


def test_a_removed_switch_that_was_master_is_deleted_after_its_stack_moves_on(simulator, org_id, meraki_config):
    stacks_on({'device': 'delete'})
    # One switch of a small network is more than the mass-removal guard lets go without a review.
    PluginSettings.objects.update(deletion_threshold=100)
    network_id, switches = switch_network(simulator, org_id)
    created = simulator.create_switch_stack(network_id, 'Core stack', switches)
    sync(org_id)
    simulator.remove_device(switches[0])

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert not Device.objects.filter(serial=switches[0]).exists()
    assert members(created['id']) == [(switches[1], 1), (switches[2], 2)]
    assert chassis(created['id']).master.serial == switches[1]


def test_a_removed_stack_follows_the_delete_policy(simulator, org_id, stack):
    network_id, created, switches = stack
    sync(org_id)
    simulator.delete_switch_stack(network_id, created['id'])

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.changes.get(kind='virtualchassis').action == ChangeActionChoices.DELETE
    assert not SyncedObject.objects.filter(kind='virtualchassis').exists()
    assert not VirtualChassis.objects.filter(name='Core stack').exists()
    assert not Device.objects.filter(serial__in=switches, virtual_chassis__isnull=False).exists()

    # Policy "keep": a stack Meraki no longer has stays, emptied of the switches Meraki no longer stacks.
    stacks_on({'virtualchassis': 'keep'})
    again = simulator.create_switch_stack(network_id, 'Edge stack', switches[:2])
    sync(org_id)
    simulator.delete_switch_stack(network_id, again['id'])
    run = sync(org_id)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert chassis(again['id']).name == 'Edge stack'
    assert members(again['id']) == []


def test_a_mass_removal_of_stacks_is_held_with_its_members(meraki_config, simulator, org_id):
    stacks_on()
    network_id, switches = switch_network(simulator, org_id, switches=4)
    first = simulator.create_switch_stack(network_id, 'Stack 1', switches[:2])
    second = simulator.create_switch_stack(network_id, 'Stack 2', switches[2:4])
    sync(org_id)
    simulator.inject('empty_list', endpoint=STACKS)

    run = sync(org_id, full_read=True)

    assert run.status == RunStatusChoices.AWAITING_REVIEW, run.log
    removals = run.changes.filter(kind='virtualchassis')
    assert removals.count() == 2
    assert set(removals.values_list('state', flat=True)) == {ChangeStateChoices.HELD}
    departures = run.changes.filter(kind__in=('vcmember', 'vcmaster'))
    assert departures.exists()
    assert set(departures.values_list('state', flat=True)) == {ChangeStateChoices.HELD}
    assert members(first['id']) == [(switches[0], 1), (switches[1], 2)]
    assert members(second['id']) == [(switches[2], 1), (switches[3], 2)]


def test_a_failed_stacks_call_removes_nothing_in_its_network(simulator, org_id, stack):
    network_id, created, switches = stack
    sync(org_id)
    simulator.delete_switch_stack(network_id, created['id'])
    simulator.inject('network_error', endpoint=STACKS, network_id=network_id, status=500)

    run = sync(org_id)

    assert run.status == RunStatusChoices.PARTIAL
    assert 'getNetworkSwitchStacks' in run.error and network_id in run.error
    assert not run.changes.filter(kind__in=('virtualchassis', 'vcmember', 'vcmaster')).exists()
    assert members(created['id']) == [(switches[1], 1), (switches[0], 2), (switches[2], 3)]


def test_review_applies_the_approved_stack(simulator, org_id, stack):
    network_id, created, switches = stack
    run = sync(org_id, mode=SyncModeChoices.REVIEW)
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert not VirtualChassis.objects.exists()
    assert run.changes.filter(kind='virtualchassis', action=ChangeActionChoices.CREATE).count() == 1

    approve_changes(run)
    run = apply_review(run, background=False)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert members(created['id']) == [(switches[1], 1), (switches[0], 2), (switches[2], 3)]
    assert chassis(created['id']).master.serial == switches[1]
