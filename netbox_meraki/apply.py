"""
Apply: write planned Changes to NetBox through the ORM, inside NetBox's change tracking so every write lands
in the changelog, attributed to the sync user and grouped under the run's request id.
"""

import logging
import uuid

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.utils import timezone

from extras.models import Tag
from netbox.context_managers import event_tracking
from utilities.request import NetBoxFakeRequest

from .choices import ChangeActionChoices, ChangeStateChoices
from .kinds import KINDS, from_json
from .mapping import REFERENCE_KINDS, Ref
from .models import Change, SyncedObject

__all__ = ('apply_changes',)

logger = logging.getLogger('netbox_meraki.apply')

# Changes per transaction: each batch commits with the states of its changes, so a crash loses no record
# of what was written, and long syncs do not hold one huge transaction.
BATCH_SIZE = 100
OWNER_TAG = 'meraki'


class Conflict(Exception):
    """The object changed in NetBox since the plan was made: the change is not applied."""


class Skipped(Exception):
    """The change cannot be applied because an object it needs is not in NetBox."""


def sync_request(run, user):
    return NetBoxFakeRequest({
        'META': {}, 'COOKIES': {}, 'POST': {}, 'GET': {}, 'FILES': {},
        'user': user, 'method': 'POST', 'path': run.get_absolute_url(), 'id': run.request_id or uuid.uuid4(),
    })


def describe(exc):
    if isinstance(exc, ValidationError):
        if hasattr(exc, 'message_dict'):
            return '; '.join(f'{field}: {" ".join(messages)}' for field, messages in exc.message_dict.items())
        return ' '.join(exc.messages)
    return f'{type(exc).__name__}: {exc}'


class Applier:
    def __init__(self, run, state):
        self.run = run
        self.state = state
        self.tag, _created = Tag.objects.get_or_create(slug=OWNER_TAG, defaults={'name': OWNER_TAG})
        self.now = timezone.now()

    def apply(self, change):
        if change.action == ChangeActionChoices.CREATE:
            self.create(change)
        elif change.action == ChangeActionChoices.DELETE:
            self.delete(change)
        else:
            self.update(change)

    def create(self, change):
        spec = KINDS[change.kind]
        if self.state.pk(change.kind, change.meraki_id):
            if change.kind in REFERENCE_KINDS:
                return  # someone created it since the plan: use theirs
            raise Conflict(f'{change.kind} {change.meraki_id} was created in NetBox since the plan was made.')
        obj = spec.model()
        self.set_values(obj, change.after)
        obj.full_clean()
        obj.save()
        change.object_id = obj.pk
        self.state.remember(change.kind, change.meraki_id, obj)
        if change.kind not in REFERENCE_KINDS:
            obj.tags.add(self.tag)
            self.own(change, obj)

    def update(self, change):
        """Update, adopt and mark: check the object still holds what the plan saw, then write."""
        kind = 'device' if change.kind == 'primaryip' else change.kind
        pk = change.object_id or self.state.pk(kind, change.meraki_id)
        obj = self.locked(change, pk)
        if change.action == ChangeActionChoices.ADOPT and pk in self.state.reverse[kind]:
            raise Conflict(f'{obj} is already owned by the plugin for {self.state.reverse[kind][pk]}.')
        self.check_unchanged(change, obj, list(change.after))
        obj.snapshot()
        self.set_values(obj, change.after)
        obj.full_clean()
        obj.save()
        change.object_id = obj.pk
        if change.action == ChangeActionChoices.ADOPT:
            obj.tags.add(self.tag)
            self.state.remember(kind, change.meraki_id, obj)
            self.own(change, obj)
        elif change.kind != 'primaryip':
            SyncedObject.objects.filter(kind=kind, meraki_id=change.meraki_id).update(
                last_synced=self.now, last_run=self.run,
            )

    def delete(self, change):
        try:
            obj = self.locked(change, change.object_id)
        except Conflict:
            # Already gone (deleted by hand, or with the object it belonged to): nothing left to do.
            SyncedObject.objects.filter(kind=change.kind, meraki_id=change.meraki_id).delete()
            return
        self.check_unchanged(change, obj, list(change.before))
        obj.snapshot()
        obj.delete()
        SyncedObject.objects.filter(kind=change.kind, meraki_id=change.meraki_id).delete()

    def locked(self, change, pk):
        model = KINDS[change.kind].model
        try:
            return model.objects.select_for_update().get(pk=pk)
        except (ObjectDoesNotExist, ValueError, TypeError):
            raise Conflict(f'{change.object_repr} no longer exists in NetBox.') from None

    def check_unchanged(self, change, obj, fields):
        if not change.before:
            return
        now = self.state.current_values(change.kind, obj, fields)
        edited = [name for name in change.before if now.get(name) != change.before[name]]
        if edited:
            details = ', '.join(f'{name} is {now.get(name)!r}, was {change.before[name]!r}' for name in edited)
            raise Conflict(f'{obj} was changed in NetBox since the plan was made ({details}).')

    def set_values(self, obj, values):
        for name, stored in values.items():
            value = from_json(stored)
            if isinstance(value, Ref):
                pk = self.state.pk(value.kind, value.meraki_id)
                if pk is None:
                    raise Skipped(f'needs {value.kind} {value.meraki_id}, which is not in NetBox')
                if name == 'assigned_object':
                    obj.assigned_object_type_id = self.state.interface_type_id
                    obj.assigned_object_id = pk
                else:
                    setattr(obj, f'{name}_id', pk)
            elif name.startswith('cf_'):
                obj.custom_field_data[name[3:]] = value
            else:
                setattr(obj, name, value)

    def own(self, change, obj):
        SyncedObject.objects.update_or_create(
            kind=change.kind, meraki_id=change.meraki_id,
            defaults={
                'object_type': ContentType.objects.get_for_model(obj),
                'object_id': obj.pk,
                'organization_id': self.run.organization_id,
                'network_id': change.scope,
                'last_synced': self.now,
                'last_run': self.run,
            },
        )


def apply_changes(run, changes, state, user, progress=None):
    """
    Apply `changes` in order, each in its own savepoint; record each one's outcome on it. Returns a Counter of
    outcomes. Stops between batches when the run is cancelled; what was applied stays applied.
    """
    applier = Applier(run, state)
    outcomes = {}
    changes = list(changes)
    with event_tracking(sync_request(run, user)):
        for start in range(0, len(changes), BATCH_SIZE):
            if run.cancel_requested_now():
                run.log_line('warning', f'Cancelled: {len(changes) - start} changes were not applied.')
                break
            batch = changes[start:start + BATCH_SIZE]
            with transaction.atomic():
                for change in batch:
                    try:
                        with transaction.atomic():
                            applier.apply(change)
                        change.state, change.reason = ChangeStateChoices.APPLIED, ''
                    except Conflict as exc:
                        change.state, change.reason = ChangeStateChoices.CONFLICT, str(exc)[:500]
                    except Skipped as exc:
                        change.state, change.reason = ChangeStateChoices.SKIPPED, str(exc)[:500]
                    except Exception as exc:
                        change.state, change.reason = ChangeStateChoices.FAILED, describe(exc)[:500]
                    outcomes[change.state] = outcomes.get(change.state, 0) + 1
                    if change.state != ChangeStateChoices.APPLIED:
                        run.log_line('warning', f'{change}: {change.get_state_display()}: {change.reason}')
                Change.objects.bulk_update(batch, ('state', 'reason', 'object_id'))
            if progress:
                progress(start + len(batch), len(changes))
    return outcomes
