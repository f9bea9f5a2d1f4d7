"""
Change-driven reads: between full reads, a sync reads from Meraki again only the networks whose configuration changed
(Meraki's change log says which), and reuses the last read of the others. Real SDK, simulator, NetBox.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from dcim.models import Cable, Device, Site
from ipam.models import Prefix
from wireless.models import WirelessLAN

from netbox_meraki.choices import RunStatusChoices, SyncModeChoices
from netbox_meraki.models import NetworkRead, PluginSettings, SyncedObject, SyncRun
from netbox_meraki.sync import MerakiSyncService

pytestmark = pytest.mark.django_db

ORG = 'GET /organizations/{organizationId}'
PER_NETWORK = (
    'GET /networks/{networkId}/appliance/vlans',
    'GET /networks/{networkId}/appliance/vlans/settings',
    'GET /networks/{networkId}/appliance/singleLan',
    'GET /networks/{networkId}/wireless/ssids',
)
SCOPED = (f'{ORG}/switch/ports/bySwitch', f'{ORG}/switch/ports/topology/discovery/byDevice')
CHANGES = f'{ORG}/configurationChanges'
# Read in full on every sync: they change without a configuration change (statuses, DHCP addresses), or cost one
# call for the organization (its configuration templates).
ALWAYS = (ORG, f'{ORG}/networks', f'{ORG}/configTemplates', f'{ORG}/devices', f'{ORG}/devices/availabilities',
          f'{ORG}/devices/uplinks/addresses/byDevice')


def sync(org_id, mode=SyncModeChoices.AUTO, **kwargs):
    (run,) = MerakiSyncService().sync_all(mode=mode, organization_ids=[org_id], background=False, **kwargs)
    return run


def per_network_calls(simulator):
    counts = simulator.counts()
    return sum(counts.get(endpoint, 0) for endpoint in PER_NETWORK)


def wireless_network(simulator, org_id):
    networks = simulator.dashboard.orgs[org_id].networks
    return next(networks[n] for n in sorted(networks) if 'wireless' in networks[n]['productTypes'])


@pytest.fixture
def synced(simulator, meraki_config, org_id):
    """A first (full) sync of the organization, then counting from zero."""
    run = sync(org_id)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.full_read
    simulator.reset_counts()
    return run


def test_a_first_sync_reads_every_network_and_stores_each_read(simulator, org_id, synced):
    networks = simulator.dashboard.orgs[org_id].networks
    reads = {read.network_id: read for read in NetworkRead.objects.filter(organization_id=org_id)}
    assert set(reads) == set(networks)
    for network_id, network in networks.items():
        data = reads[network_id].data
        assert ('ssids' in data) == ('wireless' in network['productTypes'])
        assert ('vlans' in data or 'single_lan' in data) == ('appliance' in network['productTypes'])
        assert reads[network_id].read_at <= synced.started + timedelta(seconds=5)


def test_an_unchanged_organization_is_read_without_a_per_network_call(simulator, org_id, synced):
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert not run.full_read
    assert run.counts == {}
    counts = simulator.counts()
    assert per_network_calls(simulator) == 0
    assert not any(counts.get(endpoint) for endpoint in SCOPED)
    assert set(counts) == {*ALWAYS, CHANGES}
    assert run.api_calls == simulator.total_requests() == len(ALWAYS) + 1
    assert any('Read 0 of' in line['message'] for line in run.log)


def test_an_ssid_change_reads_that_networks_ssids_alone_and_syncs_it(simulator, org_id, synced):
    network = wireless_network(simulator, org_id)
    simulator.rename_ssid(network['id'], 0, 'Renamed by the operator')
    before = dict(NetworkRead.objects.values_list('network_id', 'read_at'))

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert not run.full_read
    assert simulator.counts()['GET /networks/{networkId}/wireless/ssids'] == 1
    assert per_network_calls(simulator) == 1
    assert not any(simulator.counts().get(endpoint) for endpoint in SCOPED)
    assert WirelessLAN.objects.filter(ssid='Renamed by the operator').exists()
    read = NetworkRead.objects.get(organization_id=org_id, network_id=network['id'])
    assert read.read_at >= run.started - timedelta(seconds=1)
    assert read.data['ssids'][0]['name'] == 'Renamed by the operator'
    # The others keep the read of the first sync.
    assert dict(NetworkRead.objects.exclude(network_id=network['id']).values_list('network_id', 'read_at')) == {
        network_id: read_at for network_id, read_at in before.items() if network_id != network['id']}


def test_a_new_network_is_read(simulator, org_id, synced):
    network_id = simulator.add_network(org_id, 'Pop-up Store', ['wireless'])
    simulator.reset_counts()

    run = sync(org_id)

    assert simulator.counts()['GET /networks/{networkId}/wireless/ssids'] == 1
    assert NetworkRead.objects.filter(organization_id=org_id, network_id=network_id).exists()
    assert SyncedObject.objects.filter(kind='site', meraki_id=network_id).exists(), run.log


def test_a_network_whose_read_failed_is_read_on_the_next_sync(simulator, org_id, synced):
    network = wireless_network(simulator, org_id)
    NetworkRead.objects.filter(organization_id=org_id).update(read_at=timezone.now() - timedelta(hours=1))
    simulator.rename_ssid(network['id'], 0, 'Renamed while Meraki failed')
    simulator.inject('server_error', endpoint='GET /networks/{networkId}/wireless/ssids', status=500)
    failed = sync(org_id)
    assert failed.status == RunStatusChoices.PARTIAL, failed.log
    assert not NetworkRead.objects.filter(organization_id=org_id, network_id=network['id']).exists()

    simulator.clear_faults()
    simulator.reset_counts()
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert simulator.counts()['GET /networks/{networkId}/wireless/ssids'] == 1
    assert WirelessLAN.objects.filter(ssid='Renamed while Meraki failed').exists()


def test_an_unreadable_change_log_makes_the_sync_read_every_network(simulator, org_id, synced):
    simulator.inject('server_error', endpoint=CHANGES, status=500)

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.full_read
    assert any('configuration change log could not be read' in line['message'] for line in run.log)
    networks = simulator.dashboard.orgs[org_id].networks.values()
    wireless = sum('wireless' in network['productTypes'] for network in networks)
    assert simulator.counts()['GET /networks/{networkId}/wireless/ssids'] == wireless


def test_another_configuration_change_reads_that_networks_configuration_but_not_its_neighbours(
    simulator, org_id, synced,
):
    org = simulator.dashboard.orgs[org_id]
    network_id = next(n for n in sorted(org.vlans) if org.vlans[n] and any(
        org.devices[serial]['networkId'] == n for serial in org.switch_ports if serial in org.devices))
    vlan = org.vlans[network_id][0]
    simulator.set_vlan_subnet(network_id, vlan['id'], '10.251.0.0/24', appliance_ip='10.251.0.1')

    run = sync(org_id)

    counts = simulator.counts()
    assert counts['GET /networks/{networkId}/appliance/vlans'] == 1
    assert counts.get('GET /networks/{networkId}/wireless/ssids', 0) == (
        'wireless' in org.networks[network_id]['productTypes'])
    assert counts[SCOPED[0]] == 1  # switch ports, for that network
    assert not counts.get(SCOPED[1])  # LLDP/CDP is not configuration
    assert Prefix.objects.filter(prefix='10.251.0.0/24').exists(), run.log


def test_a_device_added_reads_its_networks_neighbours_too(simulator, org_id, synced):
    network = wireless_network(simulator, org_id)
    serial = simulator.add_device(network['id'], model='MR44', name='new-ap')
    simulator.reset_counts()

    run = sync(org_id)

    assert all(simulator.counts().get(endpoint) == 1 for endpoint in SCOPED)
    assert Device.objects.filter(serial=serial).exists(), run.log


def test_a_network_that_ran_a_single_lan_is_read_again_without_the_refused_call(simulator, org_id, synced):
    # A new network with an appliance runs a single LAN: its first read learns that from a refused VLANs call.
    network_id = simulator.add_network(org_id, 'Kiosk', ['appliance'])
    sync(org_id)
    assert simulator.counts()['GET /networks/{networkId}/appliance/vlans'] == 1
    simulator.edit_network(network_id, notes='Closed on Sundays')
    simulator.reset_counts()

    run = sync(org_id)

    counts = simulator.counts()
    assert counts.get('GET /networks/{networkId}/appliance/vlans', 0) == 0
    assert counts['GET /networks/{networkId}/appliance/vlans/settings'] == 1
    assert counts['GET /networks/{networkId}/appliance/singleLan'] == 1
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert Site.objects.get(pk=SyncedObject.objects.get(kind='site', meraki_id=network_id).object_id).description == (
        'Closed on Sundays')


@pytest.mark.parametrize('how', ['asked', 'due', 'off'])
def test_a_full_read_when_asked_when_due_and_when_change_driven_reads_are_off(simulator, org_id, synced, how):
    # A cable change is not a configuration change: Meraki logs nothing, and only a full read sees it.
    cables = Cable.objects.count()
    link = next(link for link in simulator.dashboard.orgs[org_id].links if link['b'].get('serial'))
    simulator.remove_link(link['a']['serial'], link['a']['portId'])
    if how == 'due':
        PluginSettings.objects.filter(pk=1).update(full_read_hours=6)
        SyncRun.objects.filter(pk=synced.pk).update(started=timezone.now() - timedelta(hours=7))
    elif how == 'off':
        PluginSettings.objects.filter(pk=1).update(full_read_hours=0)
    simulator.reset_counts()

    run = sync(org_id, full_read=how == 'asked')

    assert run.full_read
    assert simulator.counts().get(CHANGES, 0) == 0
    assert per_network_calls(simulator) > 0
    assert Cable.objects.count() == cables - 1, run.log
    assert NetworkRead.objects.filter(organization_id=org_id, read_at__lt=run.started - timedelta(seconds=1)).count(
    ) == 0


def test_between_full_reads_a_cable_change_alone_waits_for_the_next_full_read(simulator, org_id, synced):
    cables = Cable.objects.count()
    link = next(link for link in simulator.dashboard.orgs[org_id].links if link['b'].get('serial'))
    simulator.remove_link(link['a']['serial'], link['a']['portId'])

    run = sync(org_id)

    assert not run.full_read
    assert run.counts == {} and Cable.objects.count() == cables
    assert sync(org_id, full_read=True).full_read
    assert Cable.objects.count() == cables - 1


def test_a_run_of_some_networks_reads_them_in_full_and_keeps_the_others_reads(simulator, org_id, synced):
    network = wireless_network(simulator, org_id)
    before = dict(NetworkRead.objects.filter(organization_id=org_id).values_list('network_id', 'read_at'))

    run = sync(org_id, network_ids=[network['id']])

    assert run.full_read
    after = dict(NetworkRead.objects.filter(organization_id=org_id).values_list('network_id', 'read_at'))
    assert set(after) == set(before)
    assert after[network['id']] > before[network['id']]
    assert {key: value for key, value in after.items() if key != network['id']} == {
        key: value for key, value in before.items() if key != network['id']}
