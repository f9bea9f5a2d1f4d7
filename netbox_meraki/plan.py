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
from .models import DEFAULT_ROLE_NAMES, Change, SyncedObject

__all__ = ('NetBoxState', 'build_plan', 'stale_reason')

OWNED_KINDS = tuple(kind for kind in KIND_ORDER if kind not in REFERENCE_KINDS and kind != 'primaryip')
# The org-wide Meraki endpoints whose data decides whether an object of a kind still exists. A kind's
# removals are planned only when every one of them was read in full (and, per network, only when that
# network's own calls succeeded).
REMOVAL_SOURCES = {
    'site': ('networks', 'inventory'),
    'vrf': ('networks', 'devices', 'uplinks'),
    'vlangroup': ('networks', 'devices', 'switch_ports'),
    'wlangroup': ('networks', 'devices'),
    'device': ('networks', 'devices', 'inventory'),
    'vlan': ('networks', 'devices', 'switch_ports'),
    'prefix': ('networks', 'devices'),
    'wirelesslan': ('networks', 'devices'),
    'interface': ('networks', 'devices', 'uplinks', 'switch_ports', 'topology'),
    'ipaddress': ('networks', 'devices', 'uplinks'),
    'cable': ('networks', 'devices', 'switch_ports', 'topology'),
}
# The per-network calls and the kinds they feed. When one network's call failed, those kinds are not removed anywhere
# in that run: an ownership record's network lags behind a move until a run applies, so it cannot say for sure
# which objects that network holds.
NETWORK_SOURCES = {
    'vlans': ('vrf', 'vlangroup', 'vlan', 'prefix', 'interface', 'ipaddress'),
    'ssids': ('wlangroup', 'wirelesslan', 'interface'),
}
PREFETCH = {'interface': ('tagged_vlans', 'wireless_lans')}
# Kinds whose removals go just before their creations, not at the end: a new address may take a removed
# device's IP, and a re-cabled port must lose its old cable before it can take the new one.
EARLY_REMOVALS = ('ipaddress', 'cable')


class NetBoxState:
    """What the plugin owns in NetBox for one organization, plus the shared objects it refers to."""

    def __init__(self, organization_id, settings, with_objects=True):
        self.organization_id = organization_id
        self.settings = settings
        self.ids = defaultdict(dict)  # kind -> meraki_id -> pk
        self.reverse = defaultdict(dict)  # kind -> pk -> meraki_id
        self.objects = defaultdict(dict)  # kind -> pk -> object
        self.owned = defaultdict(dict)  # kind -> meraki_id -> SyncedObject
        self.type_ids = {}
        for kind in OWNED_KINDS:
            self._load_owned(kind, with_objects)

    def _load_owned(self, kind, with_objects):
        model = KINDS[kind].model
        rows = {row.object_id: row for row in SyncedObject.objects.filter(
            kind=kind, organization_id=self.organization_id
        )}
        if with_objects:
            existing = model.objects.prefetch_related(*PREFETCH.get(kind, ())).in_bulk(list(rows))
        else:
            existing = dict.fromkeys(model.objects.filter(pk__in=list(rows)).values_list('pk', flat=True))
        for pk, row in rows.items():
            self.owned[kind][row.meraki_id] = row
            if pk in existing:
                self.ids[kind][row.meraki_id] = pk
                self.reverse[kind][pk] = row.meraki_id
                if with_objects:
                    self.objects[kind][pk] = existing[pk]

    def type_id(self, kind):
        if kind not in self.type_ids:
            self.type_ids[kind] = ContentType.objects.get_for_model(KINDS[kind].model).pk
        return self.type_ids[kind]

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
        elif kind == 'netboxinterface':
            # A neighbour Meraki does not manage: an interface of a NetBox device, both by name.
            device_name, _, interface_name = meraki_id.partition('|')
            obj = Interface.objects.filter(device__name=device_name, name=interface_name).first()
        if obj is None:
            return None
        self.remember(kind, meraki_id, obj)
        return obj.pk

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
        if meraki_id is None and kind in REFERENCE_KINDS:
            meraki_id = self.shared_identity(kind, pk)
        return {'ref': kind, 'id': meraki_id} if meraki_id else {'ref': kind, 'id': None, 'pk': pk}

    def shared_identity(self, kind, pk):
        """
        The identity of a shared object (manufacturer, device type, role) not looked up yet, from its name: so that a
        state loaded to apply a review reads a device's type and role as the plan did.
        """
        obj = KINDS[kind].model.objects.filter(pk=pk).first()
        meraki_id = None
        if kind == 'manufacturer' and obj and obj.name == self.settings.manufacturer_name:
            meraki_id = 'meraki'
        elif kind == 'devicetype' and obj and obj.manufacturer_id == self.pk('manufacturer', 'meraki'):
            meraki_id = obj.model
        elif kind == 'role' and obj:
            product_types = [product_type for product_type in DEFAULT_ROLE_NAMES
                             if self.settings.role_name(product_type) == obj.name]
            meraki_id = product_types[0] if product_types else None
        if meraki_id:
            self.remember(kind, meraki_id, obj)
        return meraki_id

    def current_values(self, kind, obj, fields=None):
        spec = KINDS[kind]
        values = {}
        for name in fields or spec.fields:
            if name.startswith('cf_'):
                value = obj.custom_field_data.get(name[3:])
            elif name in spec.generic:
                target = spec.refs[name]
                same_type = getattr(obj, f'{name}_type_id') == self.type_id(target)
                value = self.ref(target, getattr(obj, f'{name}_id') if same_type else None)
            elif name in spec.many:
                value = sorted((self.ref(spec.refs[name], item.pk) for item in getattr(obj, name).all()),
                               key=lambda ref: (str(ref['id']), ref.get('pk', 0)))
            elif kind == 'cable' and name in ('a', 'b'):
                ends = getattr(obj, f'{name}_terminations')
                value = self.ref('interface', ends[0].pk) if len(ends) == 1 else None
            elif name in spec.refs:
                value = self.ref(spec.refs[name], getattr(obj, f'{name}_id'))
            else:
                value = getattr(obj, name)
            values[name] = value if isinstance(value, (dict, list)) else to_json(value)
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


class Planner:
    def __init__(self, run, records, snapshot, settings, state):
        self.run = run
        self.records = records
        self.snapshot = snapshot
        self.settings = settings
        self.state = state
        self.network_scope = set(run.network_ids)
        self.changes = []

    def add(self, action, kind, meraki_id, label, network_id='', obj=None, before=None, after=None):
        change = Change(
            run=self.run, sequence=len(self.changes), action=action, kind=kind, meraki_id=meraki_id,
            object_id=obj.pk if obj else None, object_repr=str(label or obj or meraki_id)[:200],
            scope=network_id or '', before=before or {}, after=after or {},
        )
        self.changes.append(change)
        return change

    def build(self):
        removable = [kind for kind in reversed(KIND_ORDER) if kind in REMOVAL_SOURCES and self.removals_allowed(kind)]
        for kind in KIND_ORDER:
            if kind in EARLY_REMOVALS and kind in removable:
                self.plan_removals(kind)
            self.plan_upserts(kind)
        for kind in removable:
            if kind not in EARLY_REMOVALS:
                self.plan_removals(kind)
        hold_mass_removals(self.changes, self.state, self.settings.deletion_threshold, self.network_scope)
        for change in self.changes:
            # A cable that takes the place of one whose removal waits for review waits with it: its port is not free.
            held = [removal for removal in getattr(change, 'replaces', ()) if removal.state == ChangeStateChoices.HELD]
            if held and change.state == ChangeStateChoices.PENDING:
                change.state = ChangeStateChoices.HELD
                change.reason = f'Held for review until cable {held[0].object_repr} is removed: {held[0].reason}'[:500]
        return self.changes

    def removals_allowed(self, kind):
        if failed := removal_blockers(kind, self.snapshot):
            self.run.log_line('warning', f'No {kind} removals planned: {", ".join(failed)} could not be read.')
            return False
        return True

    def plan_upserts(self, kind):
        desired, state = self.records[kind], self.state
        if kind in REFERENCE_KINDS:
            for meraki_id, record in desired.items():
                if state.pk(kind, meraki_id) is None:
                    after = {name: to_json(value) for name, value in record.values.items()}
                    self.add(ChangeActionChoices.CREATE, kind, meraki_id, record.label, after=after)
            return
        candidates = adoption_candidates(kind, desired, state)
        create_only = KINDS[kind].create_only
        for meraki_id, record in desired.items():
            want = {name: to_json(value) for name, value in record.values.items()}
            obj = state.object('device' if kind == 'primaryip' else kind, meraki_id)
            if obj is not None:
                have = state.current_values(kind, obj, want)
                differ = [name for name in want if want[name] != have[name] and name not in create_only
                          and name not in record.create_only]
                if differ:
                    self.add(ChangeActionChoices.UPDATE, kind, meraki_id, record.label, record.network_id, obj,
                             before={name: have[name] for name in differ}, after={name: want[name] for name in differ})
            elif kind == 'primaryip':
                # The device is created by this plan: the update finds it by identity when applied.
                self.add(ChangeActionChoices.UPDATE, kind, meraki_id, record.label, record.network_id, after=want)
            elif meraki_id in candidates and self.settings.adopt_existing:
                match = candidates[meraki_id]
                self.add(ChangeActionChoices.ADOPT, kind, meraki_id, record.label, record.network_id, match,
                         before=state.current_values(kind, match, want), after=want)
            elif meraki_id in candidates:
                change = self.add(ChangeActionChoices.CREATE, kind, meraki_id, record.label, record.network_id,
                                  after=want)
                change.state = ChangeStateChoices.SKIPPED
                change.reason = (
                    f'{kind} {candidates[meraki_id]} (#{candidates[meraki_id].pk}) already exists in NetBox and is '
                    f'not owned by the plugin; it is left alone. Enable "adopt existing objects" to take it over.'
                )
            elif kind == 'cable':
                self.plan_cable(record, want)
            else:
                self.add(ChangeActionChoices.CREATE, kind, meraki_id, record.label, record.network_id, after=want)

    def plan_cable(self, record, want):
        """A new cable, unless one of its ends is already cabled in NetBox: never a second cable on a port."""
        replaced = []
        for end in (record.values['a'], record.values['b']):
            interface = self.state.object(end.kind, end.meraki_id) if end.kind == 'interface' else None
            if interface is None and end.kind == 'netboxinterface' and self.state.pk(end.kind, end.meraki_id):
                interface = self.state.object(end.kind, end.meraki_id)
            if end.kind == 'netboxinterface' and interface is None:
                return  # the neighbour is not in NetBox: nothing to connect to
            if interface is not None and interface.cable_id:
                if (removal := self.cable_removal(interface.cable_id)) is None:
                    change = self.add(ChangeActionChoices.CREATE, 'cable', record.meraki_id, record.label,
                                      record.network_id, after=want)
                    change.state = ChangeStateChoices.SKIPPED
                    change.reason = f'{interface.device} {interface} already has cable #{interface.cable_id}.'
                    return
                replaced.append(removal)
        change = self.add(ChangeActionChoices.CREATE, 'cable', record.meraki_id, record.label, record.network_id,
                          after=want)
        change.replaces = replaced

    def cable_removal(self, cable_id):
        """The planned removal of a cable, if any."""
        return next((change for change in self.changes if change.kind == 'cable' and change.object_id == cable_id
                     and change.action == ChangeActionChoices.DELETE), None)

    def plan_removals(self, kind):
        spec, state = KINDS[kind], self.state
        policy = self.settings.policy_for(spec.policy or kind)
        desired = self.records[kind]
        for meraki_id, row in state.owned[kind].items():
            if meraki_id in desired or policy == DeletePolicyChoices.KEEP:
                continue
            if self.network_scope and row.network_id not in self.network_scope:
                continue
            if any(self.snapshot.network_failed(source, row.network_id) for source in self.snapshot.network_errors):
                continue  # that network's own calls failed: what it holds is unknown, not gone
            obj = state.object(kind, meraki_id)
            if obj is None:
                continue
            if policy == DeletePolicyChoices.DELETE:
                self.add(ChangeActionChoices.DELETE, kind, meraki_id, str(obj), row.network_id, obj,
                         before=state.current_values(kind, obj))
            elif spec.mark:
                mark = {name: to_json(value) for name, value in spec.mark.items()}
                have = state.current_values(kind, obj, spec.mark)
                if have != mark:
                    self.add(ChangeActionChoices.MARK, kind, meraki_id, str(obj), row.network_id, obj,
                             before=have, after=mark)


def removal_blockers(kind, snapshot):
    """The endpoints that failed and that a removal of `kind` depends on: removals need all of them read."""
    failed = [source for source in REMOVAL_SOURCES.get(kind, ()) if source in snapshot.errors]
    for source, kinds in NETWORK_SOURCES.items():
        if kind in kinds and snapshot.network_errors.get(source):
            failed.append(f'{source} of {", ".join(sorted(snapshot.network_errors[source]))}')
    return failed


def build_plan(run, records, snapshot, settings, state):
    """Return the run's Changes, unsaved, in apply order."""
    return Planner(run, records, snapshot, settings, state).build()


def stale_reason(change, records, snapshot):
    """
    Why an approved change no longer stands against what Meraki holds now (`records`, read again and mapped with
    today's settings), or '' when it still does: a creation or update that Meraki now wants otherwise, a removal of
    something Meraki has again. Shared objects (device types, roles) are looked up, never checked.
    """
    if change.kind in REFERENCE_KINDS:
        return ''
    record = records[change.kind].get(change.meraki_id)
    if change.action in (ChangeActionChoices.DELETE, ChangeActionChoices.MARK):
        if record is not None:
            return 'Meraki has it again since the plan was made.'
        if failed := removal_blockers(change.kind, snapshot):
            return f'Its removal could not be confirmed: {", ".join(failed)} could not be read.'
        return ''
    if record is None:
        return 'Meraki no longer has it (or the settings leave it out) since the plan was made.'
    want = {name: to_json(value) for name, value in record.values.items()}
    changed = [name for name in change.after if want.get(name, change.after[name]) != change.after[name]]
    if changed:
        details = ', '.join(f'{name} is now {want[name]!r}' for name in changed)
        return f'Meraki changed since the plan was made ({details}).'
    return ''


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
    # A network's removals stand or fall together: a device removed while its held interfaces wait would take them
    # along (NetBox deletes a device's interfaces with it), and a site cannot go while its held devices stay.
    held = {change.scope: change for change in removals if change.state == ChangeStateChoices.HELD and change.scope}
    for change in removals:
        if change.state != ChangeStateChoices.HELD and change.scope in held:
            change.state = ChangeStateChoices.HELD
            change.reason = (
                f'Held for review with the other removals in network {change.scope}: '
                f'{held[change.scope].reason.removeprefix("Held for review: ")}'
            )[:500]


def removal_scopes(kind, network_id):
    """The scopes a removal is weighed in: the organization, and the network for objects in one."""
    return [(kind, '')] if kind == 'site' or not network_id else [(kind, network_id), (kind, '')]
