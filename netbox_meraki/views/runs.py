from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from netbox.object_actions import BulkDelete, BulkExport
from netbox.views import generic
from utilities.jobs import is_background_request
from utilities.string import humanize_duration
from utilities.views import ViewTab, register_model_view

from ..choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, RunTriggerChoices, SyncModeChoices
from ..filtersets import ChangeFilterSet, SyncRunFilterSet
from ..forms import ChangeFilterForm, RunChangesFilterForm, SyncRunFilterForm
from ..kinds import kind_name
from ..models import Change, SyncRun
from ..permissions import APPROVE_CHANGE, RUN_SYNC
from ..secrets import redact
from ..sync import (
    RATE_LIMIT_WAIT,
    REVIEW_APPLY,
    REVIEW_CHECK,
    SyncRefused,
    apply_review,
    cancel_run,
    interrupt_dead_runs,
    turn_into_review,
    undecided_dependencies,
)
from ..tables import ChangeTable, ReviewRunTable, SyncRunTable
from ..tables.changes import REMOVALS, UNDECIDED
from ..tables.display import action_totals, object_names, run_duration
from ..tables.groups import GROUP_DECISION_FORM, GROUP_FILTERS, group_by_of
from .actions import ApproveSelected, RejectSelected, UndoRejectionSelected
from .mixins import LiveRunsMixin, PermissionRequiredView

__all__ = (
    'ReviewView', 'SyncRunApplyView', 'SyncRunBulkDeleteView', 'SyncRunCancelView', 'SyncRunChangesView',
    'SyncRunListView', 'SyncRunProgressView', 'SyncRunReviewFromDryRunView', 'SyncRunView',
)

# Log lines shown while a run is live, and once it has finished.
LIVE_LOG_LINES = 15
LOG_LINES = 1000


def progress_context(run):
    """
    What a run's progress shows: phase, progress (with the rate and time left of the phase under way), what the fetch
    reads, counts so far and the latest log lines.
    """
    log = run.log or []
    shown = LOG_LINES if run.is_finished else LIVE_LOG_LINES
    return {
        **pace_context(run),
        'totals': action_totals(run.counts),
        'duration': run_duration(run),
        'review_duration': humanize_duration(run.review_duration),
        'log_lines': log[-shown:],
        'log_hidden': max(0, len(log) - shown),
        'action_colors': ChangeActionChoices.colors,
    }


def pace_context(run):
    """A run's progress in short, as its page and the dashboard show it: percent done, rate, time left, reads."""
    percent = None
    if run.progress_total:
        percent = min(100, round(100 * run.progress_done / run.progress_total))
    elif run.is_finished:
        percent = 100
    rate, seconds_left = run.pace()
    return {
        'percent': percent,
        'rate': f'{rate:,.1f}' if rate is not None else '',
        'time_left': humanize_duration(timedelta(seconds=round(seconds_left))) if rate is not None else '',
        # What the fetch reads is news only while the run runs.
        'reads': [] if run.is_finished else [
            {'label': label, 'done': done, 'total': total, 'unit': unit,
             'finished': total is not None and done >= total}
            for label, done, total, unit in run.progress_detail or ()
        ],
    }


def review_context(request, run):
    """
    How many of the run's changes wait for a decision and how many are approved; whether the user may decide; how
    many removals would take objects the plugin does not own with them.
    """
    states = dict(run.changes.order_by().values_list('state').annotate(n=Count('pk')))
    return {
        'states': states,
        'removals_taking_unowned': run.changes.filter(
            action__in=REMOVALS, cascade__contains=[{'owned': False}],
        ).count(),
        'undecided': sum(states.get(state, 0) for state in UNDECIDED),
        'approved': states.get(ChangeStateChoices.APPROVED, 0),
        'can_review': run.status == RunStatusChoices.AWAITING_REVIEW and request.user.has_perm(APPROVE_CHANGE),
    }


# Query parameters of a changes list that are not filters: its page, size, order and grouping.
NOT_FILTERS = ('page', 'per_page', 'sort', 'return_url', 'tableconfig_id', 'group_by')

# The run's phases in the order they happen, its review's after them.
PHASE_ORDER = ('fetch', 'plan', 'apply', RATE_LIMIT_WAIT, REVIEW_CHECK, REVIEW_APPLY)


def count_rows(run):
    """The run's planned changes as rows: object type (its kind and name), then the number per action."""
    actions = [action for action in ChangeActionChoices.values() if any(
        action in per_kind for per_kind in (run.counts or {}).values()
    )]
    rows = [
        (kind, kind_name(kind), [per_kind.get(action, 0) for action in actions])
        for kind, per_kind in sorted((run.counts or {}).items(), key=lambda item: kind_name(item[0]))
    ]
    return actions, rows


@register_model_view(SyncRun, 'list', path='', detail=False)
class SyncRunListView(LiveRunsMixin, generic.ObjectListView):
    queryset = SyncRun.objects.select_related('user').defer('log')
    filterset = SyncRunFilterSet
    filterset_form = SyncRunFilterForm
    table = SyncRunTable
    actions = (BulkExport, BulkDelete)
    template_name = 'netbox_meraki/syncrun_list.html'


@register_model_view(SyncRun, 'bulk_delete', path='delete', detail=False)
class SyncRunBulkDeleteView(generic.BulkDeleteView):
    """
    Delete finished runs, with their planned changes and logs. Runs that are pending, running or awaiting review are
    kept, and the user is told which. NetBox objects and their changelog stay as they are.
    """

    queryset = SyncRun.objects.select_related('user').defer('log')
    filterset = SyncRunFilterSet
    table = SyncRunTable

    def get_queryset(self, request):
        # Only what is deleted is listed for confirmation, and deleted.
        return super().get_queryset(request).exclude(status__in=SyncRun.UNDELETABLE_STATUSES)

    def post(self, request, **kwargs):
        # A run whose process is gone is interrupted, and can go; one really running cannot.
        interrupt_dead_runs()
        kept = self.undeletable(request)
        if kept and not is_background_request(request):
            messages.warning(request, ngettext(
                'Run {runs} is kept: a run that is pending, running or awaiting review cannot be deleted.',
                'Runs {runs} are kept: a run that is pending, running or awaiting review cannot be deleted.',
                len(kept),
            ).format(runs=', '.join(f'#{pk}' for pk in kept)))
        return super().post(request, **kwargs)

    def undeletable(self, request):
        """The ids of the selected runs that cannot be deleted, as NetBox's view selects them (ticked, or all)."""
        runs = SyncRun.objects.restrict(request.user, 'view')
        if request.POST.get('_all'):
            runs = self.filterset(request.GET, runs, request=request).qs
        else:
            runs = runs.filter(pk__in=[pk for pk in request.POST.getlist('pk') if pk.isdigit()])
        return list(runs.filter(status__in=SyncRun.UNDELETABLE_STATUSES).order_by('pk').values_list('pk', flat=True))


@register_model_view(SyncRun)
class SyncRunView(LiveRunsMixin, generic.ObjectView):
    queryset = SyncRun.objects.select_related('user', 'job')
    actions = ()
    template_name = 'netbox_meraki/syncrun.html'

    def get_extra_context(self, request, instance):
        return run_context(request, instance)


def run_context(request, run):
    """What a run's page shows, all of which is live while the run runs (see SyncRunProgressView)."""
    review = review_context(request, run)
    count_actions, count_table = count_rows(run)
    return {
        **progress_context(run),
        **review,
        'count_actions': count_actions,
        'count_table': count_table,
        'states': [
            (state, label, color, review['states'][state])
            for state, label, color in ChangeStateChoices.CHOICES if review['states'].get(state)
        ],
        'timings': sorted((run.timings or {}).items(), key=lambda item: (
            PHASE_ORDER.index(item[0]) if item[0] in PHASE_ORDER else len(PHASE_ORDER), item[0])),
        'can_cancel': not run.is_finished and request.user.has_perm(RUN_SYNC),
        'can_turn_into_review': run.mode == SyncModeChoices.DRY_RUN and run.is_finished
                                and may_turn_into_review(request.user, run),
    }


def may_turn_into_review(user, run):
    """Turning a dry run into a review starts a sync and readies changes for approval: it takes both rights."""
    return user.has_perm(RUN_SYNC, obj=run) and user.has_perm(APPROVE_CHANGE)


@register_model_view(SyncRun, 'progress')
class SyncRunProgressView(LiveRunsMixin, generic.ObjectView):
    """The run's page below its title (status, times, API calls, counts, progress, log), polled while it runs."""

    queryset = SyncRun.objects.select_related('user', 'job')

    def get(self, request, **kwargs):
        run = self.get_object(**kwargs)
        response = render(request, 'netbox_meraki/syncrun/live.html', {'object': run, **run_context(request, run)})
        if run.is_finished and request.htmx:
            # The run ended since the page was drawn: reload it whole, with the final status, counts and changes.
            response['HX-Refresh'] = 'true'
        return response


@register_model_view(SyncRun, 'changes')
class SyncRunChangesView(generic.ObjectChildrenView):
    """The run's planned changes, filterable; while the run awaits review, the place to approve and reject them."""

    queryset = SyncRun.objects.all()
    child_model = Change
    table = ChangeTable
    filterset = ChangeFilterSet
    filterset_form = ChangeFilterForm
    actions = (ApproveSelected, RejectSelected, UndoRejectionSelected)
    template_name = 'netbox_meraki/syncrun/changes.html'
    tab = ViewTab(
        label=_('Changes'),
        badge=lambda run: run.changes.count(),
        permission='netbox_meraki.view_change',
        weight=500,
    )

    def get_object(self, **kwargs):
        self.run = super().get_object(**kwargs)
        return self.run

    def get_children(self, request, parent):
        return Change.objects.restrict(request.user, 'view').filter(run=parent)

    def get_permitted_actions(self, user, model=None):
        permitted = super().get_permitted_actions(user, model=model)
        if self.run.status != RunStatusChoices.AWAITING_REVIEW:
            # A finished run's decisions are over, but a rejection that stands for later runs can be undone.
            return [action for action in permitted if action is UndoRejectionSelected]
        return permitted

    def get_table(self, data, request, bulk_actions=True):
        table = super().get_table(data, request, bulk_actions)
        # The approve and reject buttons of each row go with the checkboxes: both need a run awaiting review.
        table.reviewable = bulk_actions and self.run.status == RunStatusChoices.AWAITING_REVIEW
        table.columns.hide('run')
        return table

    @classmethod
    def table_of(cls, request, run, changes):
        """The table of these changes of the run as its page builds it, for the user of the request."""
        view = cls(run=run)
        actions = view.get_permitted_actions(request.user, model=Change)
        return view.get_table(changes, request, bulk_actions=any(action.multi for action in actions))

    def get_extra_context(self, request, instance):
        kinds = instance.changes.order_by().values_list('kind', flat=True).distinct()
        networks = instance.changes.order_by().exclude(scope='').values_list('scope', flat=True).distinct()
        names = object_names({('site', network) for network in networks}, {instance.pk})
        review = review_context(request, instance)
        if review['can_review']:
            # "Approve all" and "Reject all" take what the filter shows, on every page: they post the filter.
            filters = [(key, value) for key, values in request.GET.lists() for value in values
                       if key not in NOT_FILTERS]
            undecided = instance.changes.filter(state__in=UNDECIDED)
            # A group's buttons post the filter too, with their group's site or device in place of the filter's.
            group_filter = GROUP_FILTERS.get(group_by_of(request))
            review.update(
                filters=filters,
                group_filters=[(key, value) for key, value in filters if key != group_filter],
                matching=ChangeFilterSet(request.GET, undecided).qs.count() if filters else review['undecided'],
                needed=len(undecided_dependencies(instance)) if review['approved'] and review['undecided'] else 0,
            )
        return {
            **review,
            'group_decision_form': GROUP_DECISION_FORM,
            'change_filter_form': RunChangesFilterForm(request.GET, kinds=kinds, sites=[
                (network, names.get(('site', network), network)) for network in networks
            ]),
        }


class RunActionView(PermissionRequiredView):
    """A POST that acts on one run the user can see, then goes back to the run."""

    http_method_names = ['post']

    def get_run(self, request, pk):
        return get_object_or_404(SyncRun.objects.restrict(request.user, 'view'), pk=pk)


@register_model_view(SyncRun, 'cancel')
class SyncRunCancelView(RunActionView):
    permission_required = RUN_SYNC

    def post(self, request, pk):
        run = self.get_run(request, pk)
        if not request.user.has_perm(RUN_SYNC, obj=run):
            return self.handle_no_permission()
        try:
            cancel_run(run)
        except SyncRefused as exc:
            messages.error(request, redact(exc))
        else:
            if run.status == RunStatusChoices.CANCELLED:
                messages.success(request, _('Run #{pk} was cancelled before it started.').format(pk=run.pk))
            else:
                messages.success(request, _(
                    'Run #{pk} will stop at its next safe point. What it has already applied stays applied, '
                    'in the changelog.'
                ).format(pk=run.pk))
        return redirect(run.get_absolute_url())


@register_model_view(SyncRun, 'apply')
class SyncRunApplyView(RunActionView):
    permission_required = APPROVE_CHANGE

    def post(self, request, pk):
        run = self.get_run(request, pk)
        try:
            apply_review(run, user=request.user, background=True)
        except SyncRefused as exc:
            messages.error(request, redact(exc))
            return redirect(reverse('plugins:netbox_meraki:syncrun_changes', kwargs={'pk': run.pk}))
        messages.success(request, _('Applying the approved changes of run #{pk}.').format(pk=run.pk))
        return redirect(run.get_absolute_url())


@register_model_view(SyncRun, 'turn_into_review', path='turn-into-review')
class SyncRunReviewFromDryRunView(RunActionView):
    """Turn a dry run into a review: a new review run of the same organization and networks, planned anew."""

    permission_required = RUN_SYNC

    def post(self, request, pk):
        dry_run = self.get_run(request, pk)
        if not may_turn_into_review(request.user, dry_run):
            return self.handle_no_permission()
        try:
            run = turn_into_review(dry_run, user=request.user, trigger=RunTriggerChoices.MANUAL)
        except SyncRefused as exc:
            messages.error(request, redact(exc))
            return redirect(dry_run.get_absolute_url())
        messages.success(request, _('Run #{pk} reads Meraki again and plans the review of dry run #{dry_run}.').format(
            pk=run.pk, dry_run=dry_run.pk))
        return redirect(run.get_absolute_url())


class ReviewView(generic.ObjectListView):
    """The runs that wait for a person to approve or reject their changes."""

    queryset = SyncRun.objects.filter(status=RunStatusChoices.AWAITING_REVIEW).select_related('user').defer(
        'log'
    ).annotate(undecided=Count('changes', filter=Q(changes__state__in=UNDECIDED)))
    table = ReviewRunTable
    actions = ()
    template_name = 'netbox_meraki/review.html'

