from collections import defaultdict

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import ngettext

from netbox.object_actions import BulkExport
from netbox.views import generic
from netbox.views.generic.base import BaseMultiObjectView
from utilities.views import GetReturnURLMixin, register_model_view

from ..choices import ChangeStateChoices, RunStatusChoices
from ..filtersets import ChangeFilterSet
from ..forms import ChangeFilterForm
from ..kinds import kind_name, references
from ..models import Change, SyncRun
from ..permissions import APPROVE_ACTION, APPROVE_CHANGE
from ..review_queue import standing_rejections_of, undo_rejections
from ..secrets import redact
from ..sync import SyncRefused, approve_changes, changes_about, reject_changes, undecided_dependencies
from ..tables import ChangeTable
from ..tables.changes import UNDECIDED, object_url, render_cascade
from ..tables.display import display_value, field_label, reference_names
from .runs import SyncRunChangesView

__all__ = ('ChangeApproveView', 'ChangeListView', 'ChangeRejectView', 'ChangeUndoRejectionView', 'ChangeView')


@register_model_view(Change, 'list', path='', detail=False)
class ChangeListView(generic.ObjectListView):
    queryset = Change.objects.select_related('run')
    filterset = ChangeFilterSet
    filterset_form = ChangeFilterForm
    table = ChangeTable
    actions = (BulkExport,)


@register_model_view(Change)
class ChangeView(generic.ObjectView):
    """One change: its fields before and after, its object and run, the changes it depends on, its history."""

    queryset = Change.objects.select_related('run')
    actions = ()
    template_name = 'netbox_meraki/change.html'

    def get_extra_context(self, request, instance):
        dependencies = depends_on(instance)
        history = Change.objects.restrict(request.user, 'view').filter(
            kind=instance.kind, meraki_id=instance.meraki_id,
        ).exclude(pk=instance.pk).select_related('run').order_by('-run__created')[:HISTORY]
        names = reference_names([instance])
        may_approve = request.user.has_perm(APPROVE_CHANGE)
        return {
            'kind_name': kind_name(instance.kind),
            'object_url': object_url(instance),
            'fields': [(
                field_label(name),
                display_value(instance.before[name], names) if name in instance.before else None,
                display_value(instance.after[name], names) if name in instance.after else None,
            ) for name in instance.fields],
            'cascade': render_cascade(instance),
            'dependencies': dependencies,
            'history': history,
            'can_decide': instance.state in UNDECIDED and instance.run.status == RunStatusChoices.AWAITING_REVIEW
                          and may_approve,
            'can_undo_rejection': may_approve and undoable(instance),
        }


def undoable(change):
    """Whether undoing the change's rejection does anything: reopen it in its review, or forget a standing rejection."""
    if change.state != ChangeStateChoices.REJECTED:
        return False
    return change.run.status == RunStatusChoices.AWAITING_REVIEW or bool(standing_rejections_of([change]))


# How many earlier and later changes of the same object a change's page lists.
HISTORY = 20


def depends_on(change):
    """
    The changes of the same run that create or change what this change refers to (an interface's device, an address's
    interface): approving it alone would leave it waiting for them.
    """
    return changes_about(change.run.changes.exclude(pk=change.pk), references(change.after))


class ChangeDecisionView(GetReturnURLMixin, BaseMultiObjectView):
    """
    Approve or reject changes of runs awaiting review: those ticked in a table (`pk`), one (`change`), or every
    pending and held change of a run (`_all` with `run`). Only changes the user may approve are touched.
    """

    queryset = Change.objects.all()
    http_method_names = ['post']
    decide = None
    message = None

    def get_required_permission(self):
        return APPROVE_CHANGE

    def selected(self, request):
        if change := request.POST.get('change'):
            return self.queryset.filter(pk=int(change)) if change.isdigit() else self.queryset.none()
        if request.POST.get('run', '').isdigit():
            run_id = int(request.POST['run'])
            of_run = self.queryset.filter(run_id=run_id)
            if '_dependencies' in request.POST:
                # What the run's approved changes need applied first, still waiting for a decision.
                needed = undecided_dependencies(SyncRun.objects.get(pk=run_id))
                return of_run.filter(pk__in=[change.pk for change in needed])
            if '_all' in request.POST:
                # Every change the list's filter shows (all of the run's without one), not only this page's.
                return ChangeFilterSet(request.POST, of_run).qs
        pks = [int(pk) for pk in request.POST.getlist('pk') if pk.isdigit()]
        return self.queryset.filter(pk__in=pks)

    def post(self, request):
        by_run = defaultdict(list)
        for run_id, pk in self.selected(request).values_list('run_id', 'pk'):
            by_run[run_id].append(pk)
        count = 0
        for run in SyncRun.objects.restrict(request.user, 'view').filter(pk__in=by_run):
            try:
                count += type(self).decide(run, by_run[run.pk])
            except SyncRefused as exc:
                messages.error(request, redact(exc))
        messages.success(request, self.message(count) % {'count': count})
        if request.htmx and request.POST.get('change', '').isdigit():
            return decided_row(request, int(request.POST['change']))
        return redirect(self.get_return_url(request))


def decided_row(request, pk):
    """
    A change decided from its row without a page reload: the row as its run's changes list shows it now (its new state,
    no buttons), and the toast saying what was done (an out-of-band swap, as NetBox's own messages). Only that list
    has a row's decision buttons.
    """
    change = Change.objects.restrict(request.user, 'view').select_related('run').get(pk=pk)
    table = SyncRunChangesView.table_of(request, change.run, [change])
    return render(request, 'netbox_meraki/inc/decided_row.html', {'table': table})


@register_model_view(Change, 'bulk_approve', path='approve', detail=False)
class ChangeApproveView(ChangeDecisionView):
    decide = approve_changes

    @staticmethod
    def message(count):
        return ngettext('%(count)d change approved.', '%(count)d changes approved.', count)


@register_model_view(Change, 'bulk_reject', path='reject', detail=False)
class ChangeRejectView(ChangeDecisionView):
    decide = reject_changes

    @staticmethod
    def message(count):
        return ngettext('%(count)d change rejected.', '%(count)d changes rejected.', count)


@register_model_view(Change, 'bulk_undo_rejection', path='undo-rejection', detail=False)
class ChangeUndoRejectionView(ChangeDecisionView):
    """
    Undo the rejection of changes (ticked, or one): in a run awaiting review they are pending again; in a finished run
    the rejection is forgotten, and the next run plans the change as any other.
    """

    def post(self, request):
        changes = self.selected(request).filter(
            run__in=SyncRun.objects.restrict(request.user, 'view'),
        ).restrict(request.user, APPROVE_ACTION)
        count = undo_rejections(changes)
        messages.success(request, ngettext(
            'The rejection of %(count)d change was undone.', 'The rejections of %(count)d changes were undone.', count,
        ) % {'count': count})
        return redirect(self.get_return_url(request))
