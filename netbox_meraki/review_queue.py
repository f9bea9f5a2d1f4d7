"""
An organization's review queue: one run awaiting review at a time (a new review supersedes the older one, whose
decisions carry over where the change is the same), rejections that stand in later runs until Meraki's value changes,
and dry runs whose changes are planned only.
"""

import json

from django.db import transaction

from .choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from .models import Change, Rejection, SyncRun

__all__ = (
    'record_rejections', 'reviews_to_supersede', 'settle_plan', 'standing_rejections_of', 'supersede',
    'undo_rejections',
)

# Changes still waiting for a decision, which a standing rejection or a decision of a superseded run settles.
UNDECIDED = (ChangeStateChoices.PENDING, ChangeStateChoices.HELD)


def identity(change):
    """What makes two changes of different runs the same change, but for their new values."""
    return change.kind, change.meraki_id, change.action


def stored(values):
    """Values as the database gives them back (a plan's are JSON-ready, but may hold tuples)."""
    return json.loads(json.dumps(values))


def reviews_to_supersede(run):
    """
    The organization's earlier runs awaiting review that this run's plan replaces: every one, for a run of the whole
    organization; for a run of some networks, those of the same networks or fewer (the others' changes are not
    planned again, so their review stays).
    """
    older = SyncRun.objects.filter(
        organization_id=run.organization_id, status=RunStatusChoices.AWAITING_REVIEW, pk__lt=run.pk,
    ).only('pk', 'network_ids', 'log')
    if not run.network_ids:
        return list(older)
    return [review for review in older if review.network_ids and set(review.network_ids) <= set(run.network_ids)]


def settle_plan(run, changes, superseded=()):
    """
    Before a plan is stored: a dry run's changes are planned only; a change a person rejected before is rejected again
    while Meraki wants the same value (a rejection Meraki's new value makes moot is forgotten); a change approved in a
    review this run supersedes is approved again. One query for the rejections, one for the approvals.
    """
    apply_rejections(run, changes)
    if superseded:
        carry_over_approvals(changes, superseded)
    if run.mode == SyncModeChoices.DRY_RUN:
        for change in changes:
            if change.state == ChangeStateChoices.PENDING:
                change.state = ChangeStateChoices.PLANNED


def apply_rejections(run, changes):
    rejections = {
        (rejection.kind, rejection.meraki_id, rejection.action): rejection
        for rejection in Rejection.objects.filter(organization_id=run.organization_id)
    }
    if not rejections:
        return
    moot = []
    for change in changes:
        rejection = rejections.get(identity(change))
        if rejection is None or change.state not in UNDECIDED:
            continue
        if stored(change.after) == rejection.after:
            change.state = ChangeStateChoices.REJECTED
            change.reason = (f"Rejected in run #{rejection.rejected_in}; kept rejected until Meraki's value "
                             f"changes.")
        else:
            moot.append(rejection.pk)
    if moot:
        Rejection.objects.filter(pk__in=moot).delete()
        run.log_line('info', f'{len(moot)} rejections no longer stand: Meraki wants other values since.')


def carry_over_approvals(changes, superseded):
    approved = {}
    rows = Change.objects.filter(run__in=superseded, state=ChangeStateChoices.APPROVED).order_by('run_id')
    for run_id, kind, meraki_id, action, after in rows.values_list('run_id', 'kind', 'meraki_id', 'action', 'after'):
        approved[kind, meraki_id, action] = (after, run_id)
    for change in changes:
        decision = approved.get(identity(change))
        if decision and change.state in UNDECIDED and stored(change.after) == decision[0]:
            change.state = ChangeStateChoices.APPROVED
            change.reason = f'Approved in run #{decision[1]}.'


def supersede(run, superseded):
    """
    The reviews this run's stored plan replaces are over: what they had not applied is superseded (what they applied
    stays applied), and each says by which run. A review that changed status meanwhile is left alone.
    """
    for review in superseded:
        with transaction.atomic():
            if not SyncRun.objects.filter(pk=review.pk, status=RunStatusChoices.AWAITING_REVIEW).update(
                status=RunStatusChoices.SUPERSEDED,
            ):
                continue
            review.changes.filter(state__in=ChangeStateChoices.UNAPPLIED).update(
                state=ChangeStateChoices.SUPERSEDED,
            )
            review.log_line('info', f'Superseded by run #{run.pk}: its changes not applied are planned again there, '
                                    'with the decisions taken here; what it applied stays applied.')
            SyncRun.objects.filter(pk=review.pk).update(log=review.log)
        run.log_line('info', f'Supersedes run #{review.pk}: its decisions carry over where the change is the same.')


def record_rejections(organization_id, run_id, rejected):
    """Rejections of these changes ((kind, Meraki identity, action, after) each) stand for later runs."""
    Rejection.objects.bulk_create(
        [Rejection(organization_id=organization_id, kind=kind, meraki_id=meraki_id, action=action, after=after,
                   rejected_in=run_id) for kind, meraki_id, action, after in rejected],
        update_conflicts=True, unique_fields=('organization_id', 'kind', 'meraki_id', 'action'),
        update_fields=('after', 'rejected_in'),
    )


def standing_rejections_of(changes):
    """{change id: its Rejection} for the rejected changes whose rejection still stands, in one query."""
    rejected = [change for change in changes if change.state == ChangeStateChoices.REJECTED]
    if not rejected:
        return {}
    rejections = {
        (rejection.organization_id, rejection.kind, rejection.meraki_id, rejection.action): rejection
        for rejection in Rejection.objects.filter(
            organization_id__in={change.run.organization_id for change in rejected},
            kind__in={change.kind for change in rejected}, meraki_id__in={change.meraki_id for change in rejected},
        )
    }
    found = {}
    for change in rejected:
        rejection = rejections.get((change.run.organization_id, *identity(change)))
        if rejection is not None and rejection.after == change.after:
            found[change.pk] = rejection
    return found


def undo_rejections(changes):
    """
    Undo the rejection of these changes (a query of Change): in a run awaiting review the change is pending again;
    either way its rejection no longer stands, so the next run plans it as any other, and the same change kept
    rejected by it in the organization's run awaiting review is pending again. Returns how many of these were undone.
    """
    changes = list(changes.filter(state=ChangeStateChoices.REJECTED).select_related('run'))
    standing = standing_rejections_of(changes)
    reopened = [change.pk for change in changes if change.run.status == RunStatusChoices.AWAITING_REVIEW]
    undone = set(reopened) | set(standing)
    if standing:
        kept = Change.objects.filter(
            run__status=RunStatusChoices.AWAITING_REVIEW, state=ChangeStateChoices.REJECTED,
            run__organization_id__in={rejection.organization_id for rejection in standing.values()},
            kind__in={rejection.kind for rejection in standing.values()},
            meraki_id__in={rejection.meraki_id for rejection in standing.values()},
        ).select_related('run')
        forgotten = {(rejection.organization_id, rejection.kind, rejection.meraki_id, rejection.action): rejection.after
                     for rejection in standing.values()}
        reopened += [change.pk for change in kept
                     if forgotten.get((change.run.organization_id, *identity(change))) == change.after]
    with transaction.atomic():
        Rejection.objects.filter(pk__in=[rejection.pk for rejection in standing.values()]).delete()
        Change.objects.filter(pk__in=reopened).update(state=ChangeStateChoices.PENDING, reason='')
    return len(undone)
