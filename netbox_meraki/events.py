"""
Events of a sync's writes, for NetBox's event rules (webhooks, scripts, notifications): sent for what was written,
once. NetBox queues the events of a request and sends them all when it ends; a sync instead commits batch by batch
and undoes a failed change to its savepoint, so it sends a batch's events when the batch commits and drops the events
of an undone change with the change.
"""

import copy

from django.db import transaction

from extras.events import flush_events
from netbox.context import events_queue

__all__ = ('queued_events', 'restore_events', 'send_events_on_commit')


def copy_event(event):
    copied = copy.copy(event)  # a dict of its own, with the same object to serialize
    if isinstance(copied.get('snapshots'), dict):
        # NetBox merges a later write of the same object into its queued event, updating this dict in place.
        copied['snapshots'] = dict(copied['snapshots'])
    return copied


def queued_events():
    """The events queued so far, as they are now: restore_events() puts them back after a change is undone."""
    return {key: copy_event(event) for key, event in events_queue.get().items()}


def restore_events(saved):
    """
    Drop the events of the writes undone since queued_events() returned `saved`. Restoring the saved entries (not
    only dropping new keys) matters: NetBox keeps one event per object, so an undone update of an object created
    earlier in the batch changed the queued creation in place.
    """
    events_queue.set(saved)


def send_events_on_commit():
    """Send the events queued so far when the current transaction commits (never if it rolls back); queue anew."""
    events = list(events_queue.get().values())
    events_queue.set({})
    if events:
        transaction.on_commit(lambda: flush_events(events))
