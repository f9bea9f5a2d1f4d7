"""Reviewing a run: approving and rejecting changes one by one and in bulk, then applying the approved ones."""

import pytest
from django.urls import reverse

from dcim.models import Site
from utilities.testing.utils import disable_warnings

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices
from netbox_meraki.models import SyncRun
from netbox_meraki.sync import execute_review

pytestmark = pytest.mark.django_db

APPROVE = reverse('plugins:netbox_meraki:change_bulk_approve')
REJECT = reverse('plugins:netbox_meraki:change_bulk_reject')


@pytest.fixture
def reviewer(user, user_client, grant):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change', 'netbox_meraki.approve_change')
    return user_client


def states(run):
    return dict(run.changes.values_list('pk', 'state'))


def test_approving_and_rejecting_one_change_or_the_ticked_ones(reviewer, review_run):
    changes_url = reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk})
    page = reviewer.get(changes_url).content.decode()
    assert 'Approve selected' in page and 'Reject selected' in page
    assert 'name="pk"' in page, 'the table has no checkboxes'

    sites = list(review_run.changes.filter(kind='site').values_list('pk', flat=True))
    device = review_run.changes.filter(kind='device').first()
    response = reviewer.post(f'{APPROVE}?return_url={changes_url}', {'pk': sites}, follow=True)
    assert f'{len(sites)} changes approved.' in response.content.decode()
    assert response.redirect_chain[-1][0] == changes_url
    response = reviewer.post(REJECT, {'change': device.pk}, follow=True)
    assert '1 change rejected.' in response.content.decode()

    after = states(review_run)
    assert {after[pk] for pk in sites} == {ChangeStateChoices.APPROVED}
    assert after[device.pk] == ChangeStateChoices.REJECTED
    assert list(after.values()).count(ChangeStateChoices.PENDING) == len(after) - len(sites) - 1


def test_approve_all_and_reject_all_take_every_undecided_change_of_the_run(reviewer, review_run):
    reviewer.post(REJECT, {'change': review_run.changes.first().pk})
    reviewer.post(APPROVE, {'_all': '', 'run': review_run.pk})
    values = list(states(review_run).values())
    assert values.count(ChangeStateChoices.REJECTED) == 1
    assert values.count(ChangeStateChoices.APPROVED) == len(values) - 1


def test_deciding_needs_the_approve_permission_and_a_post(user, user_client, grant, review_run):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change')
    page = user_client.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}))
    assert 'Approve selected' not in page.content.decode()
    assert 'approved change' not in page.content.decode()
    change = review_run.changes.first()
    with disable_warnings('django.request'):
        assert user_client.post(APPROVE, {'change': change.pk}).status_code == 403
        assert user_client.post(
            reverse('plugins:netbox_meraki:syncrun_apply', kwargs={'pk': review_run.pk})
        ).status_code == 403
    grant(user, 'netbox_meraki.approve_change')
    with disable_warnings('django.request'):
        assert user_client.get(APPROVE).status_code == 405
    assert states(review_run)[change.pk] == ChangeStateChoices.PENDING


def test_a_run_that_is_not_awaiting_review_refuses_decisions(reviewer, review_run):
    SyncRun.objects.filter(pk=review_run.pk).update(status=RunStatusChoices.COMPLETED)
    change = review_run.changes.first()
    response = reviewer.post(APPROVE, {'change': change.pk}, follow=True)
    assert 'not awaiting review' in response.content.decode()
    assert states(review_run)[change.pk] == ChangeStateChoices.PENDING
    page = reviewer.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}))
    assert 'Approve selected' not in page.content.decode()


def test_applying_the_approved_changes_runs_them_as_a_job_and_shows_each_outcome(
    reviewer, review_run, django_capture_on_commit_callbacks,
):
    sites = review_run.changes.filter(kind='site')
    devices = review_run.changes.filter(kind='device')
    reviewer.post(APPROVE, {'pk': [*sites.values_list('pk', flat=True), devices.first().pk]})
    apply_url = reverse('plugins:netbox_meraki:syncrun_apply', kwargs={'pk': review_run.pk})
    with disable_warnings('django.request'):
        assert reviewer.get(apply_url).status_code == 405

    with django_capture_on_commit_callbacks() as queued:
        response = reviewer.post(apply_url)
    assert response.status_code == 302 and response.url == review_run.get_absolute_url()
    review_run.refresh_from_db()
    assert review_run.status == RunStatusChoices.PENDING
    assert review_run.job is not None and queued

    # What the worker does with the job.
    execute_review(review_run)
    assert set(sites.values_list('state', flat=True)) == {ChangeStateChoices.APPLIED}
    assert Site.objects.filter(tags__slug='meraki').count() == sites.count()
    # The device needs its device type and role, which were not approved: it is skipped, with the reason.
    skipped = devices.first()
    skipped.refresh_from_db()
    assert skipped.state == ChangeStateChoices.SKIPPED and skipped.reason

    page = reviewer.get(
        reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}), {'state': 'skipped'}
    ).content.decode()
    assert skipped.reason in page
    assert 'Skipped' in page


def test_applying_without_approved_changes_says_so(reviewer, review_run):
    response = reviewer.post(reverse('plugins:netbox_meraki:syncrun_apply', kwargs={'pk': review_run.pk}), follow=True)
    assert 'has no approved changes to apply' in response.content.decode()
    review_run.refresh_from_db()
    assert review_run.status == RunStatusChoices.AWAITING_REVIEW


def test_the_review_page_lists_the_runs_awaiting_review(admin_client, review_run):
    SyncRun.objects.create(organization_id='999', organization_name='Done Org', mode='auto', trigger='manual',
                           status=RunStatusChoices.COMPLETED)
    page = admin_client.get(reverse('plugins:netbox_meraki:review')).content.decode()
    assert review_run.organization_name in page
    assert 'Done Org' not in page
    assert reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk}) in page
    assert f'>{review_run.changes.count()}<' in page
