from django.utils.translation import gettext_lazy as _

from netbox.plugins import PluginMenu, PluginMenuItem

menu = PluginMenu(
    label=_('Meraki'),
    icon_class='mdi mdi-cloud-sync',
    groups=(
        (
            _('Meraki'),
            (
                PluginMenuItem(
                    link='plugins:netbox_meraki:dashboard',
                    link_text=_('Dashboard'),
                    permissions=['netbox_meraki.view_pluginsettings'],
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
