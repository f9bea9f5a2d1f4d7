"""
Apply: write planned Changes to NetBox through the ORM, inside NetBox's change tracking so every write lands
in the changelog, attributed to the sync user and grouped under the run's request id.
"""

import logging
import uuid
from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.utils import timezone
from rq.timeouts import BaseTimeoutException

from dcim.models import Cable, Device, Interface
from extras.cache import invalidate_config_context_for_objects
from extras.models import Tag, TaggedItem
from extras.signals import validate_assigned_tags
from netbox.context_managers import event_tracking
from utilities.request import NetBoxFakeRequest

from . import bulk
from .cascade import CascadeCheck
from .choices import ChangeActionChoices, ChangeStateChoices
from .events import queued_events, restore_events, send_events_on_commit
from .kinds import KINDS, UPDATE_KINDS, from_json, kind_in_text, to_json
from .mapping import REFERENCE_KINDS, Ref
from .models import Change, SyncedObject
from .plan import NATURAL_KEY_KINDS, natural_matches

__all__ = ('apply_changes', 'record_networks')

logger = logging.getLogger('netbox_meraki.apply')

# Changes per transaction: each batch commits with the states of its changes, so a crash loses no record
# of what was written, and long syncs do not hold one huge transaction. Within a batch, changes of one kind are
# written together (see write_together): larger batches, larger groups.
BATCH_SIZE = 500
# What applying writes back to a change besides its outcome (state and reason): the object it wrote, and, where the
# apply turned it into another change (a creation into an adoption, a deletion into a mark, with what the deletion
# would have taken along), what it became.
APPLY_FIELDS = ('object_id', 'action', 'before', 'after', 'cascade')
# Every object the plugin creates carries this tag, so NetBox's own lists filter what the plugin owns.
OWNER_TAG = 'meraki'
# Changes written together (see write_together): creations and updates (of cables, only creations: an update may
# change what NetBox traces). Deletions need NetBox's delete signals and the cascade check.
TOGETHER = {ChangeActionChoices.CREATE, ChangeActionChoices.UPDATE}
# Kinds whose new objects are inserted in bulk (see bulk.create and bulk.create_cables), where bulk.fits() says NetBox's
# save() would write nothing more (a device whose type has component templates is saved by NetBox, which creates its
# components): most of a first sync. Not prefixes: NetBox's signal on a new prefix reads its neighbours.
BULK_KINDS = ('interface', 'ipaddress', 'macaddress', 'cable', 'device')
# Models whose updates are written in one statement per group (see bulk.update): a device's primary IPs and place in a
# stack, an interface's primary MAC address and the rest of what a sync sets on ports.
BULK_UPDATE_MODELS = (Device, Interface)


class Conflict(Exception):
    """The object changed in NetBox since the plan was made: the change is not applied."""


class Skipped(Exception):
    """The change cannot be applied because an object it needs is not in NetBox."""


def sync_request(run, user):
    # What NetBox's event rules copy from a request (copy_safe_request), path_info included: webhooks need it.
    return NetBoxFakeRequest({
        'META': {}, 'COOKIES': {}, 'POST': {}, 'GET': {}, 'FILES': {},
        'user': user, 'method': 'POST', 'path': '', 'path_info': '', 'id': run.request_id or uuid.uuid4(),
    })


def describe(exc):
    if isinstance(exc, ValidationError):
        if hasattr(exc, 'message_dict'):
            return '; '.join(f'{field}: {" ".join(messages)}' for field, messages in exc.message_dict.items())
        return ' '.join(exc.messages)
    return f'{type(exc).__name__}: {exc}'


class Applier:
    def __init__(self, run, state, changes=()):
        self.run = run
        self.state = state
        self.tags = {}
        self.owned = []
        self.now = timezone.now()
        self.deleted = set()  # (kind, Meraki identity) of what this apply deleted
        self.ends = {}  # {pk: interface} the cables of a group end on, loaded together (see creations())
        self.names = {}  # {(kind, Meraki identity): name} of the objects changes were skipped for (see name_of())
        # What this apply removes may go with the objects it deletes; nothing else may (see delete()).
        self.cascades = CascadeCheck(run.organization_id, {
            (state.type_id(change.kind), change.object_id) for change in changes
            if change.action == ChangeActionChoices.DELETE
        })

    def tags_for(self, kind):
        """The plugin's own tag plus the extra tags configured for the kind (created when missing)."""
        if kind not in self.tags:
            slugs = [OWNER_TAG, *self.state.settings.extra_tags.get(kind, [])]
            self.tags[kind] = [Tag.objects.get_or_create(slug=slug, defaults={'name': slug})[0] for slug in slugs]
        return self.tags[kind]

    def apply(self, change):
        """Apply one change; return a note on what was done instead of the plan, if anything ('' otherwise)."""
        if change.action == ChangeActionChoices.CREATE:
            return self.create(change)
        if change.action == ChangeActionChoices.DELETE:
            return self.delete(change)
        return self.update(change)

    def create(self, change):
        """Create the object, unless NetBox has it by now: the plugin's own, a component to adopt, or a conflict."""
        spec = KINDS[change.kind]
        if self.state.pk(change.kind, change.meraki_id):
            if change.kind in REFERENCE_KINDS:
                return ''  # someone created it since the plan: use theirs
            raise Conflict(f'{kind_in_text(change.kind)} {change.object_repr} was created in NetBox since the plan was '
                           f'made.')
        row = self.state.owned[change.kind].get(change.meraki_id)
        if row is not None and row.last_synced > self.run.created:
            # Another run created it after this plan was made, and a person has deleted it since: do not bring it back.
            raise Conflict(f'{kind_in_text(change.kind)} {change.object_repr} was synced and then deleted in NetBox '
                           f'since the plan was made.')
        if change.kind in NATURAL_KEY_KINDS and (existing := self.existing(change)):
            return existing
        obj = spec.model()
        many = self.set_values(obj, change)
        obj.full_clean()
        obj.save()
        self.set_many(obj, many)
        change.object_id = obj.pk
        self.state.written(change.kind, change.meraki_id, obj.pk)
        if change.kind not in REFERENCE_KINDS:
            obj.tags.add(*self.tags_for(change.kind))
            self.own([(change, obj)])
        return ''

    def existing(self, change):
        """
        Re-match a creation by natural key before writing it: an interface NetBox made from the device type's templates
        (or a person made) on a device the plugin owns is adopted, as is an address already in IPAM when adoption is
        on; anything else made since the plan is a conflict, never a duplicate. Returns a note when it adopted.
        """
        candidate = natural_matches(change.kind, {change.meraki_id: change.after}, self.state).get(change.meraki_id)
        if candidate is None:
            return ''
        obj = candidate.obj
        adoptable = change.kind in ('interface', 'ipaddress', 'macaddress') and (
            obj.pk not in self.state.reverse[change.kind] and candidate.taken_over(self.state.settings.adopt_existing))
        if not adoptable:
            raise Conflict(candidate.note or f'{obj._meta.verbose_name} {obj} (#{obj.pk}) was made in NetBox since '
                                             f'the plan; it is not created twice.')
        change.action, change.object_id = ChangeActionChoices.ADOPT, obj.pk
        change.before = self.state.current_values(change.kind, obj, change.after)
        self.update(change)
        return f'Adopted {obj._meta.verbose_name} {obj} (#{obj.pk}), which NetBox already had.'

    def update(self, change):
        """Update, adopt and mark: check the object still holds what the plan saw, then write."""
        kind = UPDATE_KINDS.get(change.kind, change.kind)
        pk = change.object_id or self.state.pk(kind, change.meraki_id)
        obj = self.locked(change, pk)
        if change.action == ChangeActionChoices.ADOPT and pk in self.state.reverse[kind]:
            raise Conflict(f'{obj} is already owned by the plugin for {self.state.reverse[kind][pk]}.')
        if change.action == ChangeActionChoices.ADOPT and (owner := SyncedObject.objects.filter(
            object_type_id=self.state.type_id(kind), object_id=pk,
        ).exclude(kind=kind, meraki_id=change.meraki_id).first()):
            raise Conflict(f'{obj} is already owned by the plugin for {owner} (organization {owner.organization_id}).')
        self.check_unchanged(change, obj, list(change.after))
        obj.snapshot()
        many = self.set_values(obj, change)
        obj.full_clean()
        obj.save()
        self.set_many(obj, many)
        change.object_id = obj.pk
        if change.action == ChangeActionChoices.ADOPT:
            obj.tags.add(*self.tags_for(kind))
            self.state.written(kind, change.meraki_id, obj.pk)
            self.own([(change, obj)])
        elif change.kind not in UPDATE_KINDS:
            self.own_rows(change).update(last_synced=self.now, last_run=self.run)
        return ''

    def delete(self, change):
        """
        Delete the object, unless NetBox would take along what this apply does not remove (checked again now: people
        may have added to it since the plan): then mark it, or keep it for kinds that cannot be marked.
        """
        try:
            obj = self.locked(change, change.object_id)
        except Conflict:
            # Already gone (deleted by hand, or with the object it belonged to): nothing left to do.
            self.own_rows(change).delete()
            return ''
        self.check_unchanged(change, obj, list(change.before))
        cascade = self.cascades.check(obj)
        change.cascade = cascade.entries
        if cascade.blocked:
            self.cascades.removed.discard((self.state.type_id(change.kind), obj.pk))
            if not KINDS[change.kind].mark:
                raise Skipped(cascade.reason('kept'))
            mark = {name: to_json(value) for name, value in KINDS[change.kind].mark.items()}
            change.action, change.before = ChangeActionChoices.MARK, self.state.current_values(change.kind, obj, mark)
            change.after = mark
            self.update(change)
            return cascade.reason('marked')
        obj.snapshot()
        obj.delete()
        self.own_rows(change).delete()
        self.deleted.add((change.kind, change.meraki_id))
        return ''

    def own_rows(self, change):
        """The ownership record of the change's object, if this organization holds it."""
        return SyncedObject.objects.filter(
            kind=change.kind, meraki_id=change.meraki_id, organization_id=self.run.organization_id,
        )

    def locked(self, change, pk):
        model = KINDS[change.kind].model
        try:
            return model.objects.select_for_update().get(pk=pk)
        except (ObjectDoesNotExist, ValueError, TypeError):
            raise Conflict(f'{change.object_repr} no longer exists in NetBox.') from None

    def check_unchanged(self, change, obj, fields):
        if not change.before:
            return
        now = self.state.current_values(change.kind, obj, fields)
        edited = [name for name in change.before if not self.unchanged(now.get(name), change.before[name])]
        if edited:
            details = ', '.join(f'{name} is {now.get(name)!r}, was {change.before[name]!r}' for name in edited)
            raise Conflict(f'{obj} was changed in NetBox since the plan was made ({details}).')

    def unchanged(self, now, before):
        """
        Whether a field still holds what the plan saw: references compared by NetBox id, and a reference to an object
        this apply deleted read as cleared (NetBox clears a device's primary IP when the address goes).
        """
        if now is None and isinstance(before, dict) and (before.get('ref'), before.get('id')) in self.deleted:
            return True
        return self.pks(now) == self.pks(before)

    def pks(self, value):
        """
        A stored value with its references as NetBox ids: an object the plan knew by id only ({'pk': ...}) and the same
        object known by identity since (a device this apply took over) are the same value.
        """
        if isinstance(value, list):
            return [self.pks(item) for item in value]
        if isinstance(value, dict) and 'ref' in value:
            return value.get('pk') or self.state.ids[value['ref']].get(value['id']) or value
        return value

    def resolve(self, ref):
        pk = self.state.pk(ref.kind, ref.meraki_id)
        if pk is None:
            raise Skipped(f'needs {kind_in_text(ref.kind)} {self.name_of(ref)}, which is not in NetBox')
        return pk

    def name_of(self, ref):
        """What the run's plan names an object (a change not approved, or skipped), else its Meraki identity."""
        key = (ref.kind, ref.meraki_id)
        if key not in self.names:
            self.names[key] = Change.objects.filter(run=self.run, kind=ref.kind, meraki_id=ref.meraki_id).values_list(
                'object_repr', flat=True).first() or ref.meraki_id
        return self.names[key]

    def set_values(self, obj, change):
        """Set the change's values on the object; return the many-to-many values, to set once it is saved."""
        spec = KINDS[change.kind]
        many = {}
        for name, stored in change.after.items():
            value = from_json(stored)
            if name in spec.many:
                many[name] = [self.resolve(ref) for ref in value]
            elif change.kind == 'cable' and name in ('a', 'b'):
                setattr(obj, f'{name}_terminations', [self.cable_end(value, change)])
            elif name in spec.generic:
                obj_type_id = self.state.type_id(value.kind) if value else None
                setattr(obj, f'{name}_type_id', obj_type_id)
                setattr(obj, f'{name}_id', self.resolve(value) if value else None)
            elif isinstance(value, Ref) and name in spec.optional and not self.state.pk(value.kind, value.meraki_id):
                continue
            elif isinstance(value, Ref):
                setattr(obj, f'{name}_id', self.resolve(value))
            elif name in spec.refs:
                setattr(obj, f'{name}_id', None)
            elif name.startswith('cf_'):
                obj.custom_field_data[name[3:]] = value
            else:
                setattr(obj, name, value)
        return many

    def cable_end(self, ref, change):
        """A cable's end: an interface the plugin owns, or the interface of the one NetBox device a neighbour names."""
        if ref.kind != 'netboxinterface':
            pk = self.resolve(ref)
            return self.ends.get(pk) or Interface.objects.get(pk=pk)
        local = next(from_json(end) for end in (change.after['a'], change.after['b']) if end['ref'] == 'interface')
        site_pk = Interface.objects.filter(pk=self.resolve(local)).values_list('device__site_id', flat=True).first()
        interface, problem = self.state.neighbour(ref.meraki_id, site_pk)
        if interface is None:
            raise Skipped(problem or f'needs the interface {ref.meraki_id}, which is not in NetBox')
        return interface

    @staticmethod
    def set_many(obj, many):
        for name, pks in many.items():
            getattr(obj, name).set(pks)

    def write_together(self, group):
        """
        Write a group of creations or updates of one kind as NetBox's save() writes each of them, doing once for the
        group what costs a query per object (see bulk.py): the objects they refer to read in a query per reference,
        tags and many-to-many rows inserted in bulk, ownership recorded in bulk. Creations of the kinds in BULK_KINDS
        are inserted in bulk too, and updates of BULK_UPDATE_MODELS written in one statement (see bulk.update).
        Uniqueness is left to the database: a duplicate raises IntegrityError, and the caller rolls the group back and
        applies it one change at a time, where full_clean() names the object.

        Returns the changes left to the one-by-one path (adoptions, conflicts and other rare cases it explains) and
        the outcome of each change written or refused here ({change: (state, reason)}).
        """
        creating = group[0].action == ChangeActionChoices.CREATE
        kind = group[0].kind
        build = (self.cables if kind == 'cable' else self.creations) if creating else self.updates
        alone, ready, outcomes = build(group)
        model = KINDS[kind].model
        tags = self.tags_for(kind) if creating else []
        if tags and ready and self.tags_refused(ready[0][1], tags):
            return group, {}  # NetBox refuses a tag for this kind: the one-by-one path reports it for each change
        objects = [obj for _, obj, _ in ready]
        self.attach(objects, kind)
        found = bulk.verified_references(objects) if objects else {}
        if creating:
            bulk.cache_many([(obj, many) for _, obj, many in ready])
        in_bulk = (kind in BULK_KINDS if creating else model in BULK_UPDATE_MODELS) and not (
            bulk.unique_custom_fields(model))
        # A device with child devices is saved by NetBox, which saves them again (see bulk.parents()).
        held = bulk.parents(objects) if in_bulk and not creating and model is Device else set()
        # New cables' ends are checked for the group, not with NetBox's two queries per end (see bulk.clean_cable()).
        accepted = ()
        if in_bulk and model is Cable:
            accepted = bulk.acceptable_ends([obj for obj in objects if bulk.fits(obj)])
        written, inserted, keys = [], [], set()
        for change, obj, many in ready:
            try:
                if id(obj) in accepted:
                    bulk.clean_cable(obj, exclude=bulk.unchecked(obj, found))
                else:
                    obj.full_clean(exclude=bulk.unchecked(obj, found), validate_unique=False,
                                   validate_constraints=False)
            except BaseTimeoutException:
                raise
            except Exception as exc:  # as apply_alone() records it; a database error fails the group at its next query
                outcomes[change] = outcome_of(exc)
                continue
            insert = in_bulk and bulk.fits(obj) and obj.pk not in held
            if (model is Cable and not insert) or (insert and keys.intersection(duplicate_keys(kind, obj))):
                # A cable bulk.create_cables() would not write as NetBox does (NetBox's save of a cable cannot share a
                # group: see bulk.create_cables()); or what NetBox's validation of another object of the group would
                # find in the database: left to the one-by-one path, after the group.
                alone.append(change)
                continue
            if tags:
                obj._tags = tags  # what NetBox serializes as the object's tags (see utilities.serialization)
            if insert:
                keys.update(duplicate_keys(kind, obj))
                inserted.append(obj)
            else:
                obj.save()  # before the next object is validated: NetBox's validation may look for it
            written.append((change, obj, many))
        if inserted and model is Cable:
            bulk.create_cables(inserted)
        elif inserted and creating:
            bulk.create(model, inserted)
        elif inserted:
            bulk.update(model, inserted)
        if creating:
            created = [obj for _, obj, _ in written]
            bulk.insert_tags(created, tags)
            bulk.insert_many([(obj, many) for _, obj, many in written])
            if model is Device:
                # What NetBox does when a device's tags change (extras.signals.invalidate_on_device_vm_tag_change).
                invalidate_config_context_for_objects('dcim.device', [obj.pk for obj in created])
            bulk.refresh(created)
            if written:
                self.own([(change, obj) for change, obj, _ in written])
        elif kind not in UPDATE_KINDS and written:
            SyncedObject.objects.filter(
                kind=kind, meraki_id__in=[change.meraki_id for change, _, _ in written],
                organization_id=self.run.organization_id,
            ).update(last_synced=self.now, last_run=self.run)
        # The group is in the database: what follows only records that, so a group that fails leaves nothing behind.
        for change, obj, _ in written:
            obj.__dict__.pop('_tags', None)
            obj.__dict__.pop('_prefetched_objects_cache', None)
            change.object_id = obj.pk
            outcomes[change] = (ChangeStateChoices.APPLIED, change.reason)
            if creating:
                self.state.written(kind, change.meraki_id, obj.pk)
        return alone, outcomes

    def creations(self, group):
        """
        Build the objects of a group of creations. A creation NetBox may already have an object for (see create())
        is left to the one-by-one path, which adopts it or says why not.
        """
        kind = group[0].kind
        found = {}
        if kind in NATURAL_KEY_KINDS:
            found = natural_matches(kind, {change.meraki_id: change.after for change in group}, self.state)
        alone, ready, outcomes = [], [], {}
        for change in group:
            row = self.state.owned[kind].get(change.meraki_id)
            if (change.meraki_id in found or self.state.pk(kind, change.meraki_id)
                    or (row is not None and row.last_synced > self.run.created)):
                alone.append(change)
                continue
            obj = KINDS[kind].model()
            try:
                ready.append((change, obj, self.set_values(obj, change)))
            except Skipped as exc:
                outcomes[change] = outcome_of(exc)
        return alone, ready, outcomes

    def cables(self, group):
        """
        creations() for cables: the interfaces they end on are loaded together, with what NetBox reads of them when it
        saves and logs them (see bulk.cable_ends()).
        """
        ends = [self.state.pk('interface', change.after[end]['id']) for change in group for end in ('a', 'b')
                if change.after[end]['ref'] == 'interface']
        preloaded = self.ends = bulk.cable_ends([pk for pk in ends if pk])
        try:
            alone, ready, outcomes = self.creations(group)
        finally:
            self.ends = {}
        # An end found by its neighbour's name (see cable_end()) is loaded again as the others were.
        found = [end.pk for _, cable, _ in ready for end in (*cable.a_terminations, *cable.b_terminations)
                 if preloaded.get(end.pk) is not end]
        if found:
            loaded = bulk.cable_ends(found)
            for _, cable, _ in ready:
                cable.a_terminations = [loaded.get(end.pk, end) for end in cable.a_terminations]
                cable.b_terminations = [loaded.get(end.pk, end) for end in cable.b_terminations]
        return alone, ready, outcomes

    def updates(self, group):
        """
        Lock and check the objects of a group of updates in one query (with their tags and every many-to-many value,
        which NetBox serializes in the snapshot and the changelog entry, whether the change sets them or not). An object
        gone or edited since the plan is a conflict, as in update(). An update of many-to-many values is left to the
        one-by-one path, which NetBox's m2m signals log.
        """
        kind = group[0].kind
        spec = KINDS[kind]
        model_kind = UPDATE_KINDS.get(kind, kind)
        pks = {change.pk: change.object_id or self.state.pk(model_kind, change.meraki_id) for change in group}
        many = [field.name for field in bulk.many_fields(spec.model)]
        objects = bulk.locked(spec.model, [pk for pk in pks.values() if pk], ('tags', *many))
        alone, ready, outcomes = [], [], {}
        for change in group:
            obj = objects.get(pks[change.pk])
            try:
                if obj is None:
                    raise Conflict(f'{change.object_repr} no longer exists in NetBox.')
                self.check_unchanged(change, obj, list(change.after))
                obj.snapshot()
                many = self.set_values(obj, change)
            except (Conflict, Skipped) as exc:
                outcomes[change] = outcome_of(exc)
                continue
            if any(sorted(pks_) != sorted(item.pk for item in getattr(obj, name).all()) for name, pks_ in many.items()):
                alone.append(change)
                continue
            ready.append((change, obj, {}))
        return alone, ready, outcomes

    def attach(self, objects, kind):
        """
        Put on each object the objects its references point to, read in one query per reference for the group, so
        that validating, saving and logging it (NetBox reads a component's device, its site, ...) reads nothing more.
        """
        spec = KINDS[kind]
        for name in spec.refs:
            if name in spec.many or kind == 'cable':  # a cable's ends are set with their objects (see cable_end())
                continue
            if name in spec.generic:
                by_type = {}
                for obj in objects:
                    if getattr(obj, f'{name}_id') is not None:
                        by_type.setdefault(getattr(obj, f'{name}_type_id'), []).append(obj)
                for type_id, holders in by_type.items():
                    found = bulk.related_objects(ContentType.objects.get_for_id(type_id).model_class(),
                                                 {getattr(obj, f'{name}_id') for obj in holders})
                    for obj in holders:
                        if target := found.get(getattr(obj, f'{name}_id')):
                            setattr(obj, name, target)
                continue
            field = spec.model._meta.get_field(name)
            found = bulk.related_objects(field.related_model, {getattr(obj, field.attname) for obj in objects} - {None})
            for obj in objects:
                if target := found.get(getattr(obj, field.attname)):
                    setattr(obj, name, target)

    @staticmethod
    def tags_refused(obj, tags):
        """NetBox's check of tags restricted to other object types, which runs when tags are added to an object."""
        try:
            validate_assigned_tags(sender=TaggedItem, instance=obj, action='pre_add', model=Tag,
                                   pk_set={tag.pk for tag in tags})
        except BaseTimeoutException:
            raise
        except Exception as exc:
            return describe(exc)
        return ''

    def own(self, written):
        """
        Record objects of one kind as the plugin's (`written`: [(change, object)]); the rows are written with the batch
        (see apply_changes).
        """
        kind = written[0][0].kind
        replaced = [change.meraki_id for change, _ in written
                    if change.meraki_id in self.state.owned[kind] or change.action == ChangeActionChoices.ADOPT]
        if replaced:
            # Records left by objects someone deleted by hand, or another organization's records of objects Meraki
            # moved here.
            SyncedObject.objects.filter(kind=kind, meraki_id__in=replaced).delete()
        self.owned.extend(SyncedObject(
            kind=kind, meraki_id=change.meraki_id, object_type=ContentType.objects.get_for_model(obj),
            object_id=obj.pk, organization_id=self.run.organization_id, network_id=change.scope,
            last_synced=self.now, last_run=self.run,
        ) for change, obj in written)


def duplicate_keys(kind, obj):
    """
    What NetBox's validation of an object inserted in bulk compares with the objects already in the database (see
    IPAddress.clean: the host in its VRF; CableTermination.clean: the interface a cable ends on): two new objects of
    one group with a key in common cannot both be inserted together.
    """
    if kind == 'ipaddress':
        return {(obj.vrf_id, str(obj.address.ip))}
    if kind == 'cable':
        return {end.pk for end in (*obj.a_terminations, *obj.b_terminations)}
    return set()


def rollback_to(savepoint, events):
    """
    Undo a failed change or group, and the events it queued (`events`: the queue before it). The transaction is sound
    again, even if Django flagged it for rollback when the database refused a write (the flag is lifted first: Django
    runs no query on a flagged transaction, not even the rollback to the savepoint).
    """
    transaction.set_rollback(False)
    transaction.savepoint_rollback(savepoint)
    restore_events(events)


def outcome_of(exc):
    if isinstance(exc, Conflict):
        return ChangeStateChoices.CONFLICT, str(exc)[:500]
    if isinstance(exc, Skipped):
        return ChangeStateChoices.SKIPPED, str(exc)[:500]
    return ChangeStateChoices.FAILED, describe(exc)[:500]


def apply_changes(run, changes, state, user, progress=None):
    """
    Apply `changes` in order; record each one's outcome on it. Returns a Counter of outcomes. Consecutive creations or
    updates of one kind are written together (see TOGETHER and Applier.write_together), the rest one by one, each in
    its own savepoint. Stops between batches when the run is cancelled; what was applied stays applied. The events of
    each batch (NetBox's event rules: webhooks, ...) are sent when it commits, for the changes applied.
    """
    changes = list(changes)
    applier = Applier(run, state, changes)
    outcomes = {}

    def record(change, state_, reason):
        change.state, change.reason = state_, reason[:500]
        outcomes[change.state] = outcomes.get(change.state, 0) + 1
        if change.state != ChangeStateChoices.APPLIED:
            run.log_line('warning', f'{change}: {change.get_state_display()}: {change.reason}')

    with event_tracking(sync_request(run, user)):
        for start in range(0, len(changes), BATCH_SIZE):
            if run.cancel_requested_now():
                run.log_line('warning', f'Cancelled: {len(changes) - start} changes were not applied.')
                break
            batch = changes[start:start + BATCH_SIZE]
            planned = [[getattr(change, name) for name in APPLY_FIELDS] for change in batch]
            with transaction.atomic():
                for group in groups(batch):
                    alone = group
                    if len(group) > 1:
                        alone, written = write_group(applier, group)
                        for change, (state_, reason) in written.items():
                            record(change, state_, reason)
                    for change in alone:
                        record(change, *apply_alone(applier, change))
                write_outcomes(batch, planned)
                SyncedObject.objects.bulk_create(applier.owned)
                applier.owned.clear()
                # Not at the end of the run, as NetBox would: a run that fails half-way still sends the events of
                # the batches it committed, and a batch that rolls back sends none.
                send_events_on_commit()
            if progress:
                progress(start + len(batch), len(changes))
    return outcomes


def write_outcomes(batch, planned):
    """
    Write back what applying a batch did to its changes (`planned`: their APPLY_FIELDS before): one update per outcome
    (most of a batch is applied), and the fields that changed, for the changes whose fields changed.
    """
    outcomes = defaultdict(list)
    for change in batch:
        outcomes[change.state, change.reason].append(change.pk)
    for (state, reason), pks in outcomes.items():
        Change.objects.filter(pk__in=pks).update(state=state, reason=reason)
    changed = defaultdict(list)
    for change, values in zip(batch, planned):
        fields = tuple(name for name, value in zip(APPLY_FIELDS, values) if getattr(change, name) != value)
        if fields:
            changed[fields].append(change)
    for fields, changes in changed.items():
        bulk.update_rows(Change, changes, fields)


def groups(batch):
    """The batch as groups of consecutive changes that can be written together (one kind, one action), in order."""
    group = []
    for change in batch:
        fits = change.action in TOGETHER and change.kind not in REFERENCE_KINDS and not (
            change.kind == 'cable' and change.action != ChangeActionChoices.CREATE)
        if group and fits and (change.kind, change.action) == (group[0].kind, group[0].action):
            group.append(change)
            continue
        if group:
            yield group
        group = [change] if fits else []
        if not fits:
            yield [change]
    if group:
        yield group


def write_group(applier, group):
    """
    Write a group together in one savepoint (see Applier.write_together). If that fails (a duplicate the database
    refused, ...), undo it all: the whole group is then applied one change at a time, which says which change failed.
    """
    savepoint = transaction.savepoint_create()
    events = queued_events()
    try:
        alone, written = applier.write_together(group)
        transaction.savepoint_commit(savepoint)
        return alone, written
    except BaseTimeoutException:
        raise
    except Exception as exc:
        rollback_to(savepoint, events)
        applier.tags.clear()  # a tag created in the savepoint is gone with it
        logger.info('Writing %d %s changes together failed (%s): applying them one by one.', len(group),
                    group[0].kind, describe(exc))
        return group, {}


def apply_alone(applier, change):
    """Apply one change in its own savepoint; return its outcome (state, reason)."""
    # A plain savepoint, not a nested atomic block: NetBox defers search indexing per atomic scope, so nested blocks
    # would queue one indexing job per change instead of one per batch.
    savepoint = transaction.savepoint_create()
    events = queued_events()
    try:
        note = applier.apply(change)
        transaction.savepoint_commit(savepoint)
        return ChangeStateChoices.APPLIED, note or change.reason
    except BaseTimeoutException:
        raise  # the job's time limit ends the run (sync.py says so), not this change
    except Exception as exc:
        rollback_to(savepoint, events)
        return outcome_of(exc)


def record_networks(state, records):
    """
    Keep each ownership record's network where Meraki has the object now: a moved device, and its ports and
    addresses, are weighed (and held for review) with the network they are in when they are removed later.
    """
    moved = defaultdict(list)  # (kind, network) -> Meraki identities
    for kind, rows in state.owned.items():
        for meraki_id, row in rows.items():
            record = records.get(kind, {}).get(meraki_id)
            if record is not None and record.network_id != row.network_id:
                rows[meraki_id] = row._replace(network_id=record.network_id)
                moved[kind, record.network_id].append(meraki_id)
    for (kind, network_id), meraki_ids in moved.items():
        SyncedObject.objects.filter(kind=kind, meraki_id__in=meraki_ids).update(network_id=network_id)
