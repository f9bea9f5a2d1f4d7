from django.utils.translation import gettext_lazy as _

from netbox.plugins import PluginMenu, PluginMenuItem

from .permissions import RUN_SYNC

VIEW_RUNS = 'netbox_meraki.view_syncrun'

menu = PluginMenu(
    label=_('Meraki'),
    icon_class='mdi mdi-cloud-sync',
    groups=(
        (
            _('Meraki'),
            (
                PluginMenuItem(
                    link='plugins:netbox_meraki:dashboard', link_text=_('Dashboard'), permissions=[VIEW_RUNS],
                ),
                PluginMenuItem(link='plugins:netbox_meraki:sync', link_text=_('Sync now'), permissions=[RUN_SYNC]),
                PluginMenuItem(
                    link='plugins:netbox_meraki:syncrun_list', link_text=_('Runs'), permissions=[VIEW_RUNS],
                ),
                PluginMenuItem(link='plugins:netbox_meraki:review', link_text=_('Review'), permissions=[VIEW_RUNS]),
                PluginMenuItem(
                    link='plugins:netbox_meraki:change_list', link_text=_('Changes'),
                    permissions=['netbox_meraki.view_change'],
                ),
                PluginMenuItem(
                    link='plugins:netbox_meraki:settings',
                    link_text=_('Configuration'),
                    permissions=['netbox_meraki.view_pluginsettings'],
                ),
            ),
        ),
    ),
)
