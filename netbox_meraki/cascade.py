"""
What NetBox would delete along with an object, found as NetBox's own delete view finds it (its collector), and
whether the plugin may delete the object: only when everything that goes with it is the plugin's own and is removed
by the same plan. People's objects (a prefix scoped to the site, an address on the interface, a journal entry) are
never taken along.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import router
from django.db.models import ProtectedError, RestrictedError

from dcim.models import Device, DeviceType, SiteGroup
from netbox.models.deletion import ConfirmCollector

from .models import SyncedObject

__all__ = ('Cascade', 'CascadeCheck')

# Rows that exist only as part of the object they belong to: its tags, cable ends and traced paths, search index,
# people's bookmarks, subscriptions and notifications of it, front/rear port mappings.
INTERNAL_MODELS = {
    ('extras', 'taggeditem'), ('extras', 'cachedvalue'), ('extras', 'bookmark'), ('extras', 'subscription'),
    ('extras', 'notification'), ('dcim', 'cabletermination'), ('dcim', 'cablepath'), ('dcim', 'portmapping'),
}
# Objects NetBox keeps but changes when the object goes (a foreign key set to null): a site group's sites lose their
# group. They count as taken along: a person's site must not lose the group it was given; one of the organization's
# own sites, kept though Meraki no longer has its network, loses the group the plugin gave it.
NULLED_RELATIONS = {SiteGroup: ('sites',)}
# Entries kept on a change: enough to show, not a copy of a whole site.
LISTED = 50


class Cascade:
    """The outcome of a check: the entries to show, and the objects that stop the deletion (with why)."""

    def __init__(self, entries, blockers):
        self.entries = entries
        self.blockers = blockers

    @property
    def blocked(self):
        return bool(self.blockers)

    def reason(self, instead):
        """Why the object is not deleted, ending with what happens `instead` ('marked', 'kept')."""
        names = ', '.join(self.blockers[:5]) + (f' and {len(self.blockers) - 5} more' if len(self.blockers) > 5 else '')
        return (f'Not deleted: NetBox would delete with it {len(self.blockers)} object(s) the plugin does not own or '
                f'keeps ({names}); {instead} instead.')[:500]


class CascadeCheck:
    """
    Checks deletions of one organization's objects. `removed` holds (content type id, pk) of the owned objects the
    same plan (or apply) removes: those may go along.
    """

    def __init__(self, organization_id, removed=()):
        self.organization_id = organization_id
        self.removed = set(removed)
        self.template_names = {}
        self.device_types = {}

    def check(self, obj):
        collector = ConfirmCollector(using=router.db_for_write(type(obj)))
        # NetBox refuses to delete what others still use (a site with devices): fine when those go first in the same
        # plan. By the time it raises, the collector has gathered everything else but the generic relations.
        try:
            collector.collect([obj])
            protected = []
        except ProtectedError as exc:
            protected = list(exc.protected_objects)
            # Django raises before it gets to the generic relations (journal entries, addresses of an interface).
            for relation in type(obj)._meta.private_fields:
                if hasattr(relation, 'bulk_related_objects'):
                    related = relation.bulk_related_objects([obj], collector.using)
                    try:
                        collector.collect(related, source=type(obj), nullable=True, fail_on_restricted=False)
                    except ProtectedError as nested:
                        protected += nested.protected_objects
        except RestrictedError as exc:
            protected = list(exc.restricted_objects)
        dependents = list(protected)
        nulled = set()
        for name in NULLED_RELATIONS.get(type(obj), ()):
            for instance in getattr(obj, name).all():
                dependents.append(instance)
                nulled.add((ContentType.objects.get_for_model(instance).pk, instance.pk))
        for model, instance in collector.instances_with_model():
            if model._meta.auto_created or (model._meta.app_label, model._meta.model_name) in INTERNAL_MODELS:
                continue
            if model is type(obj) and instance.pk == obj.pk:
                continue
            if self.made_from_template(instance, obj):
                continue
            dependents.append(instance)
        owners = self.owners(dependents)
        entries, blockers = [], []
        for instance in dependents:
            key = (ContentType.objects.get_for_model(instance).pk, instance.pk)
            # An object of this organization's that only loses a reference (a kept site its group) loses what the
            # plugin gave it, and stays.
            allowed = (key in self.removed or key in nulled) and owners.get(key) == self.organization_id
            label = f'{instance._meta.verbose_name} {instance}'
            if not allowed:
                owner = owners.get(key)
                blockers.append(label if owner is None else f'{label} (owned, kept)' if owner == self.organization_id
                                else f'{label} (of organization {owner})')
            if len(entries) < LISTED:
                entries.append({
                    'type': str(instance._meta.verbose_name), 'id': instance.pk, 'name': str(instance)[:100],
                    'owned': allowed, 'url': url_of(instance),
                })
        for model, count in collector.generic_relation_counts.items():
            entries.append({'type': str(model._meta.verbose_name_plural), 'more': count})
        if len(dependents) > LISTED:
            entries.append({'type': 'objects', 'more': len(dependents) - LISTED})
        return Cascade(entries, blockers)

    def made_from_template(self, instance, root):
        """
        A component NetBox made from the device type's templates when it created a device that goes too (same name as
        a template): part of the device, as its tags are. Anything attached to it is collected on its own.
        """
        device_id = getattr(instance, 'device_id', None)
        if device_id is None or not hasattr(instance, 'name'):
            return False
        device_type = ContentType.objects.get_for_model(Device).pk
        if not ((isinstance(root, Device) and root.pk == device_id) or (device_type, device_id) in self.removed):
            return False
        if device_id not in self.device_types:
            self.device_types[device_id] = Device.objects.filter(pk=device_id).values_list(
                'device_type_id', flat=True).first()
        key = (self.device_types[device_id], instance._meta.model_name)
        if key not in self.template_names:
            templates = getattr(DeviceType, f'{instance._meta.model_name}templates', None)
            self.template_names[key] = set(
                templates.rel.related_model.objects.filter(device_type_id=key[0]).values_list('name', flat=True)
            ) if templates is not None else set()
        return instance.name in self.template_names[key]

    @staticmethod
    def owners(instances):
        """(content type id, pk) -> organization id, for the given instances the plugin owns."""
        by_type = {}
        for instance in instances:
            by_type.setdefault(ContentType.objects.get_for_model(instance).pk, []).append(instance.pk)
        owners = {}
        for type_id, pks in by_type.items():
            rows = SyncedObject.objects.filter(object_type_id=type_id, object_id__in=pks)
            for object_id, organization_id in rows.values_list('object_id', 'organization_id'):
                owners[(type_id, object_id)] = organization_id
        return owners


def url_of(instance):
    try:
        return instance.get_absolute_url()
    except Exception:
        return ''
