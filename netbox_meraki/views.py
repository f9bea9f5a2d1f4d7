from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, render
from django.views.generic import View

from netbox.plugins import get_plugin_config

from .models import PluginSettings, SyncRun


class DashboardView(PermissionRequiredMixin, View):
    """The plugin's home: connection state and what the plugin holds in NetBox."""

    permission_required = 'netbox_meraki.view_pluginsettings'

    def get(self, request):
        return render(request, 'netbox_meraki/dashboard.html', {
            'settings': PluginSettings.load(),
            'base_url': get_plugin_config('netbox_meraki', 'base_url'),
            'api_key_configured': bool(get_plugin_config('netbox_meraki', 'api_key')),
        })


class SettingsView(PermissionRequiredMixin, View):
    """The plugin's configuration."""

    permission_required = 'netbox_meraki.view_pluginsettings'

    def get(self, request):
        return render(request, 'netbox_meraki/settings.html', {
            'object': PluginSettings.load(),
            'base_url': get_plugin_config('netbox_meraki', 'base_url'),
            'api_key_configured': bool(get_plugin_config('netbox_meraki', 'api_key')),
        })


class SyncRunView(PermissionRequiredMixin, View):
    """One run: summary, log and planned changes."""

    permission_required = 'netbox_meraki.view_syncrun'

    def get(self, request, pk):
        run = get_object_or_404(SyncRun.objects.restrict(request.user, 'view'), pk=pk)
        return render(request, 'netbox_meraki/syncrun.html', {
            'object': run,
            'changes': run.changes.all()[:1000],
        })
