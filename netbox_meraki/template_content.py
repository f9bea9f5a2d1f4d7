from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from core.models import ObjectChange
from netbox.plugins import PluginTemplateExtension

from .kinds import KINDS
from .models import SyncedObject, SyncRun

__all__ = ('MerakiIdentityPanel', 'template_extensions')

# Runs listed on an object's page: the latest that changed it.
RECENT_RUNS = 5


def runs_that_changed(obj, user, limit=RECENT_RUNS):
    """
    The latest runs the user may see that changed the object or one of its components (an interface, an address),
    as NetBox's changelog of the object shows them: its entries carry the run's request id. One query.
    """
    object_type = ContentType.objects.get_for_model(obj)
    request_ids = ObjectChange.objects.filter(
        Q(changed_object_type=object_type, changed_object_id=obj.pk) |
        Q(related_object_type=object_type, related_object_id=obj.pk)
    ).values('request_id')
    return list(
        SyncRun.objects.restrict(user, 'view').filter(request_id__in=request_ids).defer('log').order_by('-created')[
            :limit
        ]
    )


class MerakiIdentityPanel(PluginTemplateExtension):
    """
    A "Meraki" panel on the NetBox objects the plugin owns: their Meraki identity, a link to their Dashboard page
    (sites and devices), last sync, and the latest runs that changed them.
    """

    models = sorted({spec.model._meta.label_lower for spec in KINDS.values()})

    def right_page(self):
        obj = self.context['object']
        synced = SyncedObject.objects.filter(
            object_type=ContentType.objects.get_for_model(obj), object_id=obj.pk,
        ).select_related('last_run').first()
        if synced is None:
            return ''
        user = self.context['request'].user
        can_view_runs = user.has_perm('netbox_meraki.view_syncrun')
        return self.render('netbox_meraki/inc/identity_panel.html', extra_context={
            'synced': synced,
            'model_name': obj._meta.model_name,
            'dashboard_url': getattr(obj, 'custom_field_data', {}).get('meraki_url'),
            'can_view_runs': can_view_runs,
            'recent_runs': runs_that_changed(obj, user) if can_view_runs else [],
        })


template_extensions = [MerakiIdentityPanel]
