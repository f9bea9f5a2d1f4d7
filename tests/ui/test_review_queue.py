"""
The review queue in the web UI: the Review list shows one run per organization, a rejection is undone from its change
page or in bulk, and a dry run, planned only, is turned into a review from its page.
"""

import pytest
from django.urls import reverse

from utilities.testing.utils import disable_warnings

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import Rejection, SyncRun
from netbox_meraki.sync import reject_changes

from .conftest import run_sync

pytestmark = pytest.mark.django_db

UNDO = reverse('plugins:netbox_meraki:change_bulk_undo_rejection')


def turn_url(run):
    return reverse('plugins:netbox_meraki:syncrun_turn_into_review', kwargs={'pk': run.pk})


@pytest.fixture
def reviewer(user, user_client, grant):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change', 'netbox_meraki.approve_change')
    return user_client


def test_the_review_list_shows_only_the_newest_review_of_an_organization(admin_client, meraki_config, org_id):
    older = run_sync(org_id)
    newer = run_sync(org_id)
    older.refresh_from_db()
    assert older.status == RunStatusChoices.SUPERSEDED
    page = admin_client.get(reverse('plugins:netbox_meraki:review')).content.decode()
    changes_url = 'plugins:netbox_meraki:syncrun_changes'
    assert reverse(changes_url, kwargs={'pk': newer.pk}) in page
    assert reverse(changes_url, kwargs={'pk': older.pk}) not in page
    run_page = admin_client.get(older.get_absolute_url()).content.decode()
    assert 'Superseded' in run_page and f'Superseded by run #{newer.pk}' in run_page
    assert 'Review changes' not in run_page


def test_a_rejection_is_undone_from_the_change_page(reviewer, review_run):
    change = review_run.changes.filter(kind='site').first()
    reject_changes(review_run, [change.pk])
    page = reviewer.get(change.get_absolute_url()).content.decode()
    assert 'Undo rejection' in page

    response = reviewer.post(UNDO, {'change': change.pk, 'return_url': change.get_absolute_url()}, follow=True)

    assert 'The rejection of 1 change was undone.' in response.content.decode()
    change.refresh_from_db()
    assert change.state == ChangeStateChoices.PENDING
    assert 'Undo rejection' not in reviewer.get(change.get_absolute_url()).content.decode()


def test_a_finished_runs_rejections_are_undone_in_bulk_from_its_changes(reviewer, review_run):
    reject_changes(review_run)
    review_run.refresh_from_db()
    assert review_run.status == RunStatusChoices.COMPLETED
    page = reviewer.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': review_run.pk})).content
    assert 'Undo rejection' in page.decode() and 'Approve selected' not in page.decode()
    sites = list(review_run.changes.filter(kind='site').values_list('pk', flat=True))

    reviewer.post(UNDO, {'pk': sites})

    standing = Rejection.objects.filter(organization_id=review_run.organization_id)
    assert not standing.filter(kind='site').exists()
    assert standing.count() == review_run.changes.count() - len(sites)
    assert set(review_run.changes.values_list('state', flat=True)) == {ChangeStateChoices.REJECTED}


def test_undoing_a_rejection_needs_approve_change(user, user_client, grant, review_run):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change')
    change = review_run.changes.first()
    reject_changes(review_run, [change.pk])
    assert 'Undo rejection' not in user_client.get(change.get_absolute_url()).content.decode()
    with disable_warnings('django.request'):
        assert user_client.post(UNDO, {'change': change.pk}).status_code == 403
    change.refresh_from_db()
    assert change.state == ChangeStateChoices.REJECTED
    assert Rejection.objects.count() == 1


def test_a_dry_run_is_planned_only_and_turned_into_a_review_from_its_page(user, user_client, grant, meraki_config,
                                                                          org_id):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change', 'netbox_meraki.run_syncrun',
          'netbox_meraki.approve_change')
    dry_run = run_sync(org_id, SyncModeChoices.DRY_RUN)
    changes = user_client.get(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': dry_run.pk}))
    assert 'Planned only' in changes.content.decode()
    page = user_client.get(dry_run.get_absolute_url()).content.decode()
    assert 'Turn into a review' in page and 'planned only' in page

    response = user_client.post(turn_url(dry_run))

    review = SyncRun.objects.get(mode=SyncModeChoices.REVIEW)
    assert response.status_code == 302 and response.url == review.get_absolute_url()
    assert (review.status, review.organization_id, review.user) == (RunStatusChoices.PENDING, org_id, user)
    assert f'dry run #{dry_run.pk}' in user_client.get(review.get_absolute_url()).content.decode()


@pytest.mark.parametrize('rights', [
    ('netbox_meraki.run_syncrun',), ('netbox_meraki.approve_change',),
], ids=['without approve_change', 'without run_syncrun'])
def test_turning_a_dry_run_into_a_review_needs_both_rights(user, user_client, grant, meraki_config, org_id, rights):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.view_change', *rights)
    dry_run = run_sync(org_id, SyncModeChoices.DRY_RUN)
    assert 'Turn into a review' not in user_client.get(dry_run.get_absolute_url()).content.decode()
    with disable_warnings('django.request'):
        assert user_client.post(turn_url(dry_run)).status_code == 403
    assert not SyncRun.objects.filter(mode=SyncModeChoices.REVIEW).exists()
