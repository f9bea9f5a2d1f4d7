"""
One review queue per organization: a new review supersedes the older one and takes over its decisions where the change
is the same; a rejection stands in later runs, review or auto, until Meraki's value changes or someone undoes it; dry
runs are planned only, and can be turned into a review.
"""

import importlib

import pytest
from django.apps import apps

from dcim.models import Device

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import Change, Rejection, SyncRun
from netbox_meraki.review_queue import undo_rejections
from netbox_meraki.sync import (
    SyncRefused,
    apply_review,
    approve_changes,
    execute_run,
    reject_changes,
    turn_into_review,
)

from .test_sync import sync

pytestmark = pytest.mark.django_db

KEPT = "kept rejected until Meraki's value changes"


def renames(run):
    """{serial: the run's change renaming that device}"""
    return {change.meraki_id: change for change in run.changes.filter(kind='device', action='update')}


@pytest.fixture
def serials(meraki_config, org_id, meraki_view):
    """The devices of an organization NetBox already holds in full (a first auto sync), sorted."""
    assert sync(org_id).status == RunStatusChoices.COMPLETED
    return sorted(meraki_view.read().devices)


def test_a_new_review_supersedes_the_older_one_and_takes_over_its_decisions(simulator, org_id, serials):
    applied, approved, rejected, undecided, later = serials[:5]
    for serial in (applied, approved, rejected, undecided):
        simulator.rename_device(serial, f'first-{serial}')
    first = sync(org_id, mode=SyncModeChoices.REVIEW)
    changes = renames(first)
    approve_changes(first, [changes[applied].pk])
    first = apply_review(first, background=False)
    assert first.status == RunStatusChoices.AWAITING_REVIEW
    approve_changes(first, [changes[approved].pk])
    reject_changes(first, [changes[rejected].pk])
    simulator.rename_device(later, f'first-{later}')

    second = sync(org_id, mode=SyncModeChoices.REVIEW)

    first.refresh_from_db()
    assert first.status == RunStatusChoices.SUPERSEDED
    assert first.is_finished
    assert f'Superseded by run #{second.pk}' in first.log[-1]['message']
    states = {serial: change.state for serial, change in renames(first).items()}
    assert states == {
        applied: ChangeStateChoices.APPLIED, approved: ChangeStateChoices.SUPERSEDED,
        rejected: ChangeStateChoices.REJECTED, undecided: ChangeStateChoices.SUPERSEDED,
    }
    assert Device.objects.get(serial=applied).name == f'first-{applied}'  # what it applied stays applied

    assert second.status == RunStatusChoices.AWAITING_REVIEW
    taken_over = renames(second)
    assert applied not in taken_over
    assert taken_over[approved].state == ChangeStateChoices.APPROVED
    assert taken_over[approved].reason == f'Approved in run #{first.pk}.'
    assert taken_over[rejected].state == ChangeStateChoices.REJECTED
    assert taken_over[rejected].reason == f'Rejected in run #{first.pk}; {KEPT}.'
    assert taken_over[undecided].state == ChangeStateChoices.PENDING
    assert taken_over[later].state == ChangeStateChoices.PENDING
    assert list(SyncRun.objects.filter(organization_id=org_id, status=RunStatusChoices.AWAITING_REVIEW)) == [second]

    # Undoing the rejection where it was made (a superseded run) reopens the change it keeps rejected in the review.
    assert undo_rejections(first.changes.filter(pk=changes[rejected].pk)) == 1
    assert renames(first)[rejected].state == ChangeStateChoices.REJECTED
    assert renames(second)[rejected].state == ChangeStateChoices.PENDING


def test_scheduled_auto_runs_holding_removals_never_pile_up_reviews(simulator, org_id, serials, meraki_view):
    """An auto run holding removals ends awaiting review; the next one supersedes it and applies what was approved."""
    view = meraki_view.read()
    network_id = max(view.networks, key=lambda n: sum(
        d['networkId'] == n and bool(d['lanIp']) for d in view.devices.values()))
    cleared = [s for s, d in view.devices.items() if d['networkId'] == network_id and d['lanIp']]
    assert len(cleared) >= 2
    for serial in cleared:
        simulator.edit_device(serial, mac='')  # every MAC of a network gone at once: the removals are held
    first = sync(org_id)
    held = {change.meraki_id: change for change in first.changes.filter(kind='macaddress')}
    assert first.status == RunStatusChoices.AWAITING_REVIEW
    assert {change.state for change in held.values()} == {ChangeStateChoices.HELD}
    chosen, *others = sorted(held)
    approve_changes(first, [held[chosen].pk])

    second = sync(org_id)

    first.refresh_from_db()
    assert first.status == RunStatusChoices.SUPERSEDED
    assert set(first.changes.filter(kind='macaddress').values_list('state', flat=True)) == {
        ChangeStateChoices.SUPERSEDED}
    again = {change.meraki_id: change for change in second.changes.filter(kind='macaddress')}
    assert again[chosen].state == ChangeStateChoices.APPLIED  # approved in the run it supersedes
    assert again[chosen].reason == f'Approved in run #{first.pk}.'
    assert {again[meraki_id].state for meraki_id in others} == {ChangeStateChoices.HELD}
    assert list(SyncRun.objects.filter(organization_id=org_id, status=RunStatusChoices.AWAITING_REVIEW)) == [second]

    # A dry run supersedes nothing.
    assert sync(org_id, mode=SyncModeChoices.DRY_RUN).status == RunStatusChoices.COMPLETED
    second.refresh_from_db()
    assert second.status == RunStatusChoices.AWAITING_REVIEW


def test_an_approval_carries_over_only_where_meraki_still_wants_the_same(simulator, org_id, serials):
    serial = serials[0]
    simulator.rename_device(serial, 'approved-name')
    first = sync(org_id, mode=SyncModeChoices.REVIEW)
    approve_changes(first)
    simulator.rename_device(serial, 'meraki-changed-its-mind')

    second = sync(org_id, mode=SyncModeChoices.REVIEW)

    change = renames(second)[serial]
    assert change.after == {'name': 'meraki-changed-its-mind'}
    assert change.state == ChangeStateChoices.PENDING and change.reason == ''


def test_a_rejection_stands_in_auto_runs_until_meraki_changes_the_value(simulator, org_id, serials):
    serial = serials[0]
    original = Device.objects.get(serial=serial).name
    simulator.rename_device(serial, 'rejected-name')
    review = sync(org_id, mode=SyncModeChoices.REVIEW)
    reject_changes(review)
    review.refresh_from_db()
    assert review.status == RunStatusChoices.COMPLETED  # nothing left to decide

    auto = sync(org_id)

    change = renames(auto)[serial]
    assert change.state == ChangeStateChoices.REJECTED
    assert change.reason == f'Rejected in run #{review.pk}; {KEPT}.'
    assert Device.objects.get(serial=serial).name == original
    assert auto.status == RunStatusChoices.COMPLETED
    assert 'rejected 1' in auto.log[-1]['message']

    simulator.rename_device(serial, 'meraki-renamed-again')
    changed = sync(org_id)
    assert renames(changed)[serial].state == ChangeStateChoices.APPLIED
    assert Device.objects.get(serial=serial).name == 'meraki-renamed-again'
    assert not Rejection.objects.exists()

    # Lifted for good: the value once rejected is planned normally when Meraki comes back to it.
    simulator.rename_device(serial, 'rejected-name')
    back = sync(org_id)
    assert renames(back)[serial].state == ChangeStateChoices.APPLIED
    assert Device.objects.get(serial=serial).name == 'rejected-name'


def test_standing_rejections_cost_one_query_whatever_the_plan(simulator, org_id, serials,
                                                              django_assert_max_num_queries):
    from netbox_meraki.review_queue import apply_rejections

    for serial in serials[:3]:
        simulator.rename_device(serial, f'rejected-{serial}')
    reject_changes(sync(org_id, mode=SyncModeChoices.REVIEW))
    run = SyncRun.objects.create(organization_id=org_id, mode=SyncModeChoices.AUTO, trigger='command')
    plan = [Change(run=run, sequence=number, kind='device', meraki_id=serial, action='update',
                   after={'name': f'rejected-{serial}'}) for number, serial in enumerate(serials[:3] * 1000)]
    with django_assert_max_num_queries(1):
        apply_rejections(run, plan)
    assert {change.state for change in plan} == {ChangeStateChoices.REJECTED}


def test_undoing_a_rejection_reopens_it_in_its_review_and_lets_a_finished_run_forget_it(simulator, org_id, serials):
    first, second = serials[:2]
    simulator.rename_device(first, 'renamed-one')
    simulator.rename_device(second, 'renamed-two')
    review = sync(org_id, mode=SyncModeChoices.REVIEW)
    changes = renames(review)
    reject_changes(review, [changes[first].pk])

    assert undo_rejections(Change.objects.filter(pk=changes[first].pk)) == 1
    changes[first].refresh_from_db()
    assert changes[first].state == ChangeStateChoices.PENDING
    assert not Rejection.objects.exists()

    # A rejection kept by a finished auto run: undone there, the next run applies the change.
    reject_changes(review)
    auto = sync(org_id)
    assert {change.state for change in renames(auto).values()} == {ChangeStateChoices.REJECTED}
    assert undo_rejections(auto.changes.filter(meraki_id=first)) == 1
    assert renames(auto)[first].state == ChangeStateChoices.REJECTED  # the run's history stays as it was
    assert undo_rejections(auto.changes.filter(meraki_id=first)) == 0  # nothing stands any more

    following = sync(org_id)
    states = {serial: change.state for serial, change in renames(following).items()}
    assert states == {first: ChangeStateChoices.APPLIED, second: ChangeStateChoices.REJECTED}
    assert Device.objects.get(serial=first).name == 'renamed-one'


def test_a_dry_run_is_planned_only_and_turns_into_a_review_planned_anew(simulator, org_id, serials,
                                                                        django_capture_on_commit_callbacks):
    serial = serials[0]
    simulator.rename_device(serial, 'dry-name')
    dry_run = sync(org_id, mode=SyncModeChoices.DRY_RUN)
    assert renames(dry_run)[serial].state == ChangeStateChoices.PLANNED
    assert renames(dry_run)[serial].get_state_display() == 'Planned only'
    with pytest.raises(SyncRefused):
        reject_changes(dry_run)

    simulator.rename_device(serial, 'renamed-since-the-dry-run')
    with django_capture_on_commit_callbacks() as queued:
        review = turn_into_review(dry_run)
    assert review.mode == SyncModeChoices.REVIEW and review.status == RunStatusChoices.PENDING
    assert review.job is not None and queued
    assert (review.organization_id, review.network_ids) == (dry_run.organization_id, dry_run.network_ids)
    review = execute_run(review)  # what the worker does with the job

    assert review.status == RunStatusChoices.AWAITING_REVIEW
    assert review.log[0]['message'].startswith(f'Turned into a review from dry run #{dry_run.pk}')
    dry_run.refresh_from_db()
    assert dry_run.log[-1]['message'] == f'Turned into a review: run #{review.pk}.'
    change = renames(review)[serial]
    assert change.after == {'name': 'renamed-since-the-dry-run'} and change.state == ChangeStateChoices.PENDING

    with pytest.raises(SyncRefused, match='not a dry run'):
        turn_into_review(review)


def migration_function():
    return importlib.import_module('netbox_meraki.migrations.0010_review_queue').plan_dry_runs_and_supersede_reviews


def test_the_migration_plans_old_dry_runs_and_keeps_one_review_per_organization(db):
    def run(organization_id, mode, status, *states):
        made = SyncRun.objects.create(organization_id=organization_id, mode=mode, trigger='command', status=status)
        Change.objects.bulk_create(Change(run=made, sequence=number, kind='device', meraki_id=f'Q-{number}',
                                          action='update', state=state) for number, state in enumerate(states))
        return made

    dry_run = run('1', SyncModeChoices.DRY_RUN, RunStatusChoices.COMPLETED, 'pending', 'held')
    older = run('1', SyncModeChoices.REVIEW, RunStatusChoices.AWAITING_REVIEW, 'pending', 'approved', 'applied',
                'rejected')
    newer = run('1', SyncModeChoices.REVIEW, RunStatusChoices.AWAITING_REVIEW, 'pending')
    other_organization = run('2', SyncModeChoices.REVIEW, RunStatusChoices.AWAITING_REVIEW, 'pending')

    migration_function()(apps, None)

    def states(made):
        made.refresh_from_db()
        return made.status, list(made.changes.values_list('state', flat=True))

    assert states(dry_run) == (RunStatusChoices.COMPLETED, ['planned', 'held'])
    assert states(older) == (RunStatusChoices.SUPERSEDED, ['superseded', 'superseded', 'applied', 'rejected'])
    assert states(newer) == (RunStatusChoices.AWAITING_REVIEW, ['pending'])
    assert states(other_organization) == (RunStatusChoices.AWAITING_REVIEW, ['pending'])
