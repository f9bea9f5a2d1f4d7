from django.contrib.contenttypes.models import ContentType

from netbox.plugins import PluginTemplateExtension

from .models import SyncedObject

__all__ = ('MerakiIdentityPanel', 'template_extensions')


class MerakiIdentityPanel(PluginTemplateExtension):
    """A "Meraki" panel on the sites and devices the plugin owns: their Meraki identity and last sync."""

    models = ['dcim.site', 'dcim.device']

    def right_page(self):
        obj = self.context['object']
        synced = SyncedObject.objects.filter(
            object_type=ContentType.objects.get_for_model(obj), object_id=obj.pk,
        ).select_related('last_run').first()
        if synced is None:
            return ''
        user = self.context['request'].user
        return self.render('netbox_meraki/inc/identity_panel.html', extra_context={
            'synced': synced,
            'is_device': obj._meta.model_name == 'device',
            'can_view_runs': user.has_perm('netbox_meraki.view_syncrun'),
        })


template_extensions = [MerakiIdentityPanel]
