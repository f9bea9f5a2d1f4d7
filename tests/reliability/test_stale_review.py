"""
A plan approved after Meraki or NetBox changed applies only what still stands, marks the rest as conflicts, and never
brings back an object that was deleted since the plan.
"""

import pytest

from dcim.models import Cable, Device

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import PluginSettings, SyncedObject
from netbox_meraki.sync import apply_review, approve_changes

from .conftest import assert_converged, owned_values, sync

pytestmark = pytest.mark.django_db
# The tests share one synced organization (see conftest.baseline); each runs in a transaction rolled back after.
SHARED_BASELINE = True

DEVICES = 'GET /organizations/{organizationId}/devices'


def org_of(sim, org_id):
    return sim.dashboard.orgs[org_id]


def meraki_link(org):
    """A link from a switch port to another Meraki device: (switch end, other end)."""
    for link in org.links:
        a, b = sorted((link['a'], link['b']), key=lambda end: end.get('serial') not in org.switch_ports)
        if a.get('serial') in org.switch_ports and b.get('serial') in org.devices:
            return a, b
    raise AssertionError('no link between two Meraki devices')


def change(run, kind, meraki_id, action=None):
    changes = run.changes.filter(kind=kind, meraki_id=meraki_id)
    return (changes.filter(action=action) if action else changes).get()


def test_a_review_approved_after_meraki_changed_applies_only_what_still_holds(simulator, meraki_config, baseline):
    org_id = baseline['org_id']
    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, 'device': 'delete'}
    settings.save()
    org = org_of(simulator, org_id)
    first, second, removed = sorted(org.devices)[:3]
    a, b = meraki_link(org)
    network_id = org.devices[first]['networkId']
    simulator.rename_device(first, 'first-renamed')
    simulator.rename_device(second, 'second-renamed')
    simulator.remove_device(removed)
    simulator.remove_link(a['serial'], a['portId'])
    added = simulator.add_device(network_id, model='MS120-8LP', name='added')
    run = sync(org_id, SyncModeChoices.REVIEW, full_read=True)  # the unplugged cable is seen by full reads
    assert run.status == RunStatusChoices.AWAITING_REVIEW

    # Meraki moves on before anyone approves: a second rename, the cable back, the new switch gone again.
    simulator.rename_device(first, 'first-renamed-again')
    simulator.recable(a['serial'], a['portId'], b['serial'], b['portId'])
    simulator.remove_device(added)
    approve_changes(run)
    run = apply_review(run, background=False)

    assert change(run, 'device', second).state == ChangeStateChoices.APPLIED
    assert Device.objects.get(serial=second).name == 'second-renamed'
    assert change(run, 'device', removed).state == ChangeStateChoices.APPLIED
    assert not Device.objects.filter(serial=removed).exists()

    stale = change(run, 'device', first)
    assert stale.state == ChangeStateChoices.CONFLICT
    assert "Meraki changed since the plan was made (name is now 'first-renamed-again')" in stale.reason
    assert Device.objects.get(serial=first).name != 'first-renamed'
    back = run.changes.get(kind='cable', action=ChangeActionChoices.DELETE,
                           meraki_id__contains=f'{a["serial"]}:port/{a["portId"]}')
    assert back.state == ChangeStateChoices.CONFLICT and 'Meraki has it again' in back.reason
    assert Cable.objects.filter(pk=back.object_id).exists()
    gone = run.changes.filter(meraki_id__startswith=added)
    assert gone.exists() and set(gone.values_list('state', flat=True)) == {ChangeStateChoices.CONFLICT}
    assert not Device.objects.filter(serial=added).exists()
    assert run.status == RunStatusChoices.PARTIAL

    assert sync(org_id, full_read=True).status == RunStatusChoices.COMPLETED  # the cable put back: a full read sees it
    assert_converged(org_id)


def test_a_review_approved_after_netbox_changed_never_brings_back_what_was_deleted(
    simulator, meraki_config, baseline,
):
    org_id = baseline['org_id']
    org = org_of(simulator, org_id)
    renamed = sorted(org.devices)[0]
    simulator.rename_device(renamed, 'renamed')
    added = simulator.add_device(org.devices[renamed]['networkId'], model='MR36', name='new-ap')
    review = sync(org_id, SyncModeChoices.REVIEW)
    assert review.changes.filter(kind='device', meraki_id=added, action=ChangeActionChoices.CREATE).exists()

    # Another run applies the same changes; then a person deletes both devices.
    assert sync(org_id).status == RunStatusChoices.COMPLETED
    for device in Device.objects.filter(serial__in=[renamed, added]):
        device.snapshot()
        device.delete()

    approve_changes(review)
    review = apply_review(review, background=False)

    update = change(review, 'device', renamed)
    assert update.state == ChangeStateChoices.CONFLICT and 'no longer exists' in update.reason
    create = change(review, 'device', added)
    assert create.state == ChangeStateChoices.CONFLICT and 'synced and then deleted' in create.reason
    assert not review.changes.filter(state=ChangeStateChoices.APPLIED, action=ChangeActionChoices.CREATE).exclude(
        kind__in=('manufacturer', 'devicetype', 'role', 'platform')).exists()
    assert not Device.objects.filter(serial__in=[renamed, added]).exists()


def test_approved_removals_of_a_hiccup_are_not_applied_once_meraki_answers_again(simulator, meraki_config, baseline):
    org_id = baseline['org_id']
    before = owned_values(org_id)
    simulator.inject('empty_list', endpoint=DEVICES)
    run = sync(org_id)
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    simulator.clear_faults()

    # A person approves everything the hiccup held: Meraki, read again, still has it all.
    approve_changes(run)
    run = apply_review(run, background=False)

    removals = run.changes.filter(action=ChangeActionChoices.DELETE)
    assert removals.exists()
    assert set(removals.values_list('state', flat=True)) == {ChangeStateChoices.CONFLICT}
    assert 'Meraki has it again' in removals.first().reason
    assert owned_values(org_id) == before


def test_a_review_is_not_applied_while_meraki_cannot_be_read_and_keeps_its_approvals(
    simulator, meraki_config, baseline,
):
    org_id = baseline['org_id']
    org = org_of(simulator, org_id)
    serial = sorted(org.devices)[0]
    simulator.rename_device(serial, 'renamed')
    run = sync(org_id, SyncModeChoices.REVIEW)
    approve_changes(run)
    simulator.inject('server_error', endpoint=DEVICES)

    run = apply_review(run, background=False)

    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert 'Nothing was applied' in run.error and 'getOrganizationDevices failed' in run.error
    assert set(run.changes.values_list('state', flat=True)) == {ChangeStateChoices.APPROVED}
    assert Device.objects.get(serial=serial).name != 'renamed'

    simulator.clear_faults()
    run = apply_review(run, background=False)
    assert run.status == RunStatusChoices.COMPLETED, run.log[-5:]
    assert Device.objects.get(serial=serial).name == 'renamed'
    assert SyncedObject.objects.filter(kind='device', meraki_id=serial).exists()

