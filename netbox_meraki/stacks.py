"""
Switch stacks in a plan: what planning kind by kind cannot order on its own. NetBox keeps a virtual chassis's master
among its members (a master cannot leave, nor be deleted, until another device or none is master) and a position
unique within a virtual chassis; a switch leaves a stack Meraki no longer lists it in, also when Meraki no longer has
the switch at all.
"""

from dcim.models import Device

from .choices import ChangeActionChoices, ChangeStateChoices
from .mapping import KIND_ORDER

__all__ = ('hold_stack_changes', 'plan_stack_changes')

STACK_KINDS = ('vcmember', 'vcmaster')
REMOVALS = (ChangeActionChoices.DELETE, ChangeActionChoices.MARK)


def plan_stack_changes(planner):
    """
    Complete and order the plan's stack changes (stacks are read): a switch of a person's virtual chassis stays there;
    the plugin's switches Meraki no longer has leave their virtual chassis; a master that leaves or goes is released
    first; departures come before arrivals, and all of it after the devices and before their removals. A virtual
    chassis that would keep members the plugin does not take out is not deleted.
    """
    state, changes = planner.state, planner.changes
    stack_ids = state.reverse['virtualchassis']  # pk -> stack id, of the plugin's virtual chassis
    for change in [change for change in changes if change.kind == 'vcmember']:
        before = change.before.get('virtual_chassis')
        if isinstance(before, dict) and before.get('id') is None and change.after.get('virtual_chassis', 0) is None:
            changes.remove(change)  # a person's virtual chassis: not the plugin's to empty

    if any(source in planner.snapshot.errors for source in ('networks', 'devices')):
        return  # which switches Meraki still has is unknown (the planner has said so for the virtual chassis)
    for serial, pk in state.ids['device'].items():
        device = state.objects['device'].get(pk)
        if device is None or device['virtual_chassis_id'] not in stack_ids or serial in planner.records['vcmember']:
            continue
        row = state.owned['device'][serial]
        if planner.network_scope and row.network_id not in planner.network_scope:
            continue
        if planner.networks_of(serial, row) & planner.unread_networks:
            continue
        planner.add(ChangeActionChoices.UPDATE, 'vcmember', serial, device['name'] or serial, row.network_id, pk,
                    before=state.current_values('vcmember', device),
                    after={'virtual_chassis': None, 'vc_position': None})

    leaving = {change.object_id for change in changes if change.object_id and (
        (change.kind == 'vcmember' and 'virtual_chassis' in change.after)
        or (change.kind == 'device' and change.action == ChangeActionChoices.DELETE)
    )}
    releases = []
    for pk, chassis in state.objects['virtualchassis'].items():
        if chassis['master_id'] not in leaving or pk not in stack_ids:
            continue
        master = state.ref('device', chassis['master_id'])
        row = state.owned['virtualchassis'][stack_ids[pk]]
        releases.append(planner.add(ChangeActionChoices.UPDATE, 'vcmaster', stack_ids[pk], chassis['name'],
                                    row.network_id, pk, before={'master': master}, after={'master': None}))
        for change in changes:
            if change.kind == 'vcmaster' and change.object_id == pk and change not in releases:
                change.before = {'master': None}

    members = sorted((change for change in changes if change.kind == 'vcmember'),
                     key=lambda change: change.after.get('virtual_chassis', 0) is not None)
    ordered = releases + members
    for change in ordered:
        changes.remove(change)
    later = KIND_ORDER[KIND_ORDER.index('vcmember'):]
    at = next((index for index, change in enumerate(changes)
               if change.kind in later or change.action in REMOVALS), len(changes))
    changes[at:at] = ordered

    departing = {change.object_id for change in members if change.after.get('virtual_chassis', 0) is None}
    for change in changes:
        if change.kind == 'virtualchassis' and change.action == ChangeActionChoices.DELETE:
            kept = Device.objects.filter(virtual_chassis_id=change.object_id).exclude(pk__in=departing)
            if names := [str(device) for device in kept[:5]]:
                change.state = ChangeStateChoices.SKIPPED
                change.reason = (f'Not deleted: it still has members the sync does not take out of it '
                                 f'({", ".join(names)}); kept instead.')[:500]


def hold_stack_changes(changes, sites):
    """
    A network's stack changes wait with its held removals: a switch must not leave a virtual chassis whose removal
    waits for review, nor a master be released for a device whose removal waits. `sites` names the networks' sites.
    """
    held = {change.scope for change in changes if change.state == ChangeStateChoices.HELD
            and change.action in REMOVALS and change.scope}
    for change in changes:
        if change.kind in STACK_KINDS and change.scope in held and change.state == ChangeStateChoices.PENDING:
            change.state = ChangeStateChoices.HELD
            change.reason = f'Held for review with the other removals in {sites.get(change.scope, change.scope)}.'
