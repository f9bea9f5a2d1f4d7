"""The plugin's rights beyond NetBox's view/add/change/delete: starting syncs and reviewing plans."""

from utilities.permissions import get_permission_for_model

from .models import Change, SyncRun

__all__ = ('APPROVE_ACTION', 'APPROVE_CHANGE', 'RUN_ACTION', 'RUN_SYNC')

# Actions as NetBox object permissions name them (Admin > Permissions > actions).
RUN_ACTION = 'run'
APPROVE_ACTION = 'approve'
# netbox_meraki.run_syncrun: start a sync and cancel one.
RUN_SYNC = get_permission_for_model(SyncRun, RUN_ACTION)
# netbox_meraki.approve_change: approve, reject and apply planned changes.
APPROVE_CHANGE = get_permission_for_model(Change, APPROVE_ACTION)
