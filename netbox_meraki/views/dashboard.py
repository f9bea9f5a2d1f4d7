from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Max
from django.shortcuts import render
from django.urls import NoReverseMatch
from django.utils.translation import gettext_lazy as _

from utilities.views import get_action_url

from ..apply import OWNER_TAG
from ..choices import RunStatusChoices
from ..models import PluginSettings, SyncedObject, SyncRun
from ..plots import run_charts
from ..sync import ACTIVE
from ..tables import SyncRunTable
from ..tables.display import action_totals, outcome_counts, render_outcome, run_duration
from .connection import connection_context
from .mixins import LiveRunsMixin, PermissionRequiredView
from .runs import pace_context

__all__ = ('DashboardActiveRunsView', 'DashboardView', 'owned_objects', 'run_plots')

RECENT_RUNS = 10
RECENT_LOGS = 5
LOG_LINES_PER_RUN = 6
# Runs per organization in the dashboard's plots.
PLOTTED_RUNS = 30
# A run that got this far talked to Meraki successfully.
REACHED_MERAKI = (
    RunStatusChoices.COMPLETED, RunStatusChoices.PARTIAL, RunStatusChoices.AWAITING_REVIEW, RunStatusChoices.CANCELLED,
    RunStatusChoices.SUPERSEDED,
)


def owned_objects():
    """What the plugin owns in NetBox, per kind: label, count and the NetBox list of those objects."""
    rows = []
    counts = SyncedObject.objects.order_by().values('kind', 'object_type').annotate(count=Count('pk'))
    for row in sorted(counts, key=lambda row: row['kind']):
        model = ContentType.objects.get_for_id(row['object_type']).model_class()
        if model is None:
            continue
        try:
            url = f'{get_action_url(model, "list")}?tag={OWNER_TAG}'
        except NoReverseMatch:
            url = None
        label = str(model._meta.verbose_name_plural)
        rows.append({'kind': row['kind'], 'label': label[:1].upper() + label[1:], 'count': row['count'], 'url': url})
    return rows


def run_plots(runs):
    """
    Per organization (the last to run first), its name and the charts of its last PLOTTED_RUNS finished runs, oldest
    first. A query per organization, and one for what became of the runs' changes.
    """
    finished = runs.filter(status__in=RunStatusChoices.FINISHED).defer('log')
    organizations = finished.order_by().values('organization_id').annotate(last=Max('created')).order_by(
        '-last').values_list('organization_id', flat=True)
    plotted = [list(reversed(finished.filter(organization_id=organization_id)[:PLOTTED_RUNS]))
               for organization_id in organizations]
    outcomes = outcome_counts([run for runs_of_one in plotted for run in runs_of_one])
    return [
        (runs_of_one[-1].organization_name or runs_of_one[-1].organization_id, run_charts(runs_of_one, outcomes))
        for runs_of_one in plotted
    ]


def active_runs_context(runs):
    """The runs under way, each with its progress in short (as its page shows it)."""
    return {'active_runs': [(run, pace_context(run)) for run in runs.filter(status__in=ACTIVE).defer('log')]}


class DashboardView(LiveRunsMixin, PermissionRequiredView):
    """
    The plugin's home: connection, the runs under way, the last finished and the next run, what the plugin owns,
    recent runs and their logs.
    """

    permission_required = 'netbox_meraki.view_syncrun'

    def get(self, request):
        runs = SyncRun.objects.restrict(request.user, 'view')
        recent = list(runs.select_related('user')[:RECENT_RUNS])
        # The runs under way have their live cards: this one tells how the last one ended.
        last_run = runs.filter(status__in=RunStatusChoices.FINISHED).defer('log').first()
        table = SyncRunTable(recent, orderable=False)
        table.columns.hide('pk')
        table.configure(request)
        return render(request, 'netbox_meraki/dashboard.html', {
            'title': _('Meraki'),
            'plugin_settings': PluginSettings.load(),
            **connection_context(),
            'last_run': last_run,
            'last_run_duration': run_duration(last_run) if last_run else '',
            'last_run_totals': action_totals(last_run.counts) if last_run else {},
            'last_run_outcome': render_outcome(last_run, outcome_counts([last_run])[last_run.pk]) if last_run else '',
            'last_contact': runs.filter(status__in=REACHED_MERAKI, api_calls__gt=0).only('pk', 'completed').first(),
            'last_failure': runs.filter(status=RunStatusChoices.FAILED).only('pk', 'completed', 'error').first(),
            **active_runs_context(runs),
            'run_plots': run_plots(runs),
            'awaiting_review': runs.filter(status=RunStatusChoices.AWAITING_REVIEW).count(),
            'owned': owned_objects(),
            'recent_runs': table,
            'recent_logs': [(run, (run.log or [])[-LOG_LINES_PER_RUN:]) for run in recent[:RECENT_LOGS] if run.log],
        })


class DashboardActiveRunsView(LiveRunsMixin, PermissionRequiredView):
    """
    The dashboard's runs under way, polled while there are some. When one of those the page shows (`runs`) has ended,
    the page reloads, with its last run, recent runs and plots.
    """

    permission_required = 'netbox_meraki.view_syncrun'

    def get(self, request):
        context = active_runs_context(SyncRun.objects.restrict(request.user, 'view'))
        shown = {pk for pk in request.GET.get('runs', '').split(',') if pk.isdigit()}
        response = render(request, 'netbox_meraki/inc/active_runs.html', context)
        if request.htmx and not shown <= {str(run.pk) for run, _pace in context['active_runs']}:
            response['HX-Refresh'] = 'true'
        return response
