from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from core.models import ObjectChange
from netbox.plugins import PluginTemplateExtension

from .kinds import KINDS
from .models import PluginSettings, SyncedObject, SyncRun
from .permissions import RUN_SYNC
from .sync import READ_STATUSES

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


def last_read(synced):
    """
    When Meraki was last read for the object: the start of its organization's latest run that read Meraki and covered
    its network (or every network). One query.
    """
    runs = SyncRun.objects.filter(organization_id=synced.organization_id, status__in=READ_STATUSES)
    if synced.network_id:
        runs = runs.filter(Q(network_ids=[]) | Q(network_ids__contains=[synced.network_id]))
    return runs.order_by('-started').values_list('started', flat=True).first()


def network_of(synced):
    """The Meraki network a site stands for, or a device (or any other object) is in."""
    return synced.meraki_id if synced.kind == 'site' else synced.network_id


class MerakiIdentityPanel(PluginTemplateExtension):
    """
    On the NetBox objects the plugin owns: at the top, a line saying so (with when Meraki was last read for the object
    and when a sync last changed it) and buttons to open it in the Meraki Dashboard and to sync its network; in the
    right column, a "Meraki" panel with its Meraki identity, those times and the latest runs that changed it.
    """

    models = sorted({spec.model._meta.label_lower for spec in KINDS.values()})

    def synced(self):
        """The object's ownership record (or None) and when Meraki was last read for it: looked up once per page."""
        obj = self.context['object']
        object_type = ContentType.objects.get_for_model(obj)
        found = vars(self.context['request']).setdefault('meraki_identities', {})
        if (object_type.pk, obj.pk) not in found:
            synced = SyncedObject.objects.filter(object_type=object_type, object_id=obj.pk).select_related(
                'last_run').first()
            found[object_type.pk, obj.pk] = (synced, last_read(synced) if synced else None)
        return found[object_type.pk, obj.pk]

    def alerts(self):
        synced, read = self.synced()
        if synced is None:
            return ''
        return self.render('netbox_meraki/inc/identity_line.html', extra_context={
            'synced': synced, 'last_read': read, 'network_id': network_of(synced),
        })

    def buttons(self):
        synced, _ = self.synced()
        if synced is None:
            return ''
        obj = self.context['object']
        network_id = network_of(synced) if synced.kind in ('site', 'device') else ''
        return self.render('netbox_meraki/inc/identity_buttons.html', extra_context={
            'synced': synced,
            'dashboard_url': getattr(obj, 'custom_field_data', {}).get('meraki_url'),
            'network_id': network_id if self.context['request'].user.has_perm(RUN_SYNC) else '',
            'sync_mode': PluginSettings.load().default_sync_mode,
        })

    def right_page(self):
        synced, read = self.synced()
        if synced is None:
            return ''
        obj = self.context['object']
        user = self.context['request'].user
        can_view_runs = user.has_perm('netbox_meraki.view_syncrun')
        return self.render('netbox_meraki/inc/identity_panel.html', extra_context={
            'synced': synced,
            'last_read': read,
            'model_name': obj._meta.model_name,
            'can_view_runs': can_view_runs,
            'recent_runs': runs_that_changed(obj, user) if can_view_runs else [],
        })


template_extensions = [MerakiIdentityPanel]
