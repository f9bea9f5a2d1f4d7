"""Turning a dry run into a review and undoing a rejection through the REST API, with the permissions each needs."""

import pytest

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.models import Change, Rejection, SyncRun
from netbox_meraki.permissions import APPROVE_ACTION, RUN_ACTION
from netbox_meraki.sync import reject_changes

pytestmark = pytest.mark.django_db


@pytest.fixture
def dry_run(runs):
    """A finished dry run (of organization 2002)."""
    run = runs[2]
    assert run.mode == SyncModeChoices.DRY_RUN and run.is_finished
    return run


def turn(user, run):
    return user.post(f'/runs/{run.pk}/turn-into-review/')


def test_turning_a_dry_run_into_a_review_starts_a_review_run_of_its_organization_and_networks(
    api, dry_run, django_capture_on_commit_callbacks,
):
    SyncRun.objects.filter(pk=dry_run.pk).update(network_ids=['N_1', 'N_2'])
    api.grant(SyncRun, 'view', RUN_ACTION).grant(Change, 'view', APPROVE_ACTION)
    with django_capture_on_commit_callbacks() as queued:
        response = turn(api, dry_run)
    assert response.status_code == 202, response.content
    review = SyncRun.objects.get(pk=response.json()['id'])
    assert (review.mode, review.status, review.trigger) == (
        SyncModeChoices.REVIEW, RunStatusChoices.PENDING, RunTriggerChoices.API)
    assert (review.organization_id, review.network_ids) == ('2002', ['N_1', 'N_2'])
    assert response.json()['job']['id'] == review.job_id and queued
    assert review.log[0]['message'].startswith(f'Turned into a review from dry run #{dry_run.pk}')
    dry_run.refresh_from_db()
    assert dry_run.log[-1]['message'] == f'Turned into a review: run #{review.pk}.'


@pytest.mark.parametrize('permissions', [
    ((SyncRun, 'view', RUN_ACTION), (Change, 'view')),
    ((SyncRun, 'view'), (Change, 'view', APPROVE_ACTION)),
], ids=['without approve_change', 'without run_syncrun'])
def test_turning_a_dry_run_into_a_review_needs_both_rights(api, dry_run, permissions):
    for model, *actions in permissions:
        api.grant(model, *actions)
    assert turn(api, dry_run).status_code == 403
    assert not SyncRun.objects.filter(mode=SyncModeChoices.REVIEW, organization_id='2002').exists()


def test_only_a_finished_dry_run_turns_into_a_review(admin_api, runs):
    response = turn(admin_api, runs[0])
    assert response.status_code == 409
    assert response.json()['detail'] == f'Run #{runs[0].pk} is not a dry run.'


def test_undoing_a_rejection_needs_approve_change_and_a_rejection(api, runs):
    review = runs[1]
    change = review.changes.get(kind='site')
    reject_changes(review, [change.pk])
    assert Rejection.objects.filter(organization_id=review.organization_id, meraki_id=change.meraki_id).exists()
    path = f'/changes/{change.pk}/undo-rejection/'

    api.grant(SyncRun, 'view').grant(Change, 'view')
    assert api.post(path).status_code == 403
    api.grant(Change, APPROVE_ACTION)
    response = api.post(path)
    assert response.status_code == 200, response.content
    assert response.json()['state']['value'] == ChangeStateChoices.PENDING
    assert not Rejection.objects.exists()
    assert api.post(path).status_code == 409
