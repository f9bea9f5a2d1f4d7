"""
Plan: compare the desired records with what NetBox holds and produce the Changes that close the gap.
Reads NetBox (a few queries per kind), writes nothing.
"""

from collections import Counter, defaultdict

from django.contrib.contenttypes.models import ContentType

from dcim.models import Device, DeviceRole, DeviceType, Interface, Manufacturer, Site

from .choices import ChangeActionChoices, ChangeStateChoices, DeletePolicyChoices
from .kinds import KINDS, to_json
from .mapping import KIND_ORDER, REFERENCE_KINDS
from .models import Change, SyncedObject

__all__ = ('NetBoxState', 'build_plan')

# The Meraki endpoints whose data decides whether an object of a kind still exists. A kind's removals are
# planned only when every one of them was read in full.
REMOVAL_SOURCES = {
    'site': ('networks',),
    'device': ('networks', 'devices'),
    'interface': ('networks', 'devices', 'uplinks'),
    'ipaddress': ('networks', 'devices', 'uplinks'),
}


class NetBoxState:
    """What the plugin owns in NetBox for one organization, plus the shared objects it refers to."""

    def __init__(self, organization_id, settings, with_objects=True):
        self.organization_id = organization_id
        self.settings = settings
        self.ids = defaultdict(dict)  # kind -> meraki_id -> pk
        self.reverse = defaultdict(dict)  # kind -> pk -> meraki_id
        self.objects = defaultdict(dict)  # kind -> pk -> object
        self.owned = defaultdict(dict)  # kind -> meraki_id -> SyncedObject
        self.interface_type_id = ContentType.objects.get_for_model(Interface).pk
        for kind in ('site', 'device', 'interface', 'ipaddress'):
            self._load_owned(kind, with_objects)

    def preload_references(self, records):
        """Look up the shared objects a plan refers to in one query per kind."""
        for meraki_id in records['manufacturer']:
            self.pk('manufacturer', meraki_id)
        if manufacturer_pk := self.ids['manufacturer'].get('meraki'):
            device_types = DeviceType.objects.filter(manufacturer_id=manufacturer_pk, model__in=records['devicetype'])
            for device_type in device_types:
                self.remember('devicetype', device_type.model, device_type)
        names = {record.values['name']: meraki_id for meraki_id, record in records['role'].items()}
        for role in DeviceRole.objects.filter(name__in=names):
            self.remember('role', names[role.name], role)

    def pk(self, kind, meraki_id):
        """The NetBox id of the object with this identity, looking shared objects up by name on first use."""
        if meraki_id in self.ids[kind]:
            return self.ids[kind][meraki_id]
        obj = None
        if kind == 'manufacturer':
            obj = Manufacturer.objects.filter(name=self.settings.manufacturer_name).first()
        elif kind == 'devicetype' and (manufacturer_pk := self.pk('manufacturer', 'meraki')):
            obj = DeviceType.objects.filter(manufacturer_id=manufacturer_pk, model=meraki_id).first()
        elif kind == 'role':
            obj = DeviceRole.objects.filter(name=self.settings.role_name(meraki_id)).first()
        if obj is None:
            return None
        self.remember(kind, meraki_id, obj)
        return obj.pk

    def _load_owned(self, kind, with_objects):
        spec = KINDS[kind]
        rows = {row.object_id: row for row in SyncedObject.objects.filter(
            kind=kind, organization_id=self.organization_id
        )}
        if with_objects:
            existing = spec.model.objects.in_bulk(list(rows))
        else:
            existing = dict.fromkeys(spec.model.objects.filter(pk__in=list(rows)).values_list('pk', flat=True))
        for pk, row in rows.items():
            self.owned[kind][row.meraki_id] = row
            if pk in existing:
                self.ids[kind][row.meraki_id] = pk
                self.reverse[kind][pk] = row.meraki_id
                if with_objects:
                    self.objects[kind][pk] = existing[pk]

    def remember(self, kind, meraki_id, obj):
        self.ids[kind][meraki_id] = obj.pk
        self.reverse[kind][obj.pk] = meraki_id
        self.objects[kind][obj.pk] = obj

    def object(self, kind, meraki_id):
        pk = self.ids[kind].get(meraki_id)
        return self.objects[kind].get(pk) if pk else None

    def ref(self, kind, pk):
        """The stored form of a foreign key: the Meraki identity of the object it points to, if known."""
        if pk is None:
            return None
        meraki_id = self.reverse[kind].get(pk)
        return {'ref': kind, 'id': meraki_id} if meraki_id else {'ref': kind, 'id': None, 'pk': pk}

    def current_values(self, kind, obj, fields=None):
        spec = KINDS[kind]
        values = {}
        for name in fields or spec.fields:
            if name.startswith('cf_'):
                value = obj.custom_field_data.get(name[3:])
            elif name == 'assigned_object':
                is_interface = obj.assigned_object_type_id == self.interface_type_id
                value = self.ref('interface', obj.assigned_object_id if is_interface else None)
            elif name in spec.refs:
                value = self.ref(spec.refs[name], getattr(obj, f'{name}_id'))
            else:
                value = getattr(obj, name)
            values[name] = value if isinstance(value, dict) else to_json(value)
        return values


def adoption_candidates(kind, records, state):
    """NetBox objects the plugin does not own that match a desired record by natural key (serial, name)."""
    unowned = [record for meraki_id, record in records.items() if state.object(kind, meraki_id) is None]
    if kind == 'device':
        serials = {record.values['serial']: record.meraki_id for record in unowned}
        matches = Device.objects.filter(serial__in=serials)
        return {serials[device.serial]: device for device in matches if device.pk not in state.reverse[kind]}
    if kind == 'site':
        names = {record.values['name']: record.meraki_id for record in unowned}
        matches = Site.objects.filter(name__in=names)
        return {names[site.name]: site for site in matches if site.pk not in state.reverse[kind]}
    return {}


def build_plan(run, records, snapshot, settings, state):
    """Return the run's Changes, unsaved, in apply order."""
    changes = []
    network_scope = set(run.network_ids)

    def add(action, kind, meraki_id, label, network_id='', obj=None, before=None, after=None):
        changes.append(Change(
            run=run, sequence=len(changes), action=action, kind=kind, meraki_id=meraki_id,
            object_id=obj.pk if obj else None, object_repr=str(label or obj or meraki_id)[:200],
            scope=network_id or '', before=before or {}, after=after or {},
        ))

    for kind in KIND_ORDER:
        desired = records[kind]
        if kind in REFERENCE_KINDS:
            for meraki_id, record in desired.items():
                if meraki_id not in state.ids[kind]:
                    after = {name: to_json(value) for name, value in record.values.items()}
                    add(ChangeActionChoices.CREATE, kind, meraki_id, record.label, after=after)
            continue

        candidates = adoption_candidates(kind, desired, state)
        for meraki_id, record in desired.items():
            want = {name: to_json(value) for name, value in record.values.items()}
            obj = state.object('device' if kind == 'primaryip' else kind, meraki_id)
            if obj is not None:
                have = state.current_values(kind, obj, want)
                differ = [name for name in want if want[name] != have[name] and name not in KINDS[kind].create_only]
                if differ:
                    add(ChangeActionChoices.UPDATE, kind, meraki_id, record.label, record.network_id, obj,
                        before={name: have[name] for name in differ}, after={name: want[name] for name in differ})
            elif kind == 'primaryip':
                # The device is created by this plan: the update finds it by identity when applied.
                add(ChangeActionChoices.UPDATE, kind, meraki_id, record.label, record.network_id, after=want)
            elif meraki_id in candidates and settings.adopt_existing:
                match = candidates[meraki_id]
                add(ChangeActionChoices.ADOPT, kind, meraki_id, record.label, record.network_id, match,
                    before=state.current_values(kind, match, want), after=want)
            elif meraki_id in candidates:
                add(ChangeActionChoices.CREATE, kind, meraki_id, record.label, record.network_id, after=want)
                changes[-1].state = ChangeStateChoices.SKIPPED
                changes[-1].reason = (
                    f'{kind} {candidates[meraki_id]} (#{candidates[meraki_id].pk}) already exists in NetBox and is not '
                    f'owned by the plugin; it is left alone. Enable "adopt existing objects" to take it over.'
                )
            else:
                add(ChangeActionChoices.CREATE, kind, meraki_id, record.label, record.network_id, after=want)

    for kind in reversed(KIND_ORDER):
        if kind not in REMOVAL_SOURCES:
            continue
        if failed := [source for source in REMOVAL_SOURCES[kind] if source in snapshot.errors]:
            run.log_line('warning', f'No {kind} removals planned: {", ".join(failed)} could not be read.')
            continue
        plan_removals(kind, records[kind], settings.policy_for(kind), network_scope, state, add)

    hold_mass_removals(changes, state, settings.deletion_threshold, network_scope)
    return changes


def plan_removals(kind, desired, policy, network_scope, state, add):
    spec = KINDS[kind]
    for meraki_id, row in state.owned[kind].items():
        if meraki_id in desired or policy == DeletePolicyChoices.KEEP:
            continue
        if network_scope and row.network_id not in network_scope:
            continue
        obj = state.object(kind, meraki_id)
        if obj is None:
            continue
        if policy == DeletePolicyChoices.DELETE:
            add(ChangeActionChoices.DELETE, kind, meraki_id, str(obj), row.network_id, obj,
                before=state.current_values(kind, obj))
        else:
            have = state.current_values(kind, obj, spec.mark)
            if have != {name: to_json(value) for name, value in spec.mark.items()}:
                add(ChangeActionChoices.MARK, kind, meraki_id, str(obj), row.network_id, obj,
                    before=have, after={name: to_json(value) for name, value in spec.mark.items()})


def hold_mass_removals(changes, state, threshold, network_scope):
    """
    Hold removals for review when they would take away more than `threshold` percent of what the plugin owns
    of a kind, in one network or in the whole organization (sites: in the organization). A single removal
    is never held on its own.
    """
    removals = [change for change in changes if change.action in (ChangeActionChoices.DELETE, ChangeActionChoices.MARK)]
    owned, removed = Counter(), Counter()
    for kind, rows in state.owned.items():
        for row in rows.values():
            if not network_scope or row.network_id in network_scope:
                owned.update(removal_scopes(kind, row.network_id))
    for change in removals:
        removed.update(removal_scopes(change.kind, change.scope))
    for change in removals:
        for key in removal_scopes(change.kind, change.scope):
            count, total = removed[key], owned[key]
            if count > 1 and total and count * 100 > threshold * total:
                where = f'network {key[1]}' if key[1] else 'the organization'
                change.state = ChangeStateChoices.HELD
                change.reason = (
                    f'Held for review: this run would remove {count} of the {total} {change.kind}s the plugin owns '
                    f'in {where} ({count * 100 // total}% > {threshold}%). Meraki may have answered incompletely.'
                )
                break


def removal_scopes(kind, network_id):
    """The scopes a removal is weighed in: the organization, and the network for objects in one."""
    return [(kind, '')] if kind == 'site' or not network_id else [(kind, network_id), (kind, '')]
