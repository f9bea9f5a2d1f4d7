"""
Writing changes together (creations and updates of one kind at a time, see apply.Applier.write_together) leaves
NetBox exactly as applying them one by one does: the same plan, applied by each path into the same NetBox (the test's
database; each path in a savepoint, dumped, then rolled back), gives equal dumps of every table a sync touches (the
objects with their counters and cached fields, many-to-many rows, tags, changelog, search cache, ownership, the plan's
outcomes) and the same events, once ids and times are normalised. With changes NetBox refuses mid-group too.
"""

import json
import re
from collections import Counter, defaultdict

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, transaction
from django.test import TestCase

from core.models import Job, ObjectChange
from dcim.models import (
    CablePath,
    CableTermination,
    Device,
    DeviceType,
    Interface,
    InterfaceTemplate,
    Manufacturer,
    PowerPort,
    PowerPortTemplate,
)
from dcim.utils import decompile_path_node
from extras.models import CachedValue, TaggedItem
from ipam.models import IPAddress

from netbox_meraki import apply, events
from netbox_meraki.apply import apply_changes
from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.kinds import KINDS
from netbox_meraki.models import Change, PluginSettings, SyncedObject, SyncRun
from netbox_meraki.plan import NetBoxState
from netbox_meraki.sync import MerakiSyncService, apply_review, approve_changes, sync_user

pytestmark = pytest.mark.django_db

MODELS = tuple(dict.fromkeys(spec.model for spec in KINDS.values()))
# What differs between two applies of one plan by construction: when and under which request id.
TIMES = ('created', 'last_updated', 'time', 'timestamp', 'last_synced')


def sync(org_id, mode):
    (run,) = MerakiSyncService().sync_all(mode=mode, organization_ids=[org_id], background=False)
    return run


class Dump:
    """
    Every table a sync writes, as comparable rows: an object is named by what it is (its Meraki identity, or its name
    for objects the plugin does not own), never by its id, which depends on the order rows were inserted in.
    """

    def __init__(self, marks):
        self.marks = marks  # the highest id of each model before the apply: objects up to it are the same in both
        self.owned = {(row.object_type_id, row.object_id): f'{row.kind}:{row.meraki_id}'
                      for row in SyncedObject.objects.all()}
        self.names = {}
        self.run_type = ContentType.objects.get_for_model(SyncRun)

    def identity(self, model, pk):
        if pk is None or model is None:
            return pk
        type_id = ContentType.objects.get_for_model(model).pk
        if (type_id, pk) in self.owned:
            return self.owned[type_id, pk]
        if not isinstance(pk, int) or pk <= self.marks.get(model, 0):
            return pk
        if (model, pk) not in self.names:
            obj = model.objects.filter(pk=pk).first()
            if isinstance(obj, CablePath):  # its name is its id
                name = ' '.join(str(self.identity(type(origin), origin.pk)) for origin in obj.origins)
            else:  # what it holds
                row = self.values(model, {field.attname: getattr(obj, field.attname)
                                          for field in model._meta.concrete_fields})
                name = json.dumps(row, sort_keys=True, default=str)
            self.names[model, pk] = f'{model._meta.label}:{name}'
        return self.names[model, pk]

    def by_type(self, type_id, pk):
        return self.identity(ContentType.objects.get_for_id(type_id).model_class() if type_id else None, pk)

    def values(self, model, data, attnames=True):
        """A row (`attnames`) or NetBox's serialized form of an object, with references named and times dropped."""
        values = {}
        for key, value in data.items():
            if key in TIMES or key in ('id', 'path'):  # an ltree path is made of ids
                continue
            if key == 'tags':  # names
                values[key] = sorted(value)
                continue
            if key in ('a_terminations', 'b_terminations'):  # a cable's ends
                values[key] = sorted(str(self.identity(CableTermination, pk)) for pk in value)
                continue
            name = key[:-3] if attnames and key.endswith('_id') else key
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
            base = key[:-3] if key.endswith('_id') else None
            type_key = next((k for k in (f'{base}_type_id', f'{base}_type') if base and k in data), None)
            if type_key:  # a generic foreign key's id, named by its type
                value = self.by_type(data[type_key], value)
            elif field is not None and field.many_to_many and isinstance(value, list):
                value = sorted(map(str, (self.identity(field.related_model, pk) for pk in value)))
            elif field is not None and field.is_relation and field.related_model not in (None, ContentType) and (
                    field.many_to_one or field.one_to_one):
                value = self.identity(field.related_model, value)
            values[key] = value
        return values

    def objects(self, model):
        rows = []
        many = [field.name for field in model._meta.many_to_many if field.name != 'tags']
        for obj in model.objects.prefetch_related(*many):
            row = self.values(model, {field.attname: getattr(obj, field.attname)
                                      for field in model._meta.concrete_fields})
            for name in many:
                field = model._meta.get_field(name)
                row[name] = sorted(str(self.identity(field.related_model, item.pk))
                                   for item in getattr(obj, name).all())
            rows.append((str(self.identity(model, obj.pk)), row))
        return sorted(rows, key=lambda item: item[0])

    def changelog(self, request_id):
        rows = []
        for change in ObjectChange.objects.filter(request_id=request_id):
            model = change.changed_object_type.model_class()
            rows.append({
                'action': change.action, 'user': change.user_name, 'repr': re.sub(r'#\d+', '#n', change.object_repr),
                'object': str(self.by_type(change.changed_object_type_id, change.changed_object_id)),
                'related': str(self.by_type(change.related_object_type_id, change.related_object_id)),
                'before': self.values(model, change.prechange_data or {}, attnames=False),
                'after': self.values(model, change.postchange_data or {}, attnames=False),
            })
        return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))

    def cable_paths(self):
        rows = [([[str(self.by_type(*decompile_path_node(node))) for node in step] for step in path.path],
                 path.is_active, path.is_complete, path.is_split) for path in CablePath.objects.all()]
        return sorted(rows, key=str)

    def tables(self, run):
        return {
            **{model._meta.label: self.objects(model) for model in (*MODELS, CableTermination, PowerPort)},
            'paths': self.cable_paths(),
            'changelog': self.changelog(run.request_id),
            'tags': sorted((row.tag_id, str(self.by_type(row.content_type_id, row.object_id)))
                           for row in TaggedItem.objects.all()),
            # Not the run's own entries: its record (not what it applied) differs between the runs in its times.
            'search': sorted((str(self.by_type(row.object_type_id, row.object_id)), row.field, row.type, row.value,
                              row.weight) for row in CachedValue.objects.exclude(object_type=self.run_type)),
            # Background jobs queued by NetBox's signals (rendering config contexts), with what they are for.
            'jobs': sorted((job.name, job.object_type_id, job.object_id, job.status) for job in Job.objects.all()),
            'ownership': sorted((row.kind, row.meraki_id, str(self.by_type(row.object_type_id, row.object_id)),
                                 row.organization_id, row.network_id) for row in SyncedObject.objects.all()),
            'plan': [(change.sequence, change.kind, change.meraki_id, change.action, change.state,
                      re.sub(r'(#|dcim.interface |cable )\d+', r'\1n', change.reason), change.before, change.after,
                      str(self.identity(KINDS[change.kind].model, change.object_id)))
                     for change in run.changes.order_by('sequence')],
        }

    def event(self, event):
        model = event['object_type'].model_class()
        snapshots = {name: self.values(model, data or {}, attnames=False)
                     for name, data in (event.get('snapshots') or {}).items()}
        data = json.dumps(event['data'], sort_keys=True, default=str)
        data = re.sub(r'"(\w*id|cable)": \d+', r'"\1": 0', re.sub(r'#\d+', '#n', data))
        data = re.sub(r'"(created|last_updated)": "[^"]*"', '', re.sub(r'/\d+/', '/n/', data))
        return str(self.identity(model, event['object_id'])), event['event_type'], snapshots, data


def apply_review_here(run):
    return apply_review(run, background=False)


def apply_approved(run):
    """Apply the run's approved changes as a review does, without checking them against Meraki first."""
    changes = list(run.changes.filter(state=ChangeStateChoices.APPROVED).order_by('sequence'))
    state = NetBoxState(run.organization_id, PluginSettings.load(), with_objects=False)
    apply_changes(run, changes, state, sync_user())
    Change.objects.bulk_update(changes, ('state', 'reason'))
    return run


class Writes:
    """
    Counts the statements that insert rows, and those that save rows again (an update that sets last_updated, as
    save() does; not a counter's), by table: ('INSERT', 'dcim_device'), ('UPDATE', 'dcim_device').
    """

    def __init__(self):
        self.count = defaultdict(int)

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "') or (sql.startswith('UPDATE "') and '"last_updated" =' in sql):
            self.count[sql.split()[0], sql.split('"')[1]] += 1
        return execute(sql, params, many, context)


def applied(run, monkeypatch, together, how=apply_review_here):
    """Apply the run's approved changes by one path; return the dump of what it left and the events it sent."""
    marks = {model: max(model.objects.values_list('pk', flat=True), default=0)
             for model in (*MODELS, CableTermination, PowerPort)}
    with transaction.atomic():
        sent = []
        with monkeypatch.context() as patch:
            if not together:
                patch.setattr(apply, 'TOGETHER', frozenset())
            patch.setattr(events, 'flush_events', sent.append)
            # Runs what the apply leaves for its commit: the events it sends, NetBox's search indexing.
            writes = Writes()
            with TestCase.captureOnCommitCallbacks(execute=True), connection.execute_wrapper(writes):
                run = how(SyncRun.objects.get(pk=run.pk))
        dump = Dump(marks)
        result = dump.tables(run), sorted((dump.event(event) for batch in sent for event in batch), key=str), run.status
        transaction.set_rollback(True)
    return (*result, writes.count)


def first_difference(rows, expected):
    """Where two dumps of a table first differ, to say it in the failure."""
    for row, wanted in zip(rows, expected):
        if row != wanted:
            if isinstance(row, tuple) and len(row) == 2 and isinstance(row[1], dict):
                keys = sorted(set(row[1]) | set(wanted[1]))
                return row[0], [(key, row[1].get(key), wanted[1].get(key)) for key in keys
                                if row[1].get(key) != wanted[1].get(key)]
            if isinstance(row, tuple) and len(row) == len(wanted):  # an event: the part that differs
                part, other = next((a, b) for a, b in zip(row, wanted) if a != b)
                if isinstance(part, str):
                    at = next(i for i, (a, b) in enumerate(zip(part, other)) if a != b)
                    part, other = part[max(0, at - 200):at + 100], other[max(0, at - 200):at + 100]
                return row[0], part, other
            return row, wanted
    return len(rows), len(expected)


def assert_same(run, monkeypatch, how=apply_review_here):
    one_by_one = applied(run, monkeypatch, together=False, how=how)
    together = applied(run, monkeypatch, together=True, how=how)
    for name, rows in one_by_one[0].items():
        assert together[0][name] == rows, (name, first_difference(together[0][name], rows))
    assert together[1] == one_by_one[1], first_difference(together[1], one_by_one[1])
    assert together[2] == one_by_one[2]
    return one_by_one[:3], together[3]


def test_a_first_sync_written_together_is_the_same_as_one_by_one(meraki_config, org_id, monkeypatch):
    run = sync(org_id, SyncModeChoices.REVIEW)
    approve_changes(run)

    (tables, sent, status), writes = assert_same(run, monkeypatch)

    assert status == RunStatusChoices.COMPLETED
    assert {row[4] for row in tables['plan']} == {ChangeStateChoices.APPLIED}
    # Written together: new devices, interfaces, cables and their terminations go in an insert per group, not one each.
    assert writes['INSERT', 'dcim_device'] * 4 < len(tables['dcim.Device'])
    assert writes['INSERT', 'dcim_interface'] * 10 < len(tables['dcim.Interface'])
    assert writes['INSERT', 'dcim_cable'] * 4 < len(tables['dcim.Cable'])
    assert writes['INSERT', 'dcim_cabletermination'] * 4 < len(tables['dcim.CableTermination'])
    assert writes['INSERT', 'dcim_macaddress'] * 4 < len(tables['dcim.MACAddress'])
    # Updates too: devices' primary IPs and interfaces' primary MAC addresses in a statement per group.
    updates = Counter(row[1] for row in tables['plan'] if row[3] == ChangeActionChoices.UPDATE)
    assert writes['UPDATE', 'dcim_device'] * 4 < updates['primaryip'], dict(writes)
    assert writes['UPDATE', 'dcim_interface'] * 4 < updates['primarymac'], writes['UPDATE', 'dcim_interface']
    assert tables['paths'] and all(complete for _, _, complete, _ in tables['paths'])
    kinds = {row[1] for row in tables['plan']}
    assert {'site', 'device', 'vlan', 'prefix', 'wirelesslan', 'interface', 'ipaddress', 'primaryip', 'macaddress',
            'primarymac', 'cable'} <= kinds
    assert any(row['tagged_vlans'] for _, row in tables['dcim.Interface'])  # many-to-many rows are compared
    assert any(row['wireless_lans'] for _, row in tables['dcim.Interface'])
    assert tables['search'] and tables['tags'] and tables['jobs'] and sent


def test_updates_written_together_are_the_same_as_one_by_one(meraki_config, org_id, simulator, monkeypatch):
    sync(org_id, SyncModeChoices.AUTO)
    devices = sorted(Device.objects.values_list('serial', flat=True))
    networks = sorted(SyncedObject.objects.filter(kind='site').values_list('meraki_id', flat=True))
    for number, serial in enumerate(devices[:6]):
        simulator.rename_device(serial, f'renamed-{number}')
    simulator.edit_device(devices[6], notes='moved to the second floor')
    simulator.set_device_status(devices[7], 'offline')
    # A device of another model: its type changes, and both types' device counts with it.
    models = dict(Device.objects.values_list('serial', 'device_type__model'))
    simulator.edit_device(devices[8], model=next(model for model in models.values() if model != models[devices[8]]))
    simulator.rename_network(networks[0], 'Renamed network')
    simulator.add_device(networks[1], model='MS120-8LP')
    run = sync(org_id, SyncModeChoices.REVIEW)
    approve_changes(run)

    (tables, _, _), _ = assert_same(run, monkeypatch)

    updates = [row for row in tables['plan'] if row[3] == ChangeActionChoices.UPDATE]
    assert len([row for row in updates if row[1] == 'device']) >= 7
    assert any('device_type' in row[7] for row in updates if row[1] == 'device')
    assert {row[4] for row in tables['plan']} == {ChangeStateChoices.APPLIED}


def test_changes_netbox_refuses_mid_group_fail_alone_as_one_by_one(meraki_config, org_id, monkeypatch, caplog):
    run = sync(org_id, SyncModeChoices.REVIEW)
    interfaces = list(run.changes.filter(kind='interface').order_by('sequence'))
    invalid_type, duplicate, original = interfaces[2], interfaces[5], interfaces[4]
    invalid_type.after = {**invalid_type.after, 'type': 'warp-drive'}
    # A second port of the same name on a device: the database refuses it when the group is written together, and
    # the group is written again one by one, where the second port is seen as made since the plan.
    duplicate.after = {**duplicate.after, 'name': original.after['name'], 'device': original.after['device']}
    addresses = list(run.changes.filter(kind='ipaddress').order_by('sequence'))
    address = addresses[1]
    address.after = {**address.after, 'address': '10.0.0.300/24'}
    # Two new addresses of one host in one VRF (no database constraint holds them apart): the second is not created.
    first, twin = next((a, b) for a in addresses[2:] for b in addresses[2:]
                       if a.sequence < b.sequence and a.after['vrf'] == b.after['vrf'])
    twin.after = {**twin.after, 'address': first.after['address']}
    # Two new cables on one port: the second is refused by NetBox's validation.
    cables = list(run.changes.filter(kind='cable').order_by('sequence'))
    cable, second_cable = cables[1], cables[3]
    second_cable.after = {**second_cable.after, 'b': cable.after['a']}
    # A cable from a port to itself, and one to a port made virtual: NetBox refuses both, for what their ends are.
    looped, to_virtual = cables[4], next(change for change in cables[5:] if change.after['b']['ref'] == 'interface')
    looped.after = {**looped.after, 'b': looped.after['a']}
    virtual = next(change for change in interfaces if change.meraki_id == to_virtual.after['b']['id'])
    virtual.after = {**virtual.after, 'type': 'virtual', 'poe_mode': None, 'poe_type': None}
    Change.objects.bulk_update([invalid_type, duplicate, address, twin, second_cable, looped, to_virtual, virtual],
                               ('after',))
    approve_changes(run)

    (tables, _, _), _ = assert_same(run, monkeypatch, how=apply_approved)

    outcomes = {row[0]: (row[4], row[5]) for row in tables['plan']}
    assert outcomes[invalid_type.sequence][0] == ChangeStateChoices.FAILED, outcomes[invalid_type.sequence]
    assert 'warp-drive' in outcomes[invalid_type.sequence][1]
    assert outcomes[duplicate.sequence][0] == ChangeStateChoices.CONFLICT
    assert 'not created twice' in outcomes[duplicate.sequence][1]
    assert 'applying them one by one' in caplog.text
    assert outcomes[address.sequence][0] in (ChangeStateChoices.FAILED, ChangeStateChoices.SKIPPED)
    assert outcomes[first.sequence][0] == ChangeStateChoices.APPLIED
    assert outcomes[twin.sequence][0] == ChangeStateChoices.CONFLICT
    assert 'not created twice' in outcomes[twin.sequence][1]
    assert outcomes[cable.sequence][0] == ChangeStateChoices.APPLIED
    assert outcomes[second_cable.sequence] == (ChangeStateChoices.FAILED, outcomes[second_cable.sequence][1])
    assert 'Duplicate termination' in outcomes[second_cable.sequence][1]
    assert outcomes[looped.sequence] == (ChangeStateChoices.FAILED, outcomes[looped.sequence][1])
    assert 'cannot connect to the same object' in outcomes[looped.sequence][1]
    assert outcomes[to_virtual.sequence] == (ChangeStateChoices.FAILED, outcomes[to_virtual.sequence][1])
    assert 'Virtual interfaces' in outcomes[to_virtual.sequence][1]
    assert {row[4] for row in tables['plan'] if row[1] == 'cable' and row[0] not in {
        second_cable.sequence, looped.sequence, to_virtual.sequence}} == {ChangeStateChoices.APPLIED}
    failed = {invalid_type.sequence, duplicate.sequence, address.sequence}
    # Everything else of their groups was written.
    assert all(row[4] == ChangeStateChoices.APPLIED for row in tables['plan']
               if row[1] == 'interface' and row[0] not in failed)
    assert Interface.objects.count() == 0 and IPAddress.objects.count() == 0  # both rolled back


def test_a_first_sync_into_device_types_with_templates_is_the_same_as_one_by_one(meraki_config, org_id, monkeypatch):
    """A lived-in NetBox: the switches' types come with templates, so new switches get ports NetBox makes."""
    run = sync(org_id, SyncModeChoices.REVIEW)
    changes = list(run.changes.order_by('sequence'))
    models = {change.meraki_id: change.after['device_type']['id'] for change in changes if change.kind == 'device'}
    ports = defaultdict(set)
    for change in changes:
        if change.kind == 'interface' and models[change.after['device']['id']].startswith('MS'):
            ports[models[change.after['device']['id']]].add(change.after['name'])
    assert ports
    manufacturer = Manufacturer.objects.create(name=PluginSettings.load().manufacturer_name, slug='cisco-meraki')
    for model, names in ports.items():
        device_type = DeviceType.objects.create(manufacturer=manufacturer, model=model, slug=model.lower())
        for name in [*sorted(names)[1:], 'console']:  # one port NetBox does not make, one Meraki does not list
            InterfaceTemplate.objects.create(device_type=device_type, name=name, type='1000base-t')
        PowerPortTemplate.objects.create(device_type=device_type, name='PSU1')
    approve_changes(run)

    (tables, _, status), _ = assert_same(run, monkeypatch)

    assert status == RunStatusChoices.COMPLETED
    adopted = [row for row in tables['plan'] if row[1] == 'interface' and row[3] == ChangeActionChoices.ADOPT]
    created = [row for row in tables['plan'] if row[1] == 'interface' and row[3] == ChangeActionChoices.CREATE]
    assert adopted and created
    assert tables['dcim.PowerPort'] and any(name.endswith('/console') or 'console' in name
                                            for name, _ in tables['dcim.Interface'])
