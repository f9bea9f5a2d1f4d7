"""
How a run ended reaches NetBox: the plugin's event types trigger NetBox event rules (webhooks queued on RQ, notification
groups), approvers get a notification when changes wait for review, whoever started a run hears how it ended. Once per
end of a run, only once that end is committed, never for a run that changed nothing.
"""

from datetime import timedelta

import django_rq
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from core.choices import JobNotificationChoices, JobStatusChoices
from core.models import ObjectType
from extras.choices import EventRuleActionChoices
from extras.models import EventRule, Notification, NotificationGroup, Webhook
from users.models import Group, ObjectPermission, User

from meraki_sim import Scale
from netbox_meraki.choices import (
    ChangeActionChoices,
    ChangeStateChoices,
    RunStatusChoices,
    RunTriggerChoices,
    SyncModeChoices,
)
from netbox_meraki.event_types import (
    MERAKI_CHANGES_AWAIT_REVIEW,
    MERAKI_SYNC_COMPLETED_WITH_CHANGES,
    MERAKI_SYNC_FAILED,
    announce_outcome,
)
from netbox_meraki.jobs import SyncJob
from netbox_meraki.models import Change, SyncRun
from netbox_meraki.sync import MerakiSyncService

from ..conftest import API_KEY, clear_task_queues

# One organization, two networks, six devices: a sync takes about a second.
pytestmark = [pytest.mark.django_db, pytest.mark.scale(Scale(organizations=1, networks=2, devices=6))]


def sync(org_id, mode, user=None):
    (run,) = MerakiSyncService(user=user).sync_all(mode=mode, organization_ids=[org_id], background=False)
    return run


def grant(permission_name, action, model, users=(), groups=()):
    permission = ObjectPermission.objects.create(name=permission_name, actions=[action])
    permission.object_types.add(ObjectType.objects.get_for_model(model))
    permission.users.add(*users)
    permission.groups.add(*groups)


@pytest.fixture
def people():
    """Approvers (by permission, by group, as superuser), someone who may only look, and a former approver."""
    people = {
        name: User.objects.create_user(username=name) for name in ('approver', 'group_approver', 'viewer', 'starter')
    }
    people['admin'] = User.objects.create_superuser(username='admin')
    people['former'] = User.objects.create_superuser(username='former', is_active=False)
    reviewers = Group.objects.create(name='Meraki reviewers')
    people['group_approver'].groups.add(reviewers)
    grant('Approve Meraki changes', 'approve', Change, users=[people['approver']], groups=[reviewers])
    grant('View Meraki runs', 'view', SyncRun, users=[people['viewer'], people['approver']])
    return people


@pytest.fixture
def webhook_rules():
    """rule(event type): an enabled event rule on sync runs, for that event type, sending a webhook."""
    clear_task_queues()
    webhook = Webhook.objects.create(name='Meraki outcomes', payload_url='http://127.0.0.1:9/hook')

    def rule(event_type):
        event_rule = EventRule.objects.create(
            name=f'On {event_type}', event_types=[event_type], action_type=EventRuleActionChoices.WEBHOOK,
            action_object_type=ContentType.objects.get_for_model(Webhook), action_object_id=webhook.pk,
        )
        event_rule.object_types.set([ObjectType.objects.get_for_model(SyncRun)])
        return event_rule

    yield rule
    clear_task_queues()


def queued_webhooks():
    """The webhooks NetBox queued for an RQ worker to send: [(event rule, event type, payload)]."""
    queue = django_rq.get_queue('default')
    return [
        (job.kwargs['event_rule'], job.kwargs['event_type'], job.kwargs['data'])
        for job in queue.get_jobs() if job.func_name == 'extras.webhooks.send_webhook'
    ]


def notifications(run):
    """{username: (event type, text)} of the notifications about the run."""
    return {
        notification.user.username: (notification.event_type, notification.object_repr)
        for notification in Notification.objects.filter(
            object_type=ContentType.objects.get_for_model(SyncRun), object_id=run.pk,
        ).select_related('user')
    }


def test_a_sync_awaiting_review_notifies_every_approver_once_naming_the_organization(
    meraki_config, simulator, org_id, people, webhook_rules, django_capture_on_commit_callbacks,
):
    await_review = webhook_rules(MERAKI_CHANGES_AWAIT_REVIEW)
    webhook_rules(MERAKI_SYNC_FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        run = sync(org_id, SyncModeChoices.REVIEW, user=people['starter'])

    assert run.status == RunStatusChoices.AWAITING_REVIEW, run.log
    organization = simulator.dashboard.orgs[org_id].organization['name']
    waiting = run.changes.filter(state__in=(ChangeStateChoices.PENDING, ChangeStateChoices.HELD)).count()
    told = notifications(run)
    # The approvers and whoever started the run; not who may only look, nor a deactivated account.
    assert set(told) == {'approver', 'group_approver', 'admin', 'starter'}
    for event_type, text in told.values():
        assert event_type == MERAKI_CHANGES_AWAIT_REVIEW
        assert text == f'Meraki sync of {organization} (run #{run.pk}): {waiting} changes await review'
    assert Notification.objects.count() == len(told), 'one notification per person'
    # The event rule of "changes await review" fired once, with the run as its payload; the other did not.
    ((rule, event_type, data),) = queued_webhooks()
    assert (rule, event_type) == (await_review, MERAKI_CHANGES_AWAIT_REVIEW)
    assert (data['id'], data['organization_name'], data['status']['value']) == (run.pk, organization, 'awaiting_review')
    assert 'log' not in data


def test_a_failed_sync_triggers_the_event_rules_of_sync_failed(
    meraki_config, simulator, org_id, people, webhook_rules, django_capture_on_commit_callbacks,
):
    failed = webhook_rules(MERAKI_SYNC_FAILED)
    webhook_rules(MERAKI_SYNC_COMPLETED_WITH_CHANGES)
    # NetBox's own way to have a team told: an event rule that notifies a notification group.
    on_call = NotificationGroup.objects.create(name='Network on call')
    on_call.users.add(people['viewer'])
    notify_rule = EventRule.objects.create(
        name='Tell the on-call', event_types=[MERAKI_SYNC_FAILED], action_type=EventRuleActionChoices.NOTIFICATION,
        action_object_type=ContentType.objects.get_for_model(NotificationGroup), action_object_id=on_call.pk,
    )
    notify_rule.object_types.set([ObjectType.objects.get_for_model(SyncRun)])
    simulator.revoke_key(API_KEY)

    with django_capture_on_commit_callbacks(execute=True):
        run = sync(org_id, SyncModeChoices.AUTO, user=people['starter'])

    assert run.status == RunStatusChoices.FAILED
    ((rule, event_type, data),) = queued_webhooks()
    assert (rule, event_type, data['id'], data['status']['value']) == (failed, MERAKI_SYNC_FAILED, run.pk, 'failed')
    assert data['error'] and API_KEY not in str(data)
    told = notifications(run)
    # The starter and the notification group's member; a failure is not the approvers' business.
    assert set(told) == {'starter', 'viewer'}
    assert {event_type for event_type, _text in told.values()} == {MERAKI_SYNC_FAILED}
    assert told['starter'][1] == f'Meraki sync of {org_id} (run #{run.pk}): failed'


def test_a_sync_that_applies_changes_says_so_and_a_resync_without_changes_says_nothing(
    meraki_config, org_id, people, webhook_rules, django_capture_on_commit_callbacks,
):
    completed = webhook_rules(MERAKI_SYNC_COMPLETED_WITH_CHANGES)

    with django_capture_on_commit_callbacks(execute=True):
        first = sync(org_id, SyncModeChoices.AUTO, user=people['starter'])

    assert first.status == RunStatusChoices.COMPLETED, first.log
    applied = first.changes.filter(state=ChangeStateChoices.APPLIED).count()
    assert applied
    ((rule, event_type, data),) = queued_webhooks()
    assert (rule, event_type, data['id'], data['status']['value']) == (
        completed, MERAKI_SYNC_COMPLETED_WITH_CHANGES, first.pk, 'completed')
    told = notifications(first)
    assert list(told) == ['starter'], 'approvers are told only of what waits for them'
    assert told['starter'][1].endswith(f'(run #{first.pk}): completed, {applied} changes applied')

    with django_capture_on_commit_callbacks(execute=True):
        second = sync(org_id, SyncModeChoices.AUTO, user=people['starter'])

    assert second.status == RunStatusChoices.COMPLETED and not second.changes.exists(), second.log
    assert len(queued_webhooks()) == 1
    assert not notifications(second)


def make_run(status, mode=SyncModeChoices.AUTO, changes=()):
    now = timezone.now()
    run = SyncRun.objects.create(
        organization_id='101', organization_name='Acme', mode=mode, status=status, trigger=RunTriggerChoices.API,
        started=now - timedelta(minutes=1), completed=now,
    )
    Change.objects.bulk_create(
        Change(run=run, sequence=number, action=ChangeActionChoices.CREATE, kind='site', meraki_id=f'N_{number}',
               object_repr=f'Site {number}', state=state)
        for number, state in enumerate(changes)
    )
    return run


@pytest.mark.parametrize('status, mode, changes', (
    (RunStatusChoices.COMPLETED, SyncModeChoices.AUTO, ()),
    (RunStatusChoices.COMPLETED, SyncModeChoices.DRY_RUN, (ChangeStateChoices.PENDING,)),
    (RunStatusChoices.PARTIAL, SyncModeChoices.AUTO, (ChangeStateChoices.CONFLICT,)),
    (RunStatusChoices.CANCELLED, SyncModeChoices.AUTO, (ChangeStateChoices.PENDING,)),
), ids=('nothing-to-do', 'dry-run', 'partial-nothing-applied', 'cancelled'))
def test_a_run_that_changed_nothing_and_waits_for_no_one_sends_nothing(
    status, mode, changes, people, webhook_rules, django_capture_on_commit_callbacks,
):
    for event_type in (MERAKI_SYNC_FAILED, MERAKI_CHANGES_AWAIT_REVIEW, MERAKI_SYNC_COMPLETED_WITH_CHANGES):
        webhook_rules(event_type)
    run = make_run(status, mode, changes)

    with django_capture_on_commit_callbacks(execute=True):
        announce_outcome(run)

    assert not queued_webhooks()
    assert not Notification.objects.exists()


def test_an_end_that_is_rolled_back_sends_nothing_and_a_committed_one_sends_once(
    people, webhook_rules, django_capture_on_commit_callbacks,
):
    rule = webhook_rules(MERAKI_CHANGES_AWAIT_REVIEW)
    run = make_run(RunStatusChoices.AWAITING_REVIEW, SyncModeChoices.REVIEW, (ChangeStateChoices.HELD,))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            announce_outcome(run)
            raise RuntimeError('the transaction that saved the end of the run fails')
    assert not callbacks
    assert not queued_webhooks() and not Notification.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        announce_outcome(run)

    assert [(event_rule, event_type) for event_rule, event_type, _data in queued_webhooks()] == [
        (rule, MERAKI_CHANGES_AWAIT_REVIEW)]
    assert set(notifications(run)) == {'approver', 'group_approver', 'admin'}
    assert Notification.objects.count() == 3


def test_an_event_rule_for_sync_runs_can_be_made_through_netbox_rest_api(people):
    webhook = Webhook.objects.create(name='Meraki outcomes', payload_url='https://hooks.example.com/meraki')
    client = APIClient()
    client.force_authenticate(people['admin'])

    response = client.post('/api/extras/event-rules/', {
        'name': 'Meraki sync failed', 'object_types': ['netbox_meraki.syncrun'], 'event_types': [MERAKI_SYNC_FAILED],
        'action_type': 'webhook', 'action_object_type': 'extras.webhook', 'action_object_id': webhook.pk,
    }, format='json')

    assert response.status_code == 201, response.data
    assert response.data['event_types'] == [MERAKI_SYNC_FAILED]


def test_a_run_on_a_worker_is_announced_once_by_the_run_and_not_again_as_a_netbox_job(
    meraki_config, org_id, people, django_capture_on_commit_callbacks,
):
    meraki_config['api_key'] = 'sim-key-refused-0123456789abcdef01234567'
    with django_capture_on_commit_callbacks():  # the job stays off RQ: it is run here, as the worker would
        (run,) = MerakiSyncService(user=people['starter']).sync_all(
            mode=SyncModeChoices.AUTO, organization_ids=[org_id], background=True,
        )
    assert run.job.notifications == JobNotificationChoices.NOTIFICATION_NEVER

    with django_capture_on_commit_callbacks(execute=True):
        SyncJob.handle(run.job, run_id=run.pk)

    run.refresh_from_db()
    run.job.refresh_from_db()
    assert run.status == RunStatusChoices.FAILED and run.job.status == JobStatusChoices.STATUS_FAILED
    told = Notification.objects.filter(user=people['starter'])
    assert [(n.object_id, n.event_type) for n in told] == [(run.pk, MERAKI_SYNC_FAILED)]
