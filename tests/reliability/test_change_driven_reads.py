"""
Change-driven reads, property-based: after any sequence of Meraki changes (every mutation the simulator offers), a sync
that reads again only the networks Meraki's change log (or their devices) says changed leaves NetBox exactly as a read
of every network would. Cabling is not configuration: Meraki logs no change for it, so between full reads what only
LLDP and CDP show (cables, and a device's port known only from its neighbour) may lag, and the next full read brings
it.
"""

import ipaddress
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from meraki_sim import Scale, Simulator
from meraki_sim.mutations import MUTATIONS
from netbox_meraki import fetch
from netbox_meraki.choices import RunStatusChoices
from netbox_meraki.models import NetworkRead, PluginSettings

from ..conftest import API_KEY
from .conftest import differences, plugin_config, soak, sync_and_review
from .test_convergence import Mutations

pytestmark = pytest.mark.django_db

EXAMPLES = soak(3, 40)
STEPS = soak(5, 12)
# Changes Meraki does not log as configuration changes: what a switch port sees over LLDP and CDP.
UNLOGGED = {'recable', 'remove_link', 'connect_neighbour'}
# What NetBox makes of LLDP and CDP: cables, and the ports at their ends.
FROM_NEIGHBOURS = {'cable', 'interface'}


class EveryMutation(Mutations):
    """
    The convergence test's mutations, and the simulator's others: its raw edits, new VLANs, foreign neighbours, switch
    stacks.
    """

    def step(self):
        org = self.org
        extra = []
        if org.devices:
            extra.append('edit_device')
        if org.networks:
            extra.append('edit_network')
        if any(org.vlans.values()):
            extra += ['edit_vlan', 'add_vlan']
        if any(s['enabled'] for ssids in org.ssids.values() for s in ssids):
            extra.append('edit_ssid')
        if any(serial in org.devices for serial in org.switch_ports):
            extra.append('connect_neighbour')
        if self.unstacked_networks():
            extra.append('create_switch_stack')
        if any(org.stacks.values()):
            extra += ['rename_switch_stack', 'remove_switch_from_stack', 'delete_switch_stack']
        if extra and self.data.draw(st.booleans(), label='other mutation'):
            operation = self.data.draw(st.sampled_from(extra), label='mutation')
            return operation, getattr(self, operation)()
        return super().step()

    def edit_device(self):
        serial = self.pick(self.org.devices, 'device')
        fields = self.data.draw(st.sampled_from([
            {'lat': 47.37, 'lng': 8.54}, {'firmware': 'switch-17-1'}, {'notes': self.unique('note')},
        ]), label='fields')
        return self.sim.edit_device(serial, **fields)

    def edit_network(self):
        network_id = self.pick(self.org.networks, 'network')
        fields = self.data.draw(st.sampled_from([
            {'notes': self.unique('Closed on Sundays')}, {'timeZone': 'Europe/Zurich'},
        ]), label='fields')
        return self.sim.edit_network(network_id, **fields)

    def vlan_network(self):
        return self.pick([n for n, vlans in self.org.vlans.items() if vlans], 'network')

    def edit_vlan(self):
        network_id = self.vlan_network()
        vlan = self.pick([str(v['id']) for v in self.org.vlans[network_id]], 'vlan')
        return self.sim.edit_vlan(network_id, vlan, name=self.unique('VLAN'))

    def add_vlan(self):
        network_id = self.vlan_network()
        used = {int(v['id']) for v in self.org.vlans[network_id]}
        vlan_id = next(number for number in range(300, 4000) if number not in used)
        self.counter += 1
        subnet = ipaddress.ip_network(f'10.{100 + self.counter // 250}.{self.counter % 250}.0/24')
        return self.sim.add_vlan(network_id, vlan_id, self.unique('Lab'), str(subnet),
                                 appliance_ip=str(subnet.network_address + 1))

    def edit_ssid(self):
        network_id, number = self.enabled_ssid()
        vids = [int(v['id']) for v in self.org.vlans.get(network_id, [])] + [3999]  # 3999: a VLAN it does not have
        fields = self.data.draw(st.sampled_from([
            {'ipAssignmentMode': 'Bridge mode', 'useVlanTagging': True,
             'defaultVlanId': self.data.draw(st.sampled_from(vids), label='vlan')},
            {'ipAssignmentMode': 'NAT mode', 'useVlanTagging': False},
            {'availableOnAllAps': False, 'availabilityTags': ['lobby']},
        ]), label='fields')
        return self.sim.edit_ssid(network_id, number, **fields)

    def connect_neighbour(self):
        serial, port_id = self.switch_port()
        return self.sim.connect_neighbour(serial, port_id, self.unique('core-sw'), 'GigabitEthernet1/0/1')

    def unstacked_networks(self):
        """{network id: its switches in no stack}, for the networks with two or more of them."""
        stacked = {serial for stacks in self.org.stacks.values() for stack in stacks for serial in stack['serials']}
        unstacked = {}
        for serial, device in self.org.devices.items():
            if device['productType'] == 'switch' and serial not in stacked:
                unstacked.setdefault(device['networkId'], []).append(serial)
        return {network_id: sorted(serials) for network_id, serials in unstacked.items() if len(serials) >= 2}

    def create_switch_stack(self):
        networks = self.unstacked_networks()
        network_id = self.pick(networks, 'network')
        serials = self.data.draw(st.permutations(networks[network_id]), label='stack order')
        size = self.data.draw(st.integers(2, min(4, len(serials))), label='stack size')
        return self.sim.create_switch_stack(network_id, self.unique('Stack'), serials[:size])

    def stack(self):
        stacks = {stack['id']: (network_id, stack) for network_id, items in self.org.stacks.items() for stack in items}
        return stacks[self.pick(stacks, 'stack')]

    def rename_switch_stack(self):
        network_id, stack = self.stack()
        return self.sim.rename_switch_stack(network_id, stack['id'], self.unique('Stack'))

    def remove_switch_from_stack(self):
        network_id, stack = self.stack()
        return self.sim.remove_switch_from_stack(network_id, stack['id'], self.pick(stack['serials'], 'switch'))

    def delete_switch_stack(self):
        network_id, stack = self.stack()
        return self.sim.delete_switch_stack(network_id, stack['id'])


def test_every_mutation_of_the_simulator_is_drawn():
    drawn = {name for name in dir(EveryMutation) if name in MUTATIONS}
    assert drawn == set(MUTATIONS)


@hypothesis_settings(
    max_examples=EXAMPLES, deadline=None, derandomize=False, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(seed=st.integers(0, 10_000), networks=st.integers(1, 3), devices=st.integers(2, 8), data=st.data())
def test_a_change_driven_sync_leaves_netbox_as_a_full_read_would(seed, networks, devices, data):
    scale = Scale(organizations=1, networks=networks, devices=devices)
    # Meraki logs changes to the second: one second of margin is the least a read can take, and the test takes it
    # so that a change the log does not name is missed here as it would be in the field.
    with Simulator(seed=seed, scale=scale, rate_limit=0, api_key=API_KEY) as sim, override_settings(
        PLUGINS_CONFIG=plugin_config(sim)
    ), mock.patch.object(fetch, 'CLOCK_MARGIN', timedelta(seconds=1)), transaction.atomic():
        org_id = sim.org_ids[0]
        settings = PluginSettings.load()
        settings.deletion_threshold = 100
        settings.sync_switch_stacks = True
        settings.save()
        mutations = EveryMutation(sim, org_id, data)
        assert sync_and_review(org_id).full_read

        for step in range(1, STEPS + 1):
            operation, result = mutations.step()
            note(f'step {step}: {operation} -> {result}')
            stored = NetworkRead.objects.filter(organization_id=org_id).exists()
            run = sync_and_review(org_id)
            assert run.status == RunStatusChoices.COMPLETED, (run.status, run.error, run.log[-5:])
            assert run.full_read == (not stored)  # no network left at the last step: nothing to start from
            problems = differences(org_id)
            if operation in UNLOGGED:
                assert all(problem.split("'")[1] in FROM_NEIGHBOURS for problem in problems), problems[:10]
                assert sync_and_review(org_id, full_read=True).status == RunStatusChoices.COMPLETED
                problems = differences(org_id)
            assert not problems, problems[:10]

        transaction.set_rollback(True)
