from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..choices import RunTriggerChoices
from ..fetch import FetchError
from ..forms import SyncNowForm, known_organizations
from ..models import PluginSettings, SyncRun
from ..permissions import RUN_SYNC
from ..secrets import redact
from ..sync import ACTIVE, MerakiSyncService, SyncAlreadyRunning, SyncRefused
from .connection import visible_organizations
from .mixins import LiveRunsMixin, PermissionRequiredView

__all__ = ('SyncNowView',)


def organization_choices():
    """
    (choices, error): the organizations the API key sees (cached for a few minutes), plus the configured ones and
    those synced before, so that the form works while the Dashboard API cannot be reached.
    """
    organizations, error = visible_organizations()
    choices = {str(org['id']): f'{org["name"]} ({org["id"]})' for org in organizations}
    for organization_id, label in known_organizations():
        choices.setdefault(organization_id, label)
    for organization_id in PluginSettings.load().organization_ids:
        choices.setdefault(organization_id, organization_id)
    return sorted(choices.items(), key=lambda item: item[1].lower()), error


def runs_url(runs):
    """The runs list showing exactly these runs."""
    return reverse('plugins:netbox_meraki:syncrun_list') + '?' + urlencode([('id', run.pk) for run in runs])


class SyncNowView(LiveRunsMixin, PermissionRequiredView):
    """Start a sync: one background job per organization, then follow it on its run's page."""

    permission_required = RUN_SYNC
    template_name = 'netbox_meraki/sync.html'

    def get(self, request):
        settings = PluginSettings.load()
        choices, error = organization_choices()
        form = SyncNowForm(
            initial={'mode': settings.default_sync_mode, 'organization_ids': settings.organization_ids},
            organizations=choices,
        )
        return self.render(request, form, error)

    def post(self, request):
        choices, error = organization_choices()
        form = SyncNowForm(request.POST, organizations=choices)
        running = None
        if form.is_valid():
            service = MerakiSyncService(user=request.user, trigger=RunTriggerChoices.MANUAL)
            try:
                runs = service.sync_all(
                    mode=form.cleaned_data['mode'],
                    organization_ids=form.cleaned_data['organization_ids'] or None,
                    network_ids=form.cleaned_data['network_ids'] or None,
                    background=True,
                    full_read=form.cleaned_data['full_read'],
                )
            except SyncAlreadyRunning as exc:
                running = exc  # said once, with a link to the run (the template)
            except (SyncRefused, FetchError) as exc:
                form.add_error(None, redact(exc))
            else:
                for refusal in service.refused:
                    messages.warning(request, redact(refusal))
                messages.success(request, ngettext(
                    'Sync of {organizations} queued.', 'Syncs of {count} organizations queued: {organizations}.',
                    len(runs),
                ).format(count=len(runs), organizations=', '.join(
                    dict(choices).get(run.organization_id, run.organization_id) for run in runs)))
                if len(runs) == 1:
                    return redirect(runs[0].get_absolute_url())
                return redirect(runs_url(runs))
        return self.render(request, form, error, running=running)

    def render(self, request, form, organizations_error, running=None):
        return render(request, self.template_name, {
            'form': form,
            'organizations_error': organizations_error,
            'running': running,
            'active_runs': SyncRun.objects.restrict(request.user, 'view').filter(status__in=ACTIVE).defer('log'),
            'title': _('Sync now'),
        })
