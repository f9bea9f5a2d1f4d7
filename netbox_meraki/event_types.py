"""
How a run ended, told to NetBox: an event of one of the plugin's event types, which NetBox's event rules turn into
webhooks, scripts and notifications, and a notification to the people who have to act on it (the approvers, when
changes wait for review) or who started the run.
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import ObjectType
from extras.events import EventContext, flush_events
from extras.models import Notification
from netbox.events import EVENT_TYPE_KIND_DANGER, EVENT_TYPE_KIND_SUCCESS, EVENT_TYPE_KIND_WARNING, EventType
from users.models import ObjectPermission, User

from .choices import ChangeStateChoices, RunStatusChoices
from .models import Change, SyncRun
from .permissions import APPROVE_ACTION

__all__ = (
    'MERAKI_CHANGES_AWAIT_REVIEW', 'MERAKI_SYNC_COMPLETED_WITH_CHANGES', 'MERAKI_SYNC_FAILED', 'announce_outcome',
    'approvers', 'event_payload', 'event_type_of',
)

logger = logging.getLogger('netbox_meraki.sync')

MERAKI_SYNC_FAILED = 'meraki_sync_failed'
MERAKI_CHANGES_AWAIT_REVIEW = 'meraki_changes_await_review'
MERAKI_SYNC_COMPLETED_WITH_CHANGES = 'meraki_sync_completed_with_changes'

EventType(MERAKI_SYNC_FAILED, _('Meraki sync failed'), kind=EVENT_TYPE_KIND_DANGER).register()
EventType(MERAKI_CHANGES_AWAIT_REVIEW, _('Meraki changes await review'), kind=EVENT_TYPE_KIND_WARNING).register()
EventType(
    MERAKI_SYNC_COMPLETED_WITH_CHANGES, _('Meraki sync completed with changes'), kind=EVENT_TYPE_KIND_SUCCESS,
).register()


def event_type_of(run):
    """The event a finished run sends, or None: a run that changed nothing and waits for no one says nothing."""
    if run.status in (RunStatusChoices.FAILED, RunStatusChoices.INTERRUPTED):
        return MERAKI_SYNC_FAILED
    if run.status == RunStatusChoices.AWAITING_REVIEW:
        return MERAKI_CHANGES_AWAIT_REVIEW
    if run.status in (RunStatusChoices.COMPLETED, RunStatusChoices.PARTIAL) and run.changes.filter(
        state=ChangeStateChoices.APPLIED
    ).exists():
        return MERAKI_SYNC_COMPLETED_WITH_CHANGES
    return None


def event_payload(run):
    """The run as the REST API shows it, without its log (thousands of lines for a large organization)."""
    from .api.serializers import SyncRunSerializer

    data = SyncRunSerializer(run, context={'request': None}).data
    data.pop('log', None)
    return data


def approvers():
    """Active users who may approve changes: superusers, and holders (or their groups) of an enabled permission."""
    permissions = ObjectPermission.objects.filter(
        enabled=True, actions__contains=[APPROVE_ACTION], object_types=ObjectType.objects.get_for_model(Change),
    )
    return User.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(object_permissions__in=permissions) | Q(groups__object_permissions__in=permissions)
    ).distinct()


def describe_outcome(run, event_type):
    """A notification's text: the run, its organization and what came of it."""
    organization = run.organization_name or run.organization_id
    if event_type == MERAKI_CHANGES_AWAIT_REVIEW:
        waiting = run.changes.filter(state__in=(ChangeStateChoices.PENDING, ChangeStateChoices.HELD)).count()
        outcome = f'{waiting} changes await review'
    elif event_type == MERAKI_SYNC_COMPLETED_WITH_CHANGES:
        applied = run.changes.filter(state=ChangeStateChoices.APPLIED).count()
        outcome = f'{run.get_status_display().lower()}, {applied} changes applied'
    else:
        outcome = 'failed'
    return f'Meraki sync of {organization} (run #{run.pk}): {outcome}'[:200]


def recipients(run, event_type):
    """Who is told in person: the approvers when changes wait for review, and whoever started the run."""
    users = set(approvers().values_list('pk', flat=True)) if event_type == MERAKI_CHANGES_AWAIT_REVIEW else set()
    if run.user_id and run.user.is_active:
        users.add(run.user_id)
    return users


def notify(run, event_type):
    # One notification per user and run (NetBox's rule): a run that ends again (review applied) replaces it, unread.
    users = recipients(run, event_type)
    object_type = ObjectType.objects.get_for_model(run)
    text = describe_outcome(run, event_type)
    with transaction.atomic():
        Notification.objects.filter(object_type=object_type, object_id=run.pk, user__in=users).delete()
        # bulk_create keeps the text: Notification.save() would replace it with str(run).
        Notification.objects.bulk_create([
            Notification(
                user_id=user, object_type=object_type, object_id=run.pk, object_repr=text, event_type=event_type,
            )
            for user in users
        ])


def send_event(run, event_type):
    """Hand the event to NetBox's events pipeline, as NetBox does with the events of a request."""
    flush_events([EventContext(
        object_type=ObjectType.objects.get_for_model(run),
        object_id=run.pk,
        object=run,
        event_type=event_type,
        data=event_payload(run),
        snapshots=None,
        user=run.user,
    )])


def announce(run_id):
    run = SyncRun.objects.select_related('user').get(pk=run_id)
    if event_type := event_type_of(run):
        send_event(run, event_type)
        notify(run, event_type)


def announce_outcome(run):
    """
    Tell NetBox how the run ended, once the transaction that saved its end commits (a rolled back end is no end).
    Called once per end of a run. Never raises: telling of the run must not fail the run.
    """
    def announce_safely():
        try:
            announce(run.pk)
        except Exception:
            logger.exception('Could not send the event of run %s', run.pk)

    transaction.on_commit(announce_safely)
