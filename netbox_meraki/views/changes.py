from collections import defaultdict

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import ngettext

from netbox.object_actions import BulkExport
from netbox.views import generic
from netbox.views.generic.base import BaseMultiObjectView
from utilities.views import GetReturnURLMixin, register_model_view

from ..filtersets import ChangeFilterSet
from ..forms import ChangeFilterForm
from ..models import Change, SyncRun
from ..permissions import APPROVE_CHANGE
from ..secrets import redact
from ..sync import SyncRefused, approve_changes, reject_changes
from ..tables import ChangeTable

__all__ = ('ChangeApproveView', 'ChangeListView', 'ChangeRejectView')


@register_model_view(Change, 'list', path='', detail=False)
class ChangeListView(generic.ObjectListView):
    queryset = Change.objects.select_related('run')
    filterset = ChangeFilterSet
    filterset_form = ChangeFilterForm
    table = ChangeTable
    actions = (BulkExport,)


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
        if '_all' in request.POST and request.POST.get('run', '').isdigit():
            return self.queryset.filter(run_id=int(request.POST['run']))
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
        return redirect(self.get_return_url(request))


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
