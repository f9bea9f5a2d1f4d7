"""
The fault matrix: every fault the simulator injects, in every mode. A run under a fault ends partial or failed and
says what failed (or holds what looks like a mass removal for review), NetBox loses nothing it held, the API key shows
up nowhere, and the next run without the fault converges.
"""

import logging
import time
from dataclasses import dataclass

import pytest
from django.urls import reverse

from core.models import ObjectChange
from dcim.models import Site

from netbox_meraki import fetch
from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings, SyncedObject

from .conftest import (
    SOAK,
    assert_converged,
    assert_nothing_lost,
    desired_state,
    owned_values,
    ownership,
    sync,
    sync_and_review,
)

pytestmark = pytest.mark.django_db
# The tests share one synced organization (see conftest.baseline); each runs in a transaction rolled back after.
SHARED_BASELINE = True

ORGANIZATION = 'GET /organizations/{organizationId}'
NETWORKS = 'GET /organizations/{organizationId}/networks'
DEVICES = 'GET /organizations/{organizationId}/devices'
UPLINKS = 'GET /organizations/{organizationId}/devices/uplinks/addresses/byDevice'
SWITCH_PORTS = 'GET /organizations/{organizationId}/switch/ports/bySwitch'
TOPOLOGY = 'GET /organizations/{organizationId}/switch/ports/topology/discovery/byDevice'
VLANS = 'GET /networks/{networkId}/appliance/vlans'
WRONG_KEY = 'wrong-key-0123456789abcdef0123456789abcdef'
REMOVALS = (ChangeActionChoices.DELETE, ChangeActionChoices.MARK)


@pytest.fixture(autouse=True)
def brief_retry_waits(monkeypatch):
    """
    The SDK waits a second before each retry, and Retry-After seconds after a 429: a tenth of a second here under
    `make test`, so that the whole matrix fits in its time; `make soak` waits in full.
    """
    if not SOAK:
        from meraki.session.sync import RestSession

        monkeypatch.setattr(RestSession, '_sleep', lambda self, seconds: time.sleep(min(seconds, 0.1)))


def vlan_network(sim, org_id):
    return sorted(sim.dashboard.orgs[org_id].vlans)[0]


@dataclass
class Fault:
    """A fault, how to inject it, and what a run under it must end as: partial, failed, or held for review."""

    inject: object
    outcome: str
    # What the run's error (partial, failed) or the held removals' reason must name.
    names: object
    # Pages of three items, so that paginated endpoints answer in several pages.
    small_pages: bool = False


FAULTS = {
    'rate_limit_storm': Fault(
        lambda sim, org_id, config: sim.inject('rate_limit_storm', endpoint=SWITCH_PORTS, seconds=60),
        'partial', lambda sim, org_id: 'getOrganizationSwitchPortsBySwitch failed: HTTP 429',
    ),
    'server_error_burst': Fault(
        lambda sim, org_id, config: sim.inject('server_error', endpoint=NETWORKS, count=5, status=503),
        'partial', lambda sim, org_id: 'getOrganizationNetworks failed: HTTP 503',
    ),
    'timeout': Fault(
        lambda sim, org_id, config: (
            config.update(request_timeout=0.5), sim.inject('timeout', endpoint=UPLINKS, seconds=1),
        ),
        'partial', lambda sim, org_id: 'getOrganizationDevicesUplinksAddressesByDevice failed',
    ),
    'malformed_json': Fault(
        lambda sim, org_id, config: sim.inject('malformed_json', endpoint=TOPOLOGY),
        'partial', lambda sim, org_id: 'getOrganizationSwitchPortsTopologyDiscoveryByDevice failed',
    ),
    'truncated_page': Fault(
        lambda sim, org_id, config: sim.inject('truncated', endpoint=DEVICES),
        'partial', lambda sim, org_id: 'getOrganizationDevices failed', small_pages=True,
    ),
    'missing_link': Fault(
        lambda sim, org_id, config: sim.inject('missing_link', endpoint=DEVICES),
        'held', lambda sim, org_id: 'Meraki may have answered incompletely', small_pages=True,
    ),
    'empty_list': Fault(
        lambda sim, org_id, config: sim.inject('empty_list', endpoint=SWITCH_PORTS),
        'held', lambda sim, org_id: 'Meraki may have answered incompletely',
    ),
    'one_network_failing': Fault(
        lambda sim, org_id, config: sim.inject('network_error', endpoint=VLANS, network_id=vlan_network(sim, org_id)),
        'partial', lambda sim, org_id: f'getNetworkApplianceVlans of {vlan_network(sim, org_id)} failed: HTTP 500',
    ),
    'organization_unreadable': Fault(
        lambda sim, org_id, config: sim.inject('server_error', endpoint=ORGANIZATION),
        'failed', lambda sim, org_id: f'Organization {org_id} could not be read: getOrganization failed: HTTP 500',
    ),
    'wrong_key': Fault(
        lambda sim, org_id, config: config.update(api_key=WRONG_KEY),
        'failed', lambda sim, org_id: 'HTTP 401',
    ),
    'key_revoked_mid_run': Fault(
        # getOrganization and one more call pass; everything after is refused.
        lambda sim, org_id, config: sim.revoke_key(sim.api_key, after=2),
        'failed', lambda sim, org_id: f'Organization {org_id}: the Meraki API key was refused',
    ),
}
# Under `make soak`, every fault on every endpoint it can hit, too. A fault Meraki's answers cannot reveal (an empty
# list, a missing page) is "silent": whatever removals it causes are held.
ORGANIZATION_WIDE = {
    NETWORKS: 'getOrganizationNetworks', DEVICES: 'getOrganizationDevices',
    'GET /organizations/{organizationId}/devices/availabilities': 'getOrganizationDevicesAvailabilities',
    UPLINKS: 'getOrganizationDevicesUplinksAddressesByDevice', SWITCH_PORTS: 'getOrganizationSwitchPortsBySwitch',
    TOPOLOGY: 'getOrganizationSwitchPortsTopologyDiscoveryByDevice',
}
ERROR_FAULTS = {
    'server_error': {'status': 502}, 'rate_limit_storm': {'seconds': 60}, 'timeout': {'seconds': 1},
    'malformed_json': {}, 'truncated': {},
}


def every_fault_on_every_endpoint():
    faults = {}
    for endpoint, operation in ORGANIZATION_WIDE.items():
        short = endpoint.rsplit('{organizationId}', 1)[1] or '/organization'
        for kind, options in ERROR_FAULTS.items():
            faults[f'{kind}@{short}'] = Fault(
                lambda sim, org_id, config, kind=kind, endpoint=endpoint, options=options: (
                    config.update(request_timeout=0.5), sim.inject(kind, endpoint=endpoint, **options),
                ),
                'partial', lambda sim, org_id, operation=operation: f'{operation} failed', small_pages=True,
            )
        for kind in ('empty_list', 'missing_link'):
            faults[f'{kind}@{short}'] = Fault(
                lambda sim, org_id, config, kind=kind, endpoint=endpoint: sim.inject(kind, endpoint=endpoint),
                'silent', lambda sim, org_id: 'Meraki may have answered incompletely', small_pages=True,
            )
    ssids = 'GET /networks/{networkId}/wireless/ssids'
    faults['network_error@ssids'] = Fault(
        lambda sim, org_id, config: sim.inject('network_error', endpoint=ssids, network_id=sorted(
            sim.dashboard.orgs[org_id].ssids)[0]),
        'partial', lambda sim, org_id: f'getNetworkWirelessSsids of {sorted(sim.dashboard.orgs[org_id].ssids)[0]}',
    )
    faults['empty_list@vlans'] = Fault(
        lambda sim, org_id, config: sim.inject('empty_list', endpoint=VLANS, network_id=vlan_network(sim, org_id)),
        'silent', lambda sim, org_id: 'Meraki may have answered incompletely',
    )
    return faults


if SOAK:
    FAULTS.update(every_fault_on_every_endpoint())
MODES = (SyncModeChoices.AUTO, SyncModeChoices.REVIEW, SyncModeChoices.DRY_RUN)


def meraki_changes_during_the_fault(sim, org_id):
    """Real changes in Meraki while the fault lasts: a rename of a device and of a network, a new switch."""
    org = sim.dashboard.orgs[org_id]
    network_id = sorted(org.networks)[0]
    sim.rename_device(sorted(org.devices)[0], 'renamed-during-the-fault')
    sim.rename_network(network_id, 'Renamed during the fault')
    sim.add_device(network_id, model='MS120-8LP', name='added-during-the-fault')


def a_removal_after_the_fault(sim, org_id):
    """A real removal once the fault is over, so that convergence includes one."""
    org = sim.dashboard.orgs[org_id]
    sim.remove_device(sorted(org.devices)[-1])


def expected_status(fault, mode, run):
    """Failed; else partial, unless changes wait for a person (review mode, held removals); a dry run only plans."""
    if fault.outcome == 'failed':
        return RunStatusChoices.FAILED
    if fault.outcome == 'silent':
        if mode == SyncModeChoices.DRY_RUN:
            return RunStatusChoices.COMPLETED
        waiting = run.changes.filter(state=ChangeStateChoices.HELD).exists() or (
            mode == SyncModeChoices.REVIEW and run.changes.exists())
        return RunStatusChoices.AWAITING_REVIEW if waiting else RunStatusChoices.COMPLETED
    if mode == SyncModeChoices.DRY_RUN:
        return RunStatusChoices.COMPLETED if fault.outcome == 'held' else RunStatusChoices.PARTIAL
    if fault.outcome == 'held' or (mode == SyncModeChoices.REVIEW and run.changes.exists()):
        return RunStatusChoices.AWAITING_REVIEW
    return RunStatusChoices.PARTIAL


def texts_of(run):
    """Everything a run stores that a person or a program can read."""
    run.refresh_from_db()
    texts = [run.error, str(run.log), str(run.counts)]
    for change in run.changes.all():
        texts += [change.reason, change.object_repr, str(change.before), str(change.after)]
    for entry in ObjectChange.objects.filter(request_id=run.request_id):
        texts += [str(entry.prechange_data), str(entry.postchange_data), entry.object_repr]
    return texts


def pages_of(client, run):
    """The run as the web UI and the REST API show it."""
    paths = [
        reverse('plugins:netbox_meraki:syncrun', args=[run.pk]),
        reverse('plugins:netbox_meraki:syncrun_changes', args=[run.pk]),
        reverse('plugins:netbox_meraki:syncrun_progress', args=[run.pk]),
        reverse('plugins:netbox_meraki:syncrun_list'),
        reverse('plugins:netbox_meraki:dashboard'),
        f'/api/plugins/meraki/runs/{run.pk}/',
        f'/api/plugins/meraki/runs/{run.pk}/changes/',
    ]
    pages = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        pages.append(response.content.decode())
    return pages


def capture_every_log_line(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger='httpcore')  # connection tracing only, and very chatty


def assert_key_nowhere(key, run, client, caplog):
    """The API key is in no stored text of the run, no page, no API answer and no log line."""
    places = texts_of(run) + pages_of(client, run) + [record.getMessage() for record in caplog.records]
    places += [str(record.exc_info) for record in caplog.records if record.exc_info]
    leaks = [text[:200] for text in places if key in text]
    assert not leaks, leaks


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('name', list(FAULTS))
def test_a_fault_loses_nothing_says_what_failed_and_the_next_run_converges(
    name, mode, simulator, meraki_config, baseline, admin_client, caplog, monkeypatch,
):
    capture_every_log_line(caplog)
    fault, org_id = FAULTS[name], baseline['org_id']
    if fault.small_pages:
        for endpoint in ('networks', 'devices', 'availabilities', 'uplinks', 'switch_ports', 'topology'):
            monkeypatch.setitem(fetch.PER_PAGE, endpoint, 3)
    key = meraki_config['api_key']
    before, owners = owned_values(org_id), ownership()
    changelog = ObjectChange.objects.count()
    meraki_changes_during_the_fault(simulator, org_id)
    fault.inject(simulator, org_id, meraki_config)

    run = sync(org_id, mode)

    # A clear status, naming what failed.
    assert run.status == expected_status(fault, mode, run), (run.status, run.error, run.log[-5:])
    expected = fault.names(simulator, org_id)
    if fault.outcome in ('held', 'silent'):
        removals = run.changes.filter(action__in=REMOVALS)
        assert removals.exists() or fault.outcome == 'silent'
        assert set(removals.values_list('state', flat=True)) <= {ChangeStateChoices.HELD}, list(
            removals.exclude(state=ChangeStateChoices.HELD).values_list('kind', 'meraki_id', 'state', 'reason'))
        assert all(expected in reason for reason in removals.values_list('reason', flat=True))
    else:
        assert expected in run.error, run.error
        assert not run.changes.filter(action__in=REMOVALS).exists()
    if fault.outcome == 'failed':
        assert not run.changes.exists()
    assert_key_nowhere(key, run, admin_client, caplog)

    # Nothing lost: no deletion, no ownership dropped, no field blanked or changed to anything Meraki does not say.
    simulator.clear_faults()
    simulator.backend.revoked.clear()
    simulator.backend.revoke_after.clear()
    meraki_config['api_key'] = simulator.api_key
    after = owned_values(org_id)
    assert_nothing_lost(before, after, owners, ownership(), desired_state(org_id))
    if mode != SyncModeChoices.AUTO:
        assert after == before and ObjectChange.objects.count() == changelog

    # Without the fault, the next run (and, for a review, its approval) brings NetBox to what Meraki holds.
    a_removal_after_the_fault(simulator, org_id)
    sync_and_review(org_id, SyncModeChoices.AUTO if mode == SyncModeChoices.DRY_RUN else mode)
    assert_converged(org_id)


def test_a_short_burst_of_errors_is_retried_and_the_run_completes(simulator, meraki_config, baseline):
    simulator.rename_device(sorted(simulator.dashboard.orgs[baseline['org_id']].devices)[0], 'renamed')
    simulator.inject('server_error', endpoint=DEVICES, count=1, status=502)
    run = sync(baseline['org_id'])
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert_converged(baseline['org_id'])


def test_the_api_key_is_in_no_job_data_or_log_of_a_failing_background_sync(
    simulator, meraki_config, baseline, django_capture_on_commit_callbacks, caplog,
):
    from core.models import Job

    from netbox_meraki.jobs import SyncJob
    from netbox_meraki.sync import MerakiSyncService

    capture_every_log_line(caplog)
    key = meraki_config['api_key']
    simulator.inject('server_error', endpoint=DEVICES)
    simulator.revoke_key(key, after=4)
    with django_capture_on_commit_callbacks():
        (run,) = MerakiSyncService().sync_all(mode='auto', organization_ids=[baseline['org_id']], background=True)
    SyncJob.handle(run.job, run_id=run.pk)  # what the worker does with the job

    job = Job.objects.get(pk=run.job.pk)
    run.refresh_from_db()
    assert run.status == RunStatusChoices.FAILED and job.status == 'failed'
    stored = [str(job.data), str(job.log_entries), str(job.error), run.error, str(run.log)]
    stored += [record.getMessage() for record in caplog.records]
    assert 'API key was refused' in run.error
    assert not [text for text in stored if key in text]


# The empty-answer guard.


def busiest_network(sim, org_id):
    org = sim.dashboard.orgs[org_id]
    return max(sorted(org.networks), key=lambda n: sum(d['networkId'] == n for d in org.devices.values()))


@pytest.mark.parametrize('mode', MODES)
def test_a_network_answered_empty_keeps_everything_and_holds_the_removals(simulator, meraki_config, baseline, mode):
    org_id = baseline['org_id']
    network_id = busiest_network(simulator, org_id)
    before, owners = owned_values(org_id), ownership()
    # Meraki answers the device list successfully, without one network's devices.
    simulator.inject('empty_list', endpoint=DEVICES, network_id=network_id)

    run = sync(org_id, mode)

    removals = run.changes.filter(action__in=REMOVALS)
    assert removals.filter(kind='device').exists()
    assert set(removals.values_list('state', flat=True)) == {ChangeStateChoices.HELD}
    assert set(removals.values_list('scope', flat=True)) == {network_id}
    held = removals.filter(kind='device').first()
    # The reason names the network's site as NetBox does.
    site = Site.objects.get(pk=SyncedObject.objects.get(kind='site', meraki_id=network_id).object_id)
    assert f'site {site.name}' in held.reason and 'Held for review' in held.reason
    assert run.status == (RunStatusChoices.COMPLETED if mode == SyncModeChoices.DRY_RUN
                          else RunStatusChoices.AWAITING_REVIEW)
    assert owned_values(org_id) == before and ownership() == owners

    simulator.clear_faults()
    assert sync_and_review(org_id).changes.count() == 0
    assert_converged(org_id)


def test_the_guard_threshold_is_a_setting(simulator, meraki_config, baseline):
    org_id = baseline['org_id']
    network_id = busiest_network(simulator, org_id)
    org = simulator.dashboard.orgs[org_id]
    for serial in [s for s, d in org.devices.items() if d['networkId'] == network_id]:
        simulator.remove_device(serial)
    settings = PluginSettings.load()
    settings.deletion_threshold = 100
    settings.delete_policy = {**settings.delete_policy, 'device': 'delete'}
    settings.full_clean()
    settings.save()

    run = sync(org_id)

    # At 100%, removing every device of a network is what the operator allows: applied at once.
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert not run.changes.filter(state=ChangeStateChoices.HELD).exists()
    assert run.changes.filter(kind='device', action=ChangeActionChoices.DELETE).count() >= 2
    assert_converged(org_id)


def test_a_new_cable_waits_with_the_held_removal_of_the_cable_it_replaces(simulator, meraki_config, baseline):
    org_id = baseline['org_id']
    org = simulator.dashboard.orgs[org_id]
    # A port that is cabled, re-cabled to an end that is cabled too: both old cables go, one new one comes.
    links = [link for link in org.links if link['a'].get('serial') in org.switch_ports and link['b'].get('serial')]
    first, second = links[:2]
    settings = PluginSettings.load()
    settings.deletion_threshold = 0
    settings.save()
    simulator.recable(first['a']['serial'], first['a']['portId'], second['b']['serial'], second['b']['portId'])

    run = sync(org_id, full_read=True)  # cabling is not a logged configuration change

    cables = run.changes.filter(kind='cable')
    assert set(cables.filter(action=ChangeActionChoices.DELETE).values_list('state', flat=True)) == {
        ChangeStateChoices.HELD}
    new = cables.get(action=ChangeActionChoices.CREATE)
    assert new.state == ChangeStateChoices.HELD and 'Held for review until cable' in new.reason
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert not run.changes.filter(state=ChangeStateChoices.FAILED).exists()

    assert sync_and_review(org_id).status == RunStatusChoices.COMPLETED
    assert_converged(org_id)
