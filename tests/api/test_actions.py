"""Starting, cancelling and reviewing syncs through the REST API, with the permission each action needs."""

import pytest
from rest_framework.test import APIClient

from core.choices import JobStatusChoices
from core.models import Job
from dcim.models import Site
from users.models import User

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, RunTriggerChoices, SyncModeChoices
from netbox_meraki.locks import release_organization
from netbox_meraki.models import Change, SyncedObject, SyncRun
from netbox_meraki.permissions import APPROVE_ACTION, RUN_ACTION
from netbox_meraki.sync import begin, cancel_run, execute_review

from .conftest import ApiUser


@pytest.fixture
def operator(api):
    """May see runs and changes and start and cancel syncs."""
    return api.grant(SyncRun, 'view', RUN_ACTION).grant(Change, 'view')


@pytest.fixture
def reviewer(api):
    """May see runs and changes and approve, reject and apply them."""
    return api.grant(SyncRun, 'view').grant(Change, 'view', APPROVE_ACTION)


def test_sync_starts_a_background_run_per_organization(
    operator, meraki_config, org_id, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = operator.post('/runs/sync/', {'mode': 'dry_run', 'organization_ids': [org_id]})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body['refused'] == []
    (data,) = body['runs']
    run = SyncRun.objects.get(pk=data['id'])
    assert (run.organization_id, run.mode, run.status) == (org_id, SyncModeChoices.DRY_RUN, RunStatusChoices.PENDING)
    assert run.trigger == RunTriggerChoices.API
    assert run.user == operator.user
    # Not asked for a full read: the run decides when it reads Meraki.
    assert run.full_read is False and data['full_read'] is False
    assert data['user']['username'] == operator.user.username
    # The run's job waits for a worker; it reaches the queue when the request's transaction commits.
    assert data['job']['id'] == run.job.pk
    assert run.job.status == JobStatusChoices.STATUS_PENDING
    assert queued


def test_sync_with_full_read_starts_a_run_that_reads_every_network(operator, meraki_config, org_id):
    response = operator.post('/runs/sync/', {'organization_ids': [org_id], 'full_read': True})
    assert response.status_code == 202, response.content
    (data,) = response.json()['runs']
    assert data['full_read'] is True
    assert SyncRun.objects.get(pk=data['id']).full_read is True


def test_sync_without_organizations_syncs_every_one_the_key_sees(operator, meraki_config, simulator):
    response = operator.post('/runs/sync/')
    assert response.status_code == 202, response.content
    runs = response.json()['runs']
    assert sorted(run['organization_id'] for run in runs) == sorted(simulator.org_ids)
    # The mode of the settings applies when none is given.
    assert {run['mode']['value'] for run in runs} == {SyncModeChoices.REVIEW}


def test_a_second_sync_of_a_syncing_organization_is_refused_naming_the_run(operator, meraki_config, org_id):
    first, second = org_id, '424242'
    running = operator.post('/runs/sync/', {'organization_ids': [first]}).json()['runs'][0]

    response = operator.post('/runs/sync/', {'organization_ids': [first]})
    assert response.status_code == 409
    assert f'run #{running["id"]}' in response.json()['detail']
    assert response.json()['run']['id'] == running['id']

    # With another organization, that one starts and the syncing one is reported.
    response = operator.post('/runs/sync/', {'organization_ids': [first, second]})
    assert response.status_code == 202
    body = response.json()
    assert [run['organization_id'] for run in body['runs']] == [second]
    assert [(refusal['organization_id'], refusal['run']['id']) for refusal in body['refused']] == [
        (first, running['id'])
    ]
    assert f'run #{running["id"]}' in body['refused'][0]['detail']


def test_sync_refuses_bad_input_and_reports_an_unreadable_dashboard(operator, meraki_config):
    response = operator.post('/runs/sync/', {'mode': 'sometimes'})
    assert response.status_code == 400
    assert 'mode' in response.json()
    response = operator.post('/runs/sync/', {'organization_ids': 'not-a-list'})
    assert response.status_code == 400
    assert 'organization_ids' in response.json()
    response = operator.post('/runs/sync/', {'full_read': 'sometimes'})
    assert response.status_code == 400
    assert response.json() == {'full_read': ['Must be a valid boolean.']}
    assert operator.post('/runs/sync/', {'full_read': None}).status_code == 400

    meraki_config['api_key'] = 'wrong-key-0000000000000000000000000000'
    response = operator.post('/runs/sync/')
    assert response.status_code == 502
    assert 'getOrganizations failed' in response.json()['detail']
    assert not SyncRun.objects.exists()


def test_cancel_stops_a_waiting_run_and_refuses_a_finished_one(operator, meraki_config, org_id):
    run_id = operator.post('/runs/sync/', {'organization_ids': [org_id]}).json()['runs'][0]['id']
    job_id = SyncRun.objects.get(pk=run_id).job_id

    response = operator.post(f'/runs/{run_id}/cancel/')
    assert response.status_code == 200, response.content
    assert response.json()['status']['value'] == RunStatusChoices.CANCELLED
    assert response.json()['cancel_requested'] is True
    assert not Job.objects.filter(pk=job_id).exists()

    response = operator.post(f'/runs/{run_id}/cancel/')
    assert response.status_code == 409
    assert 'nothing to cancel' in response.json()['detail']


def test_a_cancel_does_not_undo_a_worker_that_took_the_run_meanwhile(operator, meraki_config, org_id):
    run_id = operator.post('/runs/sync/', {'organization_ids': [org_id]}).json()['runs'][0]['id']
    read_by_the_cancel = SyncRun.objects.get(pk=run_id)  # pending, as the cancel request read it
    assert begin(SyncRun.objects.get(pk=run_id))  # a worker claims it before the cancel writes
    try:
        run = cancel_run(read_by_the_cancel)
        assert (run.status, run.cancel_requested) == (RunStatusChoices.RUNNING, True)
        assert Job.objects.filter(pk=run.job_id).exists()
        assert SyncRun.objects.get(pk=run_id).status == RunStatusChoices.RUNNING
    finally:
        release_organization(org_id)


def test_starting_and_cancelling_need_the_run_sync_permission(api, runs, meraki_config, org_id):
    api.grant(SyncRun, 'view').grant(Change, 'view', APPROVE_ACTION)
    assert api.post('/runs/sync/', {'organization_ids': [org_id]}).status_code == 403
    assert api.post(f'/runs/{runs[1].pk}/cancel/').status_code == 403
    assert not SyncRun.objects.filter(organization_id=org_id).exists()

    # Constraints apply to the run being cancelled.
    api.grant(SyncRun, RUN_ACTION, constraints={'organization_id': 'someone-else'})
    pending = SyncRun.objects.create(organization_id='1001', mode='auto', trigger='api')
    assert api.post(f'/runs/{pending.pk}/cancel/').status_code == 403
    assert SyncRun.objects.get(pk=pending.pk).cancel_requested is False


def test_a_read_only_token_cannot_start_a_sync(db, meraki_config, org_id):
    user = User.objects.create_user(username='read-only')
    reader = ApiUser(user, write_enabled=False).grant(SyncRun, 'view', RUN_ACTION)
    assert reader.post('/runs/sync/', {'organization_ids': [org_id]}).status_code == 403
    assert reader.get('/runs/').status_code == 200


def test_review_through_the_api_rejects_approves_and_applies(
    reviewer, review_run, django_capture_on_commit_callbacks
):
    sites = list(review_run.changes.filter(kind='site', action='create').order_by('sequence'))
    assert len(sites) >= 3
    rejected, approved = sites[0], sites[1:]

    response = reviewer.post(f'/changes/{rejected.pk}/reject/')
    assert response.status_code == 200, response.content
    assert response.json()['state']['value'] == ChangeStateChoices.REJECTED
    response = reviewer.post(f'/changes/{rejected.pk}/approve/')
    assert response.status_code == 409
    assert 'rejected' in response.json()['detail']

    response = reviewer.post(f'/runs/{review_run.pk}/approve/', {'changes': [c.pk for c in approved]})
    assert response.json() == {'approved': len(approved)}
    undecided = review_run.changes.filter(state__in=(ChangeStateChoices.PENDING, ChangeStateChoices.HELD)).count()
    response = reviewer.post(f'/runs/{review_run.pk}/reject/')
    assert response.json() == {'rejected': undecided}

    with django_capture_on_commit_callbacks():
        response = reviewer.post(f'/runs/{review_run.pk}/apply/')
    assert response.status_code == 202, response.content
    data = response.json()
    assert data['status']['value'] == RunStatusChoices.PENDING
    job = Job.objects.get(pk=data['job']['id'])
    assert job.status == JobStatusChoices.STATUS_PENDING
    assert job.user == reviewer.user

    # What the job does on a worker: only the approved changes are written.
    run = execute_review(SyncRun.objects.get(pk=review_run.pk))
    assert run.status == RunStatusChoices.COMPLETED, run.log
    created = set(SyncedObject.objects.filter(kind='site').values_list('meraki_id', flat=True))
    assert created == {change.meraki_id for change in approved}
    assert not Site.objects.filter(name=rejected.object_repr).exists()


def test_a_review_whose_changes_are_all_rejected_is_over(reviewer, review_run):
    first = review_run.changes.order_by('sequence').first()
    assert reviewer.post(f'/changes/{first.pk}/reject/').status_code == 200
    review_run.refresh_from_db()
    assert review_run.status == RunStatusChoices.AWAITING_REVIEW  # the others wait for a decision

    response = reviewer.post(f'/runs/{review_run.pk}/reject/')

    assert response.status_code == 200, response.content
    review_run.refresh_from_db()
    assert review_run.status == RunStatusChoices.COMPLETED
    assert review_run.log[-1]['message'] == 'Every change was rejected: nothing was applied.'
    assert set(review_run.changes.values_list('state', flat=True)) == {ChangeStateChoices.REJECTED}
    assert reviewer.post(f'/runs/{review_run.pk}/apply/').status_code == 409


def test_review_actions_refuse_a_run_not_awaiting_review(reviewer, runs):
    completed = runs[0]
    for path in ('approve', 'reject', 'apply'):
        response = reviewer.post(f'/runs/{completed.pk}/{path}/')
        assert response.status_code == 409, path
        assert 'not awaiting review' in response.json()['detail']
    response = reviewer.post(f'/changes/{completed.changes.first().pk}/approve/')
    assert response.status_code == 409

    awaiting = runs[1]
    response = reviewer.post(f'/runs/{awaiting.pk}/apply/')
    assert response.status_code == 409
    assert 'no approved changes' in response.json()['detail']


def test_reviewing_needs_the_approve_change_permission(operator, runs):
    awaiting = runs[1]
    change = awaiting.changes.first()
    for path in (f'/runs/{awaiting.pk}/approve/', f'/runs/{awaiting.pk}/reject/', f'/runs/{awaiting.pk}/apply/',
                 f'/changes/{change.pk}/approve/', f'/changes/{change.pk}/reject/'):
        assert operator.post(path).status_code == 403, path
    assert not awaiting.changes.exclude(state__in=(ChangeStateChoices.PENDING, ChangeStateChoices.HELD)).exists()


def test_approval_constraints_limit_which_changes_are_approved(api, runs):
    api.grant(SyncRun, 'view').grant(Change, 'view')
    api.grant(Change, APPROVE_ACTION, constraints={'kind': 'site'})
    awaiting = runs[1]
    device = awaiting.changes.filter(kind='device').first()

    assert api.post(f'/changes/{device.pk}/approve/').status_code == 403
    assert api.post(f'/runs/{awaiting.pk}/approve/').json() == {'approved': 1}
    assert set(awaiting.changes.filter(state=ChangeStateChoices.APPROVED).values_list('kind', flat=True)) == {'site'}


def test_actions_are_not_reachable_by_get(admin_api, runs):
    run, change = runs[1], runs[1].changes.first()
    paths = ['/runs/sync/', '/settings/test-connection/'] + [
        f'/runs/{run.pk}/{name}/' for name in ('cancel', 'approve', 'reject', 'apply')
    ] + [f'/changes/{change.pk}/{name}/' for name in ('approve', 'reject')]
    for path in paths:
        assert admin_api.get(path).status_code == 405, path
    assert not SyncRun.objects.exclude(pk__in=[r.pk for r in runs]).exists()
    assert set(run.changes.values_list('state', flat=True)) == {ChangeStateChoices.PENDING, ChangeStateChoices.HELD}


def test_a_browser_session_needs_a_csrf_token_to_start_a_sync(db, meraki_config, org_id):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(User.objects.create_user(username='browser', is_superuser=True))
    response = browser.post('/api/plugins/meraki/runs/sync/', {'organization_ids': [org_id]}, format='json')
    assert response.status_code == 403
    assert 'CSRF' in response.json()['detail']
    assert not SyncRun.objects.exists()
