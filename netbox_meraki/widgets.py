"""The plugin's widget for NetBox's home dashboard: last run per organization, the review queue, the next sync."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from extras.dashboard.utils import register_widget
from extras.dashboard.widgets import DashboardWidget

from .choices import RunStatusChoices
from .models import Change, SyncRun
from .scheduling import schedule_status
from .sync import interrupt_dead_runs
from .tables.changes import UNDECIDED

__all__ = ('MerakiSyncWidget',)

VIEW_RUNS = 'netbox_meraki.view_syncrun'
# Organizations listed; more than this is rare, and the plugin's dashboard lists every run.
MAX_ORGANIZATIONS = 10


def last_run_per_organization(runs):
    """The newest of `runs` of each organization, newest first."""
    latest = runs.order_by('organization_id', '-created').distinct('organization_id').defer('log')
    return sorted(latest, key=lambda run: run.created, reverse=True)[:MAX_ORGANIZATIONS]


@register_widget
class MerakiSyncWidget(DashboardWidget):
    # Plain strings (gettext, as NetBox's own widgets): a dashboard stores the title in its JSON config.
    default_title = _('Meraki sync')
    description = _('The last Meraki sync of each organization, the changes awaiting review and the next scheduled '
                    'sync.')
    template_name = 'netbox_meraki/widgets/sync_status.html'
    width = 4
    height = 3

    def render(self, request):
        if not request.user.has_perm(VIEW_RUNS):
            return render_to_string(self.template_name, {'has_permission': False})
        # As on the plugin's pages: a run whose process is gone is shown interrupted, never running.
        interrupt_dead_runs()
        runs = SyncRun.objects.restrict(request.user, 'view')
        return render_to_string(self.template_name, {
            'has_permission': True,
            'last_runs': last_run_per_organization(runs),
            'changes_awaiting_review': Change.objects.filter(
                run__in=runs.filter(status=RunStatusChoices.AWAITING_REVIEW), state__in=UNDECIDED,
            ).count(),
            'schedule': schedule_status(),
        })
