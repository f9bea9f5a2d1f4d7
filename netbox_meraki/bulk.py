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
  post_save receiver runs for each object as save() would run it, except three done for the group: the changelog
  (NetBox's own serialization, entries inserted in bulk) with its events, the cached counters (one update per
  parent, by the number of children) and the config context of devices (one update); an update (`update`) likewise,
  its changed columns written in one statement;
- new cables (`create_cables`): NetBox's Cable.save() steps taken for the group (the cable, its terminations, the
  interfaces they end on, the cable again, its paths), each step as above.

tests/engine/test_together.py proves the result equal to NetBox's per-object writes, table by table.
"""

import copy
import itertools
from collections import Counter, defaultdict

from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django_prometheus.models import model_inserts, model_updates

from core.choices import ObjectChangeActionChoices
from core.events import OBJECT_CREATED, OBJECT_UPDATED
from core.models import ObjectChange, ObjectType
from core.signals import handle_changed_object
from dcim.choices import CableEndChoices, InterfaceModeChoices, LinkStatusChoices
from dcim.constants import NONCONNECTABLE_IFACE_TYPES
from dcim.models import Cable, CablePath, CableTermination, Device, DeviceBay, DeviceType, Interface, MACAddress
from dcim.signals import update_channelized_cable_paths
from dcim.utils import create_cablepaths, object_to_path_node
from extras.cache import invalidate_config_context_for_objects
from extras.constants import CC_FIELDS_BY_MODEL
from extras.events import enqueue_event
from extras.models import CustomField, Subscription, Tag, TaggedItem
from extras.signals import _changed_fields, notify_object_changed
from ipam.models import VLAN, IPAddress
from netbox.context import current_request, events_queue
from netbox.signals import post_clean
from utilities.counters import get_counters_for_model, post_save_receiver

__all__ = (
    'acceptable_ends', 'cable_ends', 'cache_many', 'clean_cable', 'create', 'create_cables', 'fits', 'insert_many',
    'insert_tags', 'locked', 'parents', 'refresh', 'related_objects', 'unique_custom_fields', 'update', 'update_rows',
    'verified_references',
)

# The post_save receivers create() does for the whole group instead of for each object.
GROUP_RECEIVERS = (handle_changed_object, post_save_receiver)
# Receivers saved() need not call for an object they have nothing to do for, by their own checks: an interface that is
# not a channel (and was not), whose channels and parent are as they were (the receiver would only note them again).
IDLE = {
    update_channelized_cable_paths: lambda obj, created: not (obj.channel_id or obj._original_channel_id) and (
        obj.channels == obj._original_channels and obj.parent_id == obj._original_parent_id),
}
# What NetBox reads of an object another refers to, beyond the objects it refers to directly: a new device's save()
# instantiates its type's component templates; a device's validation checks the interface its primary IP is on, an
# interface's the one its primary MAC address is on.
READ_ALONG = {
    DeviceType: (
        'consoleporttemplates', 'consoleserverporttemplates', 'powerporttemplates', 'poweroutlettemplates',
        'coolingintaketemplates', 'coolingoutflowtemplates', 'interfacetemplates', 'rearporttemplates',
        'frontporttemplates', 'modulebaytemplates', 'devicebaytemplates', 'inventoryitemtemplates', 'port_mappings',
    ),
    IPAddress: ('assigned_object',),
    MACAddress: ('assigned_object',),
}
# What NetBox reads of an object saved again, beyond the objects it refers to: a device's validation, the virtual
# chassis it is the master of; an interface's save(), its device's site, location and rack (ComponentModel.save()).
READ_ON_UPDATE = {
    Device: ('vc_master_for',),
    Interface: ('device__site', 'device__location', 'device__rack'),
}


def config_context_receiver(receiver):
    """
    Whether a receiver is NetBox's post_save receiver that invalidates a device's (or VM's) rendered config context
    when it is created or its scope changes (extras.signals._make_object_save_handler): saved() does what it does once
    for the group.
    """
    return receiver.__module__ == 'extras.signals' and (
        receiver.__qualname__ == '_make_object_save_handler.<locals>._handler')


def foreign_keys(model):
    return [field for field in model._meta.concrete_fields if field.many_to_one or field.one_to_one]


def direct_references(model):
    """
    The objects a model refers to directly, to read along with its objects: each in a query of its own (prefetched), as
    a join of them all (a device refers to 14 models) costs the database more to plan than the queries cost to run.
    """
    return [field.name for field in foreign_keys(model)]


def locked(model, pks, prefetch=()):
    """
    {pk: object} of `model` locked for update, read with the objects they refer to, READ_ON_UPDATE and `prefetch`.
    """
    queryset = model.objects.select_for_update(of=('self',))
    prefetch = (*direct_references(model), *READ_ON_UPDATE.get(model, ()), *prefetch)
    return queryset.prefetch_related(*prefetch).in_bulk(pks)


def related_objects(model, pks):
    """
    {pk: object} of `model`, with what NetBox reads of it when an object referring to it is validated and saved: the
    objects it refers to directly (a device's site, ...), and READ_ALONG.
    """
    if not pks:
        return {}
    return model.objects.prefetch_related(*direct_references(model), *READ_ALONG.get(model, ())).in_bulk(pks)


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
            set_prefetched(obj, field.name, field.related_model, [item for item in in_order if item.pk in pks])


def set_prefetched(obj, name, related_model, items):
    """Put `items` in Django's prefetch cache as the object's `name` relation: read from there, without a query."""
    queryset = related_model.objects.none()
    queryset._result_cache = items
    obj.__dict__.setdefault('_prefetched_objects_cache', {})[name] = queryset


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


def prepare(model, objects, using, save_chain):
    """
    What save() does before its write, for each object: its save() chain runs for what the model's save() overrides
    compute (a component's site, custom field defaults, ...) before Model.save() writes, without the write, which the
    caller does for the group (`save_chain=False` for a model whose save() writes other objects: the caller does what
    it computes); then pre_save is sent.
    """
    for obj in objects:
        if save_chain:
            save_chain_without_write(model, obj)
        pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)


def save_chain_without_write(model, obj):
    """Run an object's save() chain, with skip_write() standing in for Model.save_base()."""
    obj.save_base = skip_write
    tracker = obj.tracker if hasattr(obj, 'tracker') else None
    if tracker:
        # TrackingModelMixin.save() forgets the changes it tracked once the write and its receivers are done: here
        # the counters receiver reads them after the write (see saved()), which forgets them then.
        tracker.clear = lambda *names: None
    try:
        if model is Device:
            # What Device.save() does before its write; after it, it has nothing to do here (see fits() and
            # parents()).
            device_defaults(obj)
            super(Device, obj).save()
        else:
            obj.save()
            if model is Interface and not obj._state.adding and obj.mode != InterfaceModeChoices.MODE_TAGGED:
                # BaseInterface.save() has cleared the interface's tagged VLANs, and with them their prefetched
                # value: none are left, which NetBox would otherwise read again to log the interface.
                set_prefetched(obj, 'tagged_vlans', VLAN, [])
    finally:
        del obj.save_base
        if tracker:
            del tracker.clear


def create(model, objects, save_chain=True):
    """
    Create validated new objects of `model` as NetBox's save() would, for a group: their tags (`obj._tags`) and
    many-to-many values (see cache_many()) are already set. `save_chain=False` for a model whose save() writes other
    objects (the caller does what it computes).
    """
    using = router.db_for_write(model)
    prepare(model, objects, using, save_chain)
    model.objects.bulk_create(objects)
    saved(model, objects, True, using)
    # What counters.post_save_receiver() does for each new object: add one to its parent's counter. The parents that
    # gain as many (a model's switches, each with its ports) are updated in one statement.
    for field_name, counter_name in get_counters_for_model(model):
        parent_model = model._meta.get_field(field_name).related_model
        gains = defaultdict(list)
        for parent_pk, count in Counter(getattr(obj, field_name) for obj in objects).items():
            if parent_pk is not None:
                gains[count].append(parent_pk)
        for count, parent_pks in gains.items():
            parents = parent_model.objects.using(using).filter(pk__in=parent_pks)
            parents.update(**{counter_name: F(counter_name) + count})


def update(model, objects, save_chain=True):
    """
    Write changed objects of `model` (snapshotted before they changed) as NetBox's save() writes each, in one statement
    for the group: every field, its times set as Model.save() sets them. Only the columns that differ from the rows
    the database holds (read in one query) are written, which leaves the same rows.
    """
    using = router.db_for_write(model)
    prepare(model, objects, using, save_chain)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    rows = model._base_manager.filter(pk__in=[obj.pk for obj in objects]).values('pk', *(f.attname for f in fields))
    rows = {row['pk']: row for row in rows}
    changed = set()
    for obj in objects:
        for field in fields:
            setattr(obj, field.attname, field.pre_save(obj, False))  # what Model._save_table() writes
            if getattr(obj, field.attname) != rows[obj.pk][field.attname]:
                changed.add(field)
    update_rows(model, objects, [field.name for field in fields if field in changed])
    saved(model, objects, False, using)


def update_rows(model, objects, names):
    """
    Write the fields named of each object to its row, in one statement: what Django's bulk_update() writes, without
    the expression per row and field it builds (most of its cost for a large group).
    """
    if not objects or not names:
        return
    fields = [model._meta.get_field(name) for name in names]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), model._meta.pk
    columns = [pk, *fields]
    row = '(' + ', '.join(f'%s::{field.db_type(connection)}' for field in columns) + ')'
    sql = (
        f'UPDATE {table} SET {", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in fields)} '
        f'FROM (VALUES {", ".join([row] * len(objects))}) AS v ({", ".join(quote(field.column) for field in columns)}) '
        f'WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}'
    )
    params = [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objects for field in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def saved(model, objects, created, using):
    """
    What follows the write of each object in save(): every post_save receiver runs for each object, except the
    changelog (NetBox's own serialization, with its events and metrics; the entries inserted in one statement), the
    config context of the devices NetBox's receiver would invalidate (one update) and, for new objects, the cached
    counters (see create()).
    """
    skipped = GROUP_RECEIVERS if created else (handle_changed_object,)
    receivers = [receiver for receiver in post_save._live_receivers(model)[0]
                 if receiver not in skipped and not config_context_receiver(receiver)]
    label = model._meta.label_lower
    rendered = []  # the objects whose rendered config context NetBox's receiver would invalidate
    action, event, metric = (
        (ObjectChangeActionChoices.ACTION_CREATE, OBJECT_CREATED, model_inserts) if created
        else (ObjectChangeActionChoices.ACTION_UPDATE, OBJECT_UPDATED, model_updates)
    )
    request = current_request.get()
    queue = events_queue.get()
    entries = []
    # notify_object_changed() notifies the users subscribed to an updated object, if any: found for the group.
    subscribed = set() if created else set(Subscription.objects.filter(
        object_type=ContentType.objects.get_for_model(model), object_id__in=[obj.pk for obj in objects],
    ).values_list('object_id', flat=True))
    for obj in objects:
        # What handle_changed_object() does for a save.
        if request is not None:
            entry = obj.to_objectchange(action)
            if entry.has_changes:
                entry.user, entry.user_name, entry.request_id = request.user, request.user.username, request.id
                entries.append(entry)
            enqueue_event(queue, obj, request, event)
            metric.labels(model._meta.model_name).inc()
        for receiver in receivers:
            if receiver in IDLE and IDLE[receiver](obj, created) or (
                    receiver is notify_object_changed and obj.pk not in subscribed):
                continue
            receiver(signal=post_save, sender=model, instance=obj, created=created, update_fields=None, raw=False,
                     using=using)
        if label in CC_FIELDS_BY_MODEL and (created or _changed_fields(obj, CC_FIELDS_BY_MODEL[label])):
            rendered.append(obj.pk)
        if hasattr(obj, 'tracker'):
            obj.tracker.clear()  # as TrackingModelMixin.save() does once the receivers are done
    # One update, and one render job queued when the batch commits, not one of each per object.
    invalidate_config_context_for_objects(label, rendered, using=using)
    events_queue.set(queue)
    ObjectChange.objects.bulk_create(entries)
    for entry in entries:
        post_save.send(sender=ObjectChange, instance=entry, created=True, update_fields=None, raw=False, using=using)


def create_cables(cables):
    """
    Create new cables with one interface at each end (see fits()) as NetBox's Cable.save() creates each: the cable
    (logged with no ends and no tags yet), a termination for each end (CableTermination.save()), the interfaces they
    end on (logged with their snapshots), the cable again (its entry the one NetBox's tag path ends with: its ends and
    tags), and the paths NetBox traces from each end (see trace()). The ends' interfaces come loaded with what NetBox
    serializes of them (see cable_ends()).
    """
    tags = [cable.__dict__.pop('_tags', None) for cable in cables]
    for cable in cables:
        # What Cable.save() computes for a cable without a length; then NetBox logs it with no ends and no tags.
        cable.length_unit, cable._abs_length = None, None
        cable.get_terminations = lambda: ({}, {})
        set_prefetched(cable, 'tags', Tag, [])
    create(Cable, cables, save_chain=False)

    ends = []
    for cable in cables:
        for side, (interface,) in ((CableEndChoices.SIDE_A, cable.a_terminations),
                                   (CableEndChoices.SIDE_B, cable.b_terminations)):
            end = CableTermination(cable=cable, cable_end=side, connector=None, positions=None, termination=interface)
            end.cache_related_objects()
            ends.append(end)
    create(CableTermination, ends, save_chain=False)

    # NetBox saves each end's interface as it reads it again: the cable keeps the objects it was given, as they were.
    interfaces = [copy.copy(end.termination) for end in ends]
    for interface, end in zip(interfaces, ends):
        interface.snapshot()
        interface.set_cable_termination(end)
    update(Interface, interfaces)

    for cable, cable_tags, (a, b) in zip(cables, tags, zip(ends[::2], ends[1::2])):
        cable.get_terminations = lambda a=a, b=b: ({a.termination: a}, {b.termination: b})
        cable.__dict__.pop('_prefetched_objects_cache', None)
        if cable_tags:
            cable._tags = cable_tags
    update(Cable, cables, save_chain=False)

    for cable in cables:
        del cable.get_terminations
    trace(cables, interfaces)


def trace(cables, interfaces):
    """
    What NetBox's trace_paths receiver does for new cables (`interfaces`: each cable's A and B end, as saved): a path
    from each end, as CablePath.from_origin() traces it between two interfaces (the interface, the cable, the far
    interface; complete; active when the cable is connected), recorded on its origin as CablePath.save() does. Where a
    path already touches one of the interfaces, NetBox's create_cablepaths() traces the group, replacing what it must.
    """
    ends = [(cable, interface, peer) for cable, a, b in zip(cables, interfaces[::2], interfaces[1::2])
            for interface, peer in ((a, b), (b, a))]
    if CablePath.objects.filter(_nodes__overlap=[object_to_path_node(interface) for interface in interfaces]).exists():
        for _, interface, _ in ends:
            create_cablepaths([interface])
        return
    paths = []
    for cable, interface, peer in ends:
        steps = [[object_to_path_node(interface)], [object_to_path_node(cable)], [object_to_path_node(peer)]]
        paths.append(CablePath(path=steps, _nodes=list(itertools.chain(*steps)), is_complete=True, is_split=False,
                               is_active=cable.status == LinkStatusChoices.STATUS_CONNECTED))
    CablePath.objects.bulk_create(paths)
    # CablePath.save() sets the origin's _path with a queryset update: the saved interfaces are left as they are.
    origins = [Interface(pk=interface.pk, _path_id=path.pk) for (_, interface, _), path in zip(ends, paths)]
    update_rows(Interface, origins, ['_path'])


def device_defaults(device):
    """
    What Device.save() sets on a device before it writes it: a new device's airflow, cooling and platform from its type;
    any device's location from its rack.
    """
    if not device.pk:
        if not device.airflow:
            device.airflow = device.device_type.airflow
        if not device.cooling_method:
            device.cooling_method = device.device_type.cooling_method
        if not device.platform:
            device.platform = device.device_type.default_platform
    if device.rack and device.rack.location:
        device.location = device.rack.location


def fits(obj):
    """
    Whether an object can be written in bulk: a new device when its type has no component templates and no port
    mappings (Device.save() would make nothing after its write: no components, and a new device has no child devices;
    for a device saved again, see parents());
    a cable when create_cables() writes it as NetBox would, with one interface at each end that carries no channels,
    no profile and no length.
    """
    if isinstance(obj, Device):
        return bool(obj.pk) or not any(getattr(obj.device_type, name).all() for name in READ_ALONG[DeviceType])
    if not isinstance(obj, Cable):
        return True
    a, b = obj.a_terminations, obj.b_terminations
    return (len(a) == len(b) == 1 and isinstance(a[0], Interface) and isinstance(b[0], Interface)
            and not a[0].channels and not b[0].channels and not obj.profile and obj.length is None)


def parents(devices):
    """
    The devices, of those given, with child devices in their bays: Device.save() saves those children again after its
    write, so these are saved by NetBox one at a time. One query.
    """
    return set(DeviceBay.objects.filter(device__in=[device.pk for device in devices], installed_device__isnull=False)
               .values_list('device_id', flat=True))


def acceptable_ends(cables):
    """
    The new cables, of those create_cables() writes (see fits()), whose ends CableTermination.clean() would accept
    (as id()s): two ends that are not one interface, each an interface that is not marked connected, not a channel
    and of a type a cable can end on, with no cable on it yet. The interfaces are those cable_ends() loaded, and which
    of them have a cable is read in one query for the group. A cable left out is validated by NetBox, which says why
    it refuses it.
    """
    ends = [end for cable in cables for end in (*cable.a_terminations, *cable.b_terminations)]
    cabled = set(CableTermination.objects.filter(
        termination_type=ContentType.objects.get_for_model(Interface), termination_id__in=[end.pk for end in ends],
    ).values_list('termination_id', flat=True))

    def acceptable(end):
        return (end.pk not in cabled and not end.mark_connected and not end.channel_id
                and end.type not in NONCONNECTABLE_IFACE_TYPES)

    return {id(cable) for cable in cables
            if cable.a_terminations[0].pk != cable.b_terminations[0].pk
            and all(acceptable(end) for end in (*cable.a_terminations, *cable.b_terminations))}


def clean_cable(cable, exclude):
    """
    full_clean() of a new cable whose ends acceptable_ends() has checked: Cable.clean() but its checks of the ends,
    each of which costs NetBox two queries (CableTermination.clean() reads the interface again, and looks for a cable
    on it), then the post_clean signal CableTermination.clean() sends for each end (custom validators).
    """
    modified, cable._terminations_modified = cable._terminations_modified, False
    try:
        cable.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    finally:
        cable._terminations_modified = modified
    for side, ends in ((CableEndChoices.SIDE_A, cable.a_terminations), (CableEndChoices.SIDE_B, cable.b_terminations)):
        for end in ends:
            post_clean.send(sender=CableTermination, instance=CableTermination(cable=cable, cable_end=side,
                                                                              termination=end))


def cable_ends(pks):
    """{pk: interface} loaded with what NetBox reads of a cable's end when it saves and logs it."""
    return Interface.objects.prefetch_related(
        *direct_references(Interface), 'device__site', 'device__location', 'device__rack', 'tags',
        *(field.name for field in many_fields(Interface)),
    ).in_bulk(pks)


def refresh(objects):
    """
    What refresh_from_db() does to each object, in one query for the group: NetBox reloads an object when tags are
    added to it, so its events show it as the database holds it (a new device's component counts, its type's device
    count), not as it was before its save() and NetBox's signals wrote around it.
    """
    if not objects:
        return
    model = type(objects[0])
    names = [field.attname for field in model._meta.concrete_fields]
    rows = model._base_manager.filter(pk__in=[obj.pk for obj in objects]).values_list('pk', *names)
    loaded = {row[0]: row[1:] for row in rows}
    for obj in objects:
        for name, value in zip(names, loaded[obj.pk]):
            setattr(obj, name, value)
        obj._state.fields_cache.clear()
        obj.__dict__.pop('_prefetched_objects_cache', None)
