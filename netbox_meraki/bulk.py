"""
Writing many objects of one model as NetBox writes each of them, for less than NetBox's per-object cost.

NetBox writes an object with full_clean() and save(); save() runs the model's save() overrides (denormalised fields,
custom field defaults) and its post_save receivers (changelog entry, events, search cache, counters, ...), and tags
are added afterwards through an m2m path that rewrites the changelog entry. What costs a query per object there is done
here once per group, and everything else is left to NetBox's own code:

- validation: full_clean(), with the existence of referenced objects checked in one query per field for the group
  (as ForeignKey.validate() checks it for one object) and uniqueness left to the database's constraints;
- many-to-many values and tags: set before the object is logged, so NetBox serializes them (its changelog entry is
  the one the m2m path would end with), and their rows inserted in bulk;
- creation (`create`): the model's save() chain runs for what it computes, the rows are inserted in bulk, then every
  post_save receiver runs for each object as save() would run it, except two done for the group: the changelog
  (NetBox's own serialization, entries inserted in bulk) with its events, and the cached counters (one update per
  parent, by the number of children).

tests/engine/test_together.py proves the result equal to NetBox's per-object writes, table by table.
"""

from collections import Counter

from django.contrib.contenttypes.models import ContentType
from django.db import router
from django.db.models.signals import post_save, pre_save
from django_prometheus.models import model_inserts

from core.choices import ObjectChangeActionChoices
from core.events import OBJECT_CREATED
from core.models import ObjectChange, ObjectType
from core.signals import handle_changed_object
from dcim.models import DeviceType
from dcim.signals import update_channelized_cable_paths
from extras.events import enqueue_event
from extras.models import CustomField, TaggedItem
from ipam.models import IPAddress
from netbox.context import current_request, events_queue
from utilities.counters import get_counters_for_model, post_save_receiver, update_counter

__all__ = (
    'cache_many', 'create', 'insert_many', 'insert_tags', 'locked', 'refresh', 'related_objects',
    'unique_custom_fields', 'verified_references',
)

# The post_save receivers create() does for the whole group instead of for each object.
GROUP_RECEIVERS = (handle_changed_object, post_save_receiver)
# Receivers create() need not call for an object they have nothing to do for, by their own first checks: an interface
# that is not a channel, has no parent and no cable.
IDLE = {
    update_channelized_cable_paths: lambda obj: not (obj.channel_id or obj.parent_id or obj.cable_id or obj.channels),
}
# What NetBox reads of an object another refers to, beyond the objects it refers to directly: a new device's save()
# instantiates its type's component templates; a device's validation checks the interface its primary IP is on.
READ_ALONG = {
    DeviceType: (
        'consoleporttemplates', 'consoleserverporttemplates', 'powerporttemplates', 'poweroutlettemplates',
        'coolingintaketemplates', 'coolingoutflowtemplates', 'interfacetemplates', 'rearporttemplates',
        'frontporttemplates', 'modulebaytemplates', 'devicebaytemplates', 'inventoryitemtemplates',
    ),
    IPAddress: ('assigned_object',),
}


def foreign_keys(model):
    return [field for field in model._meta.concrete_fields if field.many_to_one or field.one_to_one]


def direct_references(model):
    return [field.name for field in foreign_keys(model)]


def locked(model, pks, prefetch=()):
    """{pk: object} of `model` locked for update, read as related_objects() reads them, with `prefetch` along."""
    queryset = model.objects.select_for_update(of=('self',)).select_related(*direct_references(model))
    return queryset.prefetch_related(*prefetch).in_bulk(pks)


def related_objects(model, pks):
    """
    {pk: object} of `model`, with what NetBox reads of it when an object referring to it is validated and saved: the
    objects it refers to directly (a device's site, ...), and READ_ALONG.
    """
    if not pks:
        return {}
    queryset = model.objects.select_related(*direct_references(model))
    return queryset.prefetch_related(*READ_ALONG.get(model, ())).in_bulk(pks)


def verified_references(objects):
    """
    {field name: values that exist}: each foreign key of the objects checked in one query per field, as Django's
    ForeignKey.validate() checks one object (the base manager, limit_choices_to). Fields found here can be left out of
    full_clean(); a value not found is left in, so full_clean() reports it in Django's words.
    """
    model = type(objects[0])
    found = {}
    for field in foreign_keys(model):
        values = {getattr(obj, field.attname) for obj in objects} - {None}
        if values:
            target = field.remote_field.field_name
            queryset = field.remote_field.model._base_manager.filter(**{f'{target}__in': values})
            queryset = queryset.complex_filter(field.get_limit_choices_to())
            found[field.name] = set(queryset.values_list(target, flat=True))
    return found


def unchecked(obj, found):
    """The foreign keys of `obj` verified_references() found: full_clean() need not query them again."""
    return [name for name, values in found.items() if getattr(obj, obj._meta.get_field(name).attname) in values]


def unique_custom_fields(model):
    """Whether a custom field of the model must be unique: NetBox's validation reads the database for each value."""
    return CustomField.objects.filter(object_types=ObjectType.objects.get_for_model(model), unique=True).exists()


def many_fields(model):
    """The many-to-many fields Django serializes (tags have their own path)."""
    return [field for field in model._meta.many_to_many if field.remote_field.through._meta.auto_created]


def cache_many(objects):
    """
    Set the many-to-many values of new objects (`objects`: [(object, {field name: [pks]})], a field left out is empty)
    as Django's prefetch cache, in the order NetBox would read them, so that NetBox serializes them when it logs the
    object: related objects read in one query per field for the group.
    """
    if not objects:
        return
    for field in many_fields(type(objects[0][0])):
        wanted = {pk for _, values in objects for pk in values.get(field.name, ())}
        in_order = list(field.related_model.objects.filter(pk__in=wanted)) if wanted else []
        for obj, values in objects:
            pks = set(values.get(field.name, ()))
            queryset = field.related_model.objects.none()
            queryset._result_cache = [item for item in in_order if item.pk in pks]
            obj.__dict__.setdefault('_prefetched_objects_cache', {})[field.name] = queryset


def insert_many(objects):
    """
    The many-to-many rows of new objects (as for cache_many()), one insert per field (what .set() writes for one
    object).
    """
    if not objects:
        return
    for field in many_fields(type(objects[0][0])):
        through = field.remote_field.through
        source, target = f'{field.m2m_field_name()}_id', f'{field.m2m_reverse_field_name()}_id'
        through.objects.bulk_create(
            through(**{source: obj.pk, target: pk}) for obj, values in objects for pk in values.get(field.name, ())
        )


def insert_tags(objects, tags):
    """The tag rows of new objects that NetBox logged with `tags` (see create()): one insert."""
    if objects and tags:
        type_id = ContentType.objects.get_for_model(type(objects[0])).pk
        TaggedItem.objects.bulk_create(
            TaggedItem(tag=tag, content_type_id=type_id, object_id=obj.pk) for obj in objects for tag in tags
        )


def skip_write(**kwargs):
    """Stands in for Model.save_base() while the model's save() chain computes its fields (see create())."""


def create(model, objects):
    """
    Create validated new objects of `model` as NetBox's save() would, for a group: their tags (`obj._tags`) and
    many-to-many values (see cache_many()) are already set.
    """
    using = router.db_for_write(model)
    for obj in objects:
        # The model's save() overrides compute fields (a component's site, custom field defaults, ...) before
        # Model.save() writes: run them, without the write, which bulk_create() does for the group.
        obj.save_base = skip_write
        try:
            obj.save()
        finally:
            del obj.save_base
        pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    model.objects.bulk_create(objects)

    receivers = [receiver for receiver in post_save._live_receivers(model)[0] if receiver not in GROUP_RECEIVERS]
    request = current_request.get()
    queue = events_queue.get()
    entries = []
    for obj in objects:
        # What handle_changed_object() does for a creation, its entry inserted with the group's below.
        if request is not None:
            entry = obj.to_objectchange(ObjectChangeActionChoices.ACTION_CREATE)
            entry.user, entry.user_name, entry.request_id = request.user, request.user.username, request.id
            entries.append(entry)
            enqueue_event(queue, obj, request, OBJECT_CREATED)
            model_inserts.labels(model._meta.model_name).inc()
        for receiver in receivers:
            if receiver in IDLE and IDLE[receiver](obj):
                continue
            receiver(signal=post_save, sender=model, instance=obj, created=True, update_fields=None, raw=False,
                     using=using)
    events_queue.set(queue)
    ObjectChange.objects.bulk_create(entries)
    for entry in entries:
        post_save.send(sender=ObjectChange, instance=entry, created=True, update_fields=None, raw=False, using=using)

    # What counters.post_save_receiver() does for each new object: add one to its parent's counter.
    for field_name, counter_name in get_counters_for_model(model):
        parent_model = model._meta.get_field(field_name).related_model
        for parent_pk, count in Counter(getattr(obj, field_name) for obj in objects).items():
            if parent_pk is not None:
                update_counter(parent_model, parent_pk, counter_name, count, using=using)


def refresh(objects):
    """
    What refresh_from_db() does to each object, in one query for the group: NetBox reloads an object when tags are
    added to it, so its events show it as the database holds it (a new device's component counts, its type's device
    count), not as it was before its save() and NetBox's signals wrote around it.
    """
    if not objects:
        return
    model = type(objects[0])
    loaded = model._base_manager.in_bulk([obj.pk for obj in objects])
    for obj in objects:
        for field in model._meta.concrete_fields:
            setattr(obj, field.attname, getattr(loaded[obj.pk], field.attname))
        obj._state.fields_cache.clear()
        obj.__dict__.pop('_prefetched_objects_cache', None)
