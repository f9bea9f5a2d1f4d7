"""
Plan: compare the desired records with what NetBox holds and produce the Changes that close the gap.
Reads NetBox (a few queries per kind), writes nothing.
"""

import ipaddress
import re
from collections import Counter, defaultdict, namedtuple
from dataclasses import dataclass
from functools import cache

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, F, Func, Q

from dcim.models import (
    Cable,
    CableTermination,
    Device,
    DeviceRole,
    DeviceType,
    Interface,
    InterfaceTemplate,
    MACAddress,
    Manufacturer,
    Platform,
    Site,
    SiteGroup,
)
from ipam.models import IPAddress
from tenancy.models import Tenant

from .cascade import CascadeCheck
from .choices import ChangeActionChoices, ChangeStateChoices, DeletePolicyChoices
from .kinds import KINDS, UPDATE_KINDS, kind_in_text, to_json
from .mapping import KIND_ORDER, REFERENCE_KINDS
from .models import DEFAULT_ROLE_NAMES, Change, SyncedObject
from .stacks import hold_stack_changes, plan_stack_changes

__all__ = ('NATURAL_KEY_KINDS', 'NetBoxState', 'build_plan', 'natural_matches', 'stale_reason')

OWNED_KINDS = tuple(kind for kind in KIND_ORDER if kind not in REFERENCE_KINDS and kind not in UPDATE_KINDS)
# The org-wide Meraki endpoints whose data decides whether an object of a kind still exists. A kind's
# removals are planned only when every one of them was read in full (and, per network, only when that
# network's own calls succeeded).
REMOVAL_SOURCES = {
    'sitegroup': ('config_templates',),
    'site': ('networks', 'inventory'),
    'vrf': ('networks', 'devices', 'uplinks'),
    'vlangroup': ('networks', 'devices', 'switch_ports'),
    'wlangroup': ('networks', 'devices'),
    'virtualchassis': ('networks', 'devices'),
    'device': ('networks', 'devices', 'inventory'),
    'vlan': ('networks', 'devices', 'switch_ports'),
    'prefix': ('networks', 'devices'),
    'wirelesslan': ('networks', 'devices'),
    'interface': ('networks', 'devices', 'uplinks', 'switch_ports', 'topology'),
    'ipaddress': ('networks', 'devices', 'uplinks'),
    'macaddress': ('networks', 'devices', 'uplinks'),
    'cable': ('networks', 'devices', 'switch_ports', 'topology'),
}
# Kinds whose removals go just before their creations, not at the end: a new address may take a removed
# device's IP, and a re-cabled port must lose its old cable before it can take the new one.
EARLY_REMOVALS = ('ipaddress', 'cable')


# An ownership record as planning and applying read it.
Owned = namedtuple('Owned', ('meraki_id', 'object_id', 'network_id', 'last_synced'))


class NetBoxState:
    """What the plugin owns in NetBox for one organization, plus the shared objects it refers to."""

    def __init__(self, organization_id, settings, with_objects=True):
        self.organization_id = organization_id
        self.settings = settings
        self.ids = defaultdict(dict)  # kind -> meraki_id -> pk
        self.reverse = defaultdict(dict)  # kind -> pk -> meraki_id
        self.objects = defaultdict(dict)  # kind -> pk -> the owned object's row (see load_rows())
        self.owned = defaultdict(dict)  # kind -> meraki_id -> Owned
        self.type_ids = {}
        # Whether another organization's runs own objects here: only then can an identity move between them.
        self.other_organizations = SyncedObject.objects.exclude(organization_id=organization_id).exists()
        self.neighbours_loaded = set()
        self.neighbour_devices = defaultdict(list)  # device name -> devices the plugin does not own
        self.neighbour_interfaces = {}  # (device pk, name) -> interface
        for kind in OWNED_KINDS:
            self._load_owned(kind, with_objects)

    def _load_owned(self, kind, with_objects):
        owned = SyncedObject.objects.filter(kind=kind, organization_id=self.organization_id)
        rows = {row.object_id: row for row in map(Owned._make, owned.values_list(*Owned._fields))}
        pks = owned.values('object_id')
        if with_objects:
            existing = load_rows(kind, pks)
        else:
            existing = dict.fromkeys(KINDS[kind].model.objects.filter(pk__in=pks).values_list('pk', flat=True))
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
                self.written('devicetype', device_type.model, device_type.pk)
        names = {record.values['name']: meraki_id for meraki_id, record in records['role'].items()}
        for role in DeviceRole.objects.filter(name__in=names):
            self.written('role', names[role.name], role.pk)
        for platform in self.platforms(records['platform']):
            if platform.name not in self.ids['platform']:
                self.written('platform', platform.name, platform.pk)

    def platforms(self, names):
        """
        The platforms of these names a Meraki device may run, the Meraki manufacturer's first: also one a person made
        for no manufacturer (used, not duplicated), never another manufacturer's (NetBox refuses it on a Meraki device).
        """
        return Platform.objects.filter(
            Q(manufacturer_id=self.pk('manufacturer', 'meraki')) | Q(manufacturer__isnull=True), name__in=names,
        ).order_by(F('manufacturer').asc(nulls_last=True))

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
        elif kind == 'platform':
            obj = self.platforms([meraki_id]).first()
        elif kind == 'tenant':
            obj = Tenant.objects.filter(name=meraki_id).first()
        if obj is None:
            return None
        self.written(kind, meraki_id, obj.pk)
        return obj.pk

    def written(self, kind, meraki_id, pk):
        """
        An object known by id from now on: one the apply wrote (not kept, as planned objects' rows are: a first sync of
        10,000 devices writes over 100,000 objects, and nothing after their write reads them), or a shared one looked
        up.
        """
        self.ids[kind][meraki_id] = pk
        self.reverse[kind][pk] = meraki_id

    def preload_neighbours(self, meraki_ids):
        """
        Look up the devices (not the plugin's) that LLDP/CDP neighbours ('device|port') name, with those ports: two
        queries for a whole plan, however many cables it has.
        """
        ends = {meraki_id.partition('|')[::2] for meraki_id in meraki_ids} - self.neighbours_loaded
        if not ends:
            return
        self.neighbours_loaded |= ends
        devices = list(Device.objects.filter(name__in={name for name, _ in ends}).exclude(
            pk__in=SyncedObject.objects.filter(kind='device').values('object_id')
        ).select_related('site'))
        for device in devices:
            self.neighbour_devices[device.name].append(device)
        for interface in Interface.objects.filter(device__in=devices, name__in={port for _, port in ends}):
            self.neighbour_interfaces[(interface.device_id, interface.name)] = interface

    def neighbour(self, meraki_id, site_pk):
        """
        The interface a neighbour Meraki does not manage names ('device|port'): (interface, '') when the name resolves
        to exactly one device, or to exactly one in the local device's site; (None, why) when it is ambiguous, and
        (None, '') when NetBox has no such device or interface.
        """
        self.preload_neighbours([meraki_id])
        device_name, _, port = meraki_id.partition('|')
        devices = self.neighbour_devices.get(device_name, [])
        if len(devices) > 1:
            here = [device for device in devices if device.site_id == site_pk]
            if len(here) != 1:
                sites = ', '.join(sorted(str(device.site) for device in devices))
                return None, (f'{len(devices)} devices in NetBox are named {device_name} (sites {sites}), '
                              f'{len(here) or "none"} of them in the local device\'s site: the neighbour is ambiguous')
            devices = here
        if not devices:
            return None, ''
        return self.neighbour_interfaces.get((devices[0].pk, port)), ''

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
        The identity of a shared object (manufacturer, device type, role, platform) not looked up yet, from its name: so
        that a state loaded to apply a review reads a device's type, role and platform as the plan did.
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
        elif kind == 'platform' and obj and obj.manufacturer_id in (None, self.pk('manufacturer', 'meraki')):
            meraki_id = obj.name
        elif kind == 'tenant' and obj:
            meraki_id = obj.name
        if meraki_id:
            self.written(kind, meraki_id, obj.pk)
        return meraki_id

    def current_values(self, kind, obj, fields=None):
        """The stored form of an object's synced fields (all, or `fields`), from its row or a model instance."""
        spec = KINDS[kind]
        fields = fields or spec.fields
        row = obj if isinstance(obj, dict) else row_of(kind, obj, fields)
        values = {}
        for name in fields:
            if name.startswith('cf_'):
                value = row['custom_field_data'].get(name[3:])
            elif name in spec.generic:
                target = spec.refs[name]
                same_type = row[f'{name}_type_id'] == self.type_id(target)
                value = self.ref(target, row[f'{name}_id'] if same_type else None)
            elif name in spec.many:
                value = sorted((self.ref(spec.refs[name], pk) for pk in row[name]),
                               key=lambda ref: (str(ref['id']), ref.get('pk', 0)))
            elif kind == 'cable' and name in ('a', 'b'):
                value = self.ref('interface', row[name])
            elif name in spec.refs:
                value = self.ref(spec.refs[name], row[f'{name}_id'])
            else:
                value = row[name]
            values[name] = value if isinstance(value, (dict, list)) else to_json(value)
        return values


# What planning reads of an owned object besides its synced fields: whether a port is cabled.
EXTRA_COLUMNS = {'interface': ('cable_id',)}


@cache
def row_columns(kind):
    """
    The columns an object's synced fields are stored in, for each kind its model serves (a device's primary IPs are
    the 'primaryip' kind's), with EXTRA_COLUMNS: a row's keys, besides its many-to-many fields and a cable's ends.
    """
    model = KINDS[kind].model
    columns = ['pk', *EXTRA_COLUMNS.get(kind, ())]
    for spec in (spec for spec in KINDS.values() if spec.model is model):
        for name in spec.fields:
            if name.startswith('cf_'):
                names = ('custom_field_data',)
            elif name in spec.generic:
                names = (f'{name}_type_id', f'{name}_id')
            elif name in spec.many or (model is Cable and name in ('a', 'b')):
                names = ()
            elif name in spec.refs:
                names = (f'{name}_id',)
            else:
                names = (name,)
            columns += [column for column in names if column not in columns]
    return tuple(columns)


def load_rows(kind, pks):
    """
    {pk: row} for a kind's objects of these ids (a list or a query): a dict of the columns of row_columns(), each
    many-to-many field as a list of ids, and a cable's ends ('a', 'b') as the id of the one object at each, if one.
    Rows, not model instances: a re-sync of 10,000 devices compares some 150,000 objects, and building instances
    took most of its planning time and memory. A fixed number of queries per kind, however many objects.
    """
    spec = KINDS[kind]
    queryset = spec.model.objects.filter(pk__in=pks)
    rows = {row['pk']: row for row in queryset.values(*row_columns(kind))}
    for name in spec.many:
        for row in rows.values():
            row[name] = []
        for pk, item in queryset.filter(**{f'{name}__isnull': False}).values_list('pk', name):
            rows[pk][name].append(item)
    if spec.model is Cable:
        ends = defaultdict(list)
        terminations = CableTermination.objects.filter(cable_id__in=pks)
        for cable, side, termination in terminations.values_list('cable_id', 'cable_end', 'termination_id'):
            ends[cable, side].append(termination)
        for pk, row in rows.items():
            for side in ('A', 'B'):
                row[side.lower()] = ends[pk, side][0] if len(ends[pk, side]) == 1 else None
    return rows


def row_of(kind, obj, fields):
    """The row (see load_rows()) of a model instance, with the many-to-many fields among `fields`."""
    spec = KINDS[kind]
    row = {column: getattr(obj, column) for column in row_columns(kind)}
    for name in spec.many:
        if name in fields:
            row[name] = [item.pk for item in getattr(obj, name).all()]
    if spec.model is Cable:
        for side in ('a', 'b'):
            ends = [end.pk for end in getattr(obj, f'{side}_terminations')]
            row[side] = ends[0] if len(ends) == 1 else None
    return row


@dataclass(frozen=True)
class Candidate:
    """
    A NetBox object this organization's runs do not own that matches a desired record. `mode` says what may be done
    with it: 'adopt' (a person's object: taken over when the adoption setting is on), 'always' (the plugin's own under
    another organization, or an existing component of a device the plugin owns: taken over) or 'taken' (the
    plugin's under another identity: never touched, reported).
    """

    obj: object
    mode: str
    note: str = ''

    def taken_over(self, adopt_existing):
        return self.mode == 'always' or (self.mode == 'adopt' and adopt_existing)

    def reason(self):
        """Why a creation is skipped for this candidate."""
        return (self.note or (
            f'{self.obj._meta.verbose_name} {self.obj} (#{self.obj.pk}) already exists in NetBox and is not owned by '
            f'the plugin; it is left alone. Enable "adopt existing objects" to take it over.'
        ))[:500]


# Kinds matched by natural key (see natural_matches): when planning, and again when a creation is applied.
NATURAL_KEY_KINDS = ('device', 'site', 'sitegroup', 'interface', 'ipaddress', 'macaddress')


def host_of(address):
    try:
        return str(ipaddress.ip_interface(address).ip)
    except ValueError:
        return None


def natural_matches(kind, wanted, state):
    """
    {meraki_id: Candidate} for the desired values `wanted` ({meraki_id: values in stored form}) of identities this
    organization does not own: the plugin's own objects synced for another organization (a device moved between
    organizations), then NetBox objects with the same natural key: a device's serial, a site's name, an interface's
    name on a device the plugin owns, an address (same VRF and host) in IPAM, a MAC address of that value on an
    interface the plugin owns, a top-level site group's name. A few queries per kind.
    """
    wanted = {meraki_id: values for meraki_id, values in wanted.items() if state.object(kind, meraki_id) is None}
    if not wanted:
        return {}
    model = KINDS[kind].model
    candidates = {}
    if state.other_organizations:
        moved = SyncedObject.objects.filter(kind=kind, meraki_id__in=list(wanted)).exclude(
            organization_id=state.organization_id)
        rows = {row.object_id: row for row in moved}
        for pk, obj in model.objects.in_bulk(list(rows)).items():
            note = f'The plugin synced it for organization {rows[pk].organization_id} until now: Meraki moved it here.'
            candidates[rows[pk].meraki_id] = Candidate(obj, 'always', note)
    keys = {}  # natural key -> meraki_id
    for meraki_id, values in wanted.items():
        if meraki_id in candidates:
            continue
        if kind == 'device':
            keys[values['serial']] = meraki_id
        elif kind in ('site', 'sitegroup'):
            keys[values['name']] = meraki_id
        elif kind == 'interface' and (device_pk := state.ids['device'].get(values['device']['id'])):
            keys[(device_pk, values['name'])] = meraki_id
        elif kind == 'ipaddress' and (host := host_of(values['address'])):
            vrf = values.get('vrf')
            vrf_pk = state.ids['vrf'].get(vrf['id']) if vrf else None
            if vrf is None or vrf_pk:
                keys[(vrf_pk, host)] = meraki_id
        elif kind == 'macaddress' and (interface_pk := state.ids['interface'].get(values['assigned_object']['id'])):
            keys[(interface_pk, values['mac_address'])] = meraki_id
    if not keys:
        return candidates
    if kind == 'device':
        matches = {device.serial: device for device in Device.objects.filter(serial__in=keys)}
    elif kind == 'site':
        matches = {site.name: site for site in Site.objects.filter(name__in=keys)}
    elif kind == 'sitegroup':
        # The plugin's groups are top-level: a person's group of that name under another is another name in NetBox.
        matches = {group.name: group for group in SiteGroup.objects.filter(name__in=keys, parent__isnull=True)}
    elif kind == 'interface':
        queryset = Interface.objects.filter(device_id__in={key[0] for key in keys}, name__in={key[1] for key in keys})
        matches = {(interface.device_id, interface.name): interface for interface in queryset}
    elif kind == 'macaddress':
        queryset = MACAddress.objects.filter(assigned_object_type_id=state.type_id('interface'),
                                             assigned_object_id__in={key[0] for key in keys})
        # The oldest of several of one value on one interface (newest first: the last one read wins).
        matches = {(mac.assigned_object_id, str(mac.mac_address)): mac for mac in queryset.order_by('-pk')}
    else:
        queryset = IPAddress.objects.annotate(host=Func(F('address'), function='HOST', output_field=CharField()))
        queryset = queryset.filter(host__in={key[1] for key in keys})
        matches = {(address.vrf_id, address.host): address for address in queryset}
    owners = {row.object_id: row for row in SyncedObject.objects.filter(
        object_type_id=state.type_id(kind), object_id__in=[obj.pk for obj in matches.values()])}
    for key, obj in matches.items():
        if key not in keys:
            continue
        if owner := owners.get(obj.pk):
            organization = owner.organization_id
            where = 'here' if organization == state.organization_id else f'for organization {organization}'
            note = (f'{obj} (#{obj.pk}) is already the plugin\'s, synced {where} as {kind_in_text(owner.kind)} '
                    f'{owner.meraki_id}.')
            candidates[keys[key]] = Candidate(obj, 'taken', note)
        else:
            # A port or MAC address on what the plugin owns is part of it: taken over, never made twice.
            candidates[keys[key]] = Candidate(obj, 'always' if kind in ('interface', 'macaddress') else 'adopt')
    return candidates


def left_to_people(kind, name, want, have):
    """
    Whether a field the record wants cleared holds what a person set: a site of a network bound to no template keeps
    the group a person gave it. The sync clears only a group of its own (the one it set while the network was bound).
    """
    return kind == 'site' and name == 'group' and want[name] is None and bool(have[name]) and have[name]['id'] is None


def adoption_candidates(kind, records, state):
    """natural_matches() for desired records."""
    if kind not in NATURAL_KEY_KINDS and not state.other_organizations:
        return {}
    return natural_matches(kind, {
        meraki_id: {name: to_json(value) for name, value in record.values.items()} for meraki_id, record in
        records.items()
    }, state)


class Planner:
    def __init__(self, run, records, snapshot, settings, state):
        self.run = run
        self.records = records
        self.snapshot = snapshot
        self.settings = settings
        self.state = state
        self.network_scope = set(run.network_ids)
        self.device_networks = snapshot.device_networks()
        self.unread_networks = snapshot.failed_networks
        self.template_names = {}  # device model -> names of its type's interface templates
        self.removed_objects = {}  # (kind, pk) -> the object a planned removal takes away
        self.changes = []

    def add(self, action, kind, meraki_id, label, network_id='', object_id=None, before=None, after=None):
        change = Change(
            run=self.run, sequence=len(self.changes), action=action, kind=kind, meraki_id=meraki_id,
            object_id=object_id, object_repr=str(label or meraki_id)[:200],
            scope=network_id or '', before=before or {}, after=after or {},
        )
        self.changes.append(change)
        return change

    def build(self):
        removable = [kind for kind in reversed(KIND_ORDER) if kind in REMOVAL_SOURCES and self.removals_allowed(kind)]
        for network_id in sorted(self.unread_networks & self.owned_networks()):
            self.run.log_line('warning', f'No removals planned in network {network_id}: it could not be read in full.')
        self.state.preload_neighbours([end.meraki_id for record in self.records['cable'].values()
                                       for end in (record.values['a'], record.values['b'])
                                       if end.kind == 'netboxinterface'])
        for kind in KIND_ORDER:
            if kind in EARLY_REMOVALS and kind in removable:
                self.plan_removals(kind)
            self.plan_upserts(kind)
        for kind in removable:
            if kind not in EARLY_REMOVALS:
                self.plan_removals(kind)
        if self.snapshot.stacks is not None:
            plan_stack_changes(self)
        self.check_cascades()
        sites = site_names(self.changes, self.state)
        hold_mass_removals(self.changes, self.state, self.settings.deletion_threshold, self.network_scope, sites)
        hold_stack_changes(self.changes, sites)
        for change in self.changes:
            # A cable that takes the place of one whose removal waits for review waits with it: its port is not free.
            held = [removal for removal in getattr(change, 'replaces', ()) if removal.state == ChangeStateChoices.HELD]
            if held and change.state == ChangeStateChoices.PENDING:
                change.state = ChangeStateChoices.HELD
                change.reason = f'Held for review until cable {held[0].object_repr} is removed: {held[0].reason}'[:500]
        for sequence, change in enumerate(self.changes):
            change.sequence = sequence
        return self.changes

    def owned_networks(self):
        return {row.network_id for rows in self.state.owned.values() for row in rows.values()}

    def removals_allowed(self, kind):
        if kind == 'virtualchassis' and self.snapshot.stacks is None:
            return False  # stacks are not read (the setting is off): virtual chassis are left as they are
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
        candidates = adoption_candidates(kind, desired, state) if kind not in UPDATE_KINDS else {}
        # An object this plan removes first (an address a removed device held) frees its natural key.
        removed = {change.object_id for change in self.changes
                   if change.kind == kind and change.action == ChangeActionChoices.DELETE}
        candidates = {meraki_id: candidate for meraki_id, candidate in candidates.items()
                      if candidate.obj.pk not in removed}
        create_only = KINDS[kind].create_only
        renames = []
        # A group this plan does not create (a person's of that name, not adopted) is not a reason to skip its sites:
        # their group is left as it is.
        ungrouped = {change.meraki_id for change in self.changes if change.kind == 'sitegroup'
                     and change.state == ChangeStateChoices.SKIPPED} if kind == 'site' else set()
        for meraki_id, record in desired.items():
            want = {name: to_json(value) for name, value in record.values.items()}
            if want.get('group') and want['group']['id'] in ungrouped:
                del want['group']
            row = state.object(UPDATE_KINDS.get(kind, kind), meraki_id)
            candidate = candidates.get(meraki_id)
            if row is not None:
                have = state.current_values(kind, row, want)
                differ = [name for name in want if want[name] != have[name] and name not in create_only
                          and name not in record.create_only and not left_to_people(kind, name, want, have)]
                if differ:
                    change = self.add(ChangeActionChoices.UPDATE, kind, meraki_id, record.label, record.network_id,
                                      row['pk'], before={name: have[name] for name in differ},
                                      after={name: want[name] for name in differ})
                    if kind == 'site' and 'name' in differ:
                        renames.append(change)
            elif kind in UPDATE_KINDS:
                # The object (device, interface, virtual chassis) is created by this plan: the update finds it by
                # identity when applied.
                if any(value is not None for value in want.values()):
                    self.add(ChangeActionChoices.UPDATE, kind, meraki_id, record.label, record.network_id, after=want)
            elif candidate and candidate.taken_over(self.settings.adopt_existing):
                have = state.current_values(kind, candidate.obj, want)
                want = {name: value for name, value in want.items() if not left_to_people(kind, name, want, have)}
                change = self.add(ChangeActionChoices.ADOPT, kind, meraki_id, record.label, record.network_id,
                                  candidate.obj.pk, before={name: have[name] for name in want}, after=want)
                change.reason = candidate.note[:500]
            elif candidate:
                change = self.add(ChangeActionChoices.CREATE, kind, meraki_id, record.label, record.network_id,
                                  after=want)
                change.state, change.reason = ChangeStateChoices.SKIPPED, candidate.reason()
            elif kind == 'cable':
                self.plan_cable(record, want)
            else:
                change = self.add(ChangeActionChoices.CREATE, kind, meraki_id, record.label, record.network_id,
                                  after=want)
                if kind == 'interface' and (why := self.beside_templates(record)):
                    change.state, change.reason = ChangeStateChoices.SKIPPED, why[:500]
        self.skip_taken_names(renames)

    def beside_templates(self, record):
        """
        Why a port is not created, when its device's type has interface templates and none has the port's name: it
        would be a second interface for a port the type already made (Meraki's `1` beside the template's `Port 1`).
        Virtual and wireless interfaces are the plugin's own additions.
        """
        if record.values.get('type', '') == 'virtual' or record.values.get('type', '').startswith('ieee802.11'):
            return ''
        model = self.records['device'][record.values['device'].meraki_id].values['device_type'].meraki_id
        if model not in self.template_names:
            device_type = self.state.pk('devicetype', model)
            self.template_names[model] = set(InterfaceTemplate.objects.filter(device_type_id=device_type).values_list(
                'name', flat=True)) if device_type else set()
        names = self.template_names[model]
        if not names or record.values['name'] in names:
            return ''
        return (f'Device type {model} has interface templates and none is named {record.values["name"]!r}: the port '
                f'is not created beside them. Map Meraki\'s port names to the templates\' with the interface-name '
                f'rules (for example 1 -> Port 1).')

    def skip_taken_names(self, renames):
        """
        Skip, saying why, the creations and renames of sites to a name another site holds, or that several of this
        organization's networks would take (site names are unique in NetBox): reported, never a failure.
        """
        claims = Counter(record.values['name'] for record in self.records['site'].values())
        named = renames + [change for change in self.changes if change.kind == 'site'
                           and change.action == ChangeActionChoices.CREATE and change.state == 'pending']
        taken = {site.name: site for site in Site.objects.filter(name__in=[change.after['name'] for change in named])}
        for change in named:
            name, site = change.after['name'], taken.get(change.after['name'])
            if site and site.pk != change.object_id:
                why = f'site {site} (#{site.pk}) already has the name {name!r}'
            elif claims[name] > 1:
                why = f'{claims[name]} networks of this organization would be named {name!r}'
            else:
                continue
            change.state = ChangeStateChoices.SKIPPED
            change.reason = (
                f'Not named: {why}, and site names are unique in NetBox. Rename one of them, or give the networks '
                f'distinct names with a site-name rule (it may use {{organization}}).'
            )[:500]

    def plan_cable(self, record, want):
        """A new cable, unless one of its ends is already cabled in NetBox: never a second cable on a port."""
        replaced = []
        for end in (record.values['a'], record.values['b']):
            if end.kind == 'netboxinterface':
                interface, problem = self.state.neighbour(end.meraki_id, self.local_site(record))
                if interface is None:
                    if problem:
                        self.run.log_line('warning', f'No cable {record.label}: {problem}.')
                    return  # the neighbour is not in NetBox, or not only once: nothing to connect to
                cable_id, label = interface.cable_id, f'{interface.device} {interface}'
            else:
                row = self.state.object(end.kind, end.meraki_id)
                cable_id, label = row and row['cable_id'], self.records[end.kind][end.meraki_id].label
            if cable_id:
                if (removal := self.cable_removal(cable_id)) is None:
                    change = self.add(ChangeActionChoices.CREATE, 'cable', record.meraki_id, record.label,
                                      record.network_id, after=want)
                    change.state = ChangeStateChoices.SKIPPED
                    change.reason = f'{label} already has cable #{cable_id}.'
                    return
                replaced.append(removal)
        change = self.add(ChangeActionChoices.CREATE, 'cable', record.meraki_id, record.label, record.network_id,
                          after=want)
        change.replaces = replaced

    def local_site(self, record):
        """The NetBox site of the Meraki device at a cable's own end, as this plan wants it."""
        local = next(end for end in (record.values['a'], record.values['b']) if end.kind == 'interface')
        device = self.records['device'][self.records['interface'][local.meraki_id].values['device'].meraki_id]
        return self.state.pk('site', device.values['site'].meraki_id)

    def cable_removal(self, cable_id):
        """The planned removal of a cable, if any."""
        return next((change for change in self.changes if change.kind == 'cable' and change.object_id == cable_id
                     and change.action == ChangeActionChoices.DELETE), None)

    def networks_of(self, meraki_id, row):
        """
        The networks an owned object may be in: its ownership record's, and that of any device its identity names
        (a serial, `serial:port/1`, a cable's `a|b`) as Meraki lists it now; the record lags behind a move until a run
        applies.
        """
        networks = {row.network_id}
        for token in re.split(r'[|:]', meraki_id):
            if token in self.device_networks:
                networks.add(self.device_networks[token])
        return networks

    def plan_removals(self, kind):
        spec, state = KINDS[kind], self.state
        policy = self.settings.policy_for(spec.policy or kind)
        desired = self.records[kind]
        gone = {}  # pk -> ownership record
        for meraki_id, row in state.owned[kind].items():
            if meraki_id in desired or policy == DeletePolicyChoices.KEEP:
                continue
            if self.network_scope and row.network_id not in self.network_scope:
                continue
            if self.networks_of(meraki_id, row) & self.unread_networks:
                continue  # that network's own calls failed: what it holds is unknown, not gone
            if (pk := state.ids[kind].get(meraki_id)) is not None:
                gone[pk] = row
        # The objects themselves, for their names and the cascade check: only for what goes, all in one query.
        objects = spec.model.objects.in_bulk(list(gone))
        for pk, row in gone.items():
            if (obj := objects.get(pk)) is None:
                continue
            self.removed_objects[kind, pk] = obj
            if policy == DeletePolicyChoices.DELETE:
                self.add(ChangeActionChoices.DELETE, kind, row.meraki_id, str(obj), row.network_id, pk,
                         before=state.current_values(kind, state.objects[kind][pk]))
            elif spec.mark:
                self.mark(kind, row.meraki_id, obj, row.network_id, reason=(
                    'Meraki no longer has it; the removal policy for this kind is "mark" (Cleanup settings).'))

    def mark(self, kind, meraki_id, obj, network_id, change=None, reason=''):
        """Plan a mark of the object (or turn `change` into one), unless it is marked already."""
        mark = {name: to_json(value) for name, value in KINDS[kind].mark.items()}
        have = self.state.current_values(kind, obj, mark)
        if have == mark:
            if change is not None:
                self.changes.remove(change)
            return
        if change is None:
            change = self.add(ChangeActionChoices.MARK, kind, meraki_id, str(obj), network_id, obj.pk)
        change.action, change.before, change.after, change.reason = ChangeActionChoices.MARK, have, mark, reason

    def check_cascades(self):
        """
        Turn into marks (or skip, for kinds that cannot be marked) the deletions that would take along what the plugin
        does not own, or owns and keeps. Children first: a child that stays makes its parent stay.
        """
        deletions = [change for change in self.changes if change.action == ChangeActionChoices.DELETE]
        if not deletions:
            return
        # What the plan updates may leave the object before it goes (an address moved to another port): the apply
        # checks again, with what is then still attached.
        check = CascadeCheck(self.state.organization_id, {
            (self.state.type_id(change.kind), change.object_id) for change in self.changes
            if change.action in (ChangeActionChoices.DELETE, ChangeActionChoices.UPDATE) and change.object_id
        })
        for change in sorted(deletions, key=lambda change: -KIND_ORDER.index(change.kind)):
            obj = self.removed_objects[change.kind, change.object_id]
            cascade = check.check(obj)
            change.cascade = cascade.entries
            if not cascade.blocked:
                continue
            check.removed.discard((self.state.type_id(change.kind), change.object_id))
            if KINDS[change.kind].mark:
                self.mark(change.kind, change.meraki_id, obj, change.scope, change, cascade.reason('marked'))
            else:
                change.state, change.reason = ChangeStateChoices.SKIPPED, cascade.reason('kept')


def removal_blockers(kind, snapshot):
    """The org-wide endpoints that failed and that a removal of `kind` depends on: removals need all of them read."""
    return [source for source in REMOVAL_SOURCES.get(kind, ()) if source in snapshot.errors]


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
        if change.kind == 'virtualchassis' and snapshot.stacks is None:
            return 'Its removal could not be confirmed: switch stacks are no longer read (the setting is off).'
        if failed := removal_blockers(change.kind, snapshot):
            return f'Its removal could not be confirmed: {", ".join(failed)} could not be read.'
        unread = [source for source, errors in snapshot.network_errors.items() if change.scope in errors]
        if unread:
            site = records['site'].get(change.scope)
            where = f'site {site.label}' if site else f'network {change.scope}'
            return f'Its removal could not be confirmed: {", ".join(unread)} of {where} could not be read.'
        return ''
    if change.kind in ('vcmember', 'vcmaster') and not any(change.after.values()):
        return ''  # a switch leaving its stack, or a master released first: planned from what NetBox holds
    if record is None:
        return 'Meraki no longer has it (or the settings leave it out) since the plan was made.'
    want = {name: to_json(value) for name, value in record.values.items()}
    changed = [name for name in change.after if want.get(name, change.after[name]) != change.after[name]]
    if changed:
        details = ', '.join(f'{name} is now {want[name]!r}' for name in changed)
        return f'Meraki changed since the plan was made ({details}).'
    return ''


def site_names(changes, state):
    """{network id: `site <name>`}: the site of each network, by the name the plan gives it or NetBox has for it."""
    names = {change.meraki_id: change.object_repr for change in changes if change.kind == 'site'}
    for network_id in {change.scope for change in changes if change.scope} - set(names):
        names[network_id] = (state.object('site', network_id) or {}).get('name') or network_id
    return {network_id: f'site {name}' for network_id, name in names.items()}


def hold_mass_removals(changes, state, threshold, network_scope, sites):
    """
    Hold removals for review when they would take away more than `threshold` percent of what the plugin owns
    of a kind, in one network or in the whole organization (sites: in the organization). A single removal
    is never held on its own. `sites` names the networks' sites (see site_names()).
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
                where = sites.get(key[1], key[1]) if key[1] else 'the organization'
                change.state = ChangeStateChoices.HELD
                change.reason = (
                    f'Held for review: this run would remove {count} of the {total} '
                    f'{KINDS[change.kind].model._meta.verbose_name_plural} the plugin owns in {where} '
                    f'({count * 100 // total}% > {threshold}%). Meraki may have answered incompletely.'
                )
                break
    # A network's removals stand or fall together: a device removed while its held interfaces wait would take them
    # along (NetBox deletes a device's interfaces with it), and a site cannot go while its held devices stay.
    held = {change.scope: change for change in removals if change.state == ChangeStateChoices.HELD and change.scope}
    for change in removals:
        if change.state != ChangeStateChoices.HELD and change.scope in held:
            change.state = ChangeStateChoices.HELD
            change.reason = (
                f'Held for review with the other removals in {sites.get(change.scope, change.scope)}: '
                f'{held[change.scope].reason.removeprefix("Held for review: ")}'
            )[:500]


def removal_scopes(kind, network_id):
    """The scopes a removal is weighed in: the organization, and the network for objects in one."""
    return [(kind, '')] if kind == 'site' or not network_id else [(kind, network_id), (kind, '')]
