"""
A lived-in NetBox: what the plugin meets in a real install, synced once for the whole package.

- Device types as the community device-type library creates them (interface and power-port templates), for the models
  of the first organization's branch: its devices get the library's interfaces (`Port 1`, `Internet 1`) when created.
- Two Meraki organizations, each with a network named CLASH.
- People's own sites, devices and VLANs, and a neighbour name two NetBox devices share, which a Meraki switch's LLDP
  neighbour advertises (a second port sees a neighbour whose name is unique).
- After a first sync of both organizations: objects made by hand under the plugin's own (a prefix in an owned site, an
  address on an owned interface, an interface on an owned device, a journal entry on it).

The baseline is committed; each test runs in a transaction rolled back after it, with the simulator given back as it
was: test modules set SHARED_BASELINE and get `simulator` and `meraki_config` from tests/reliability/conftest.py.
"""

from dataclasses import dataclass, field

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings

from dcim.models import (
    Device,
    DeviceRole,
    DeviceType,
    Interface,
    InterfaceTemplate,
    Manufacturer,
    PowerPort,
    PowerPortTemplate,
    Site,
)
from extras.models import CustomField, JournalEntry, TaggedItem
from ipam.models import VLAN, IPAddress, Prefix, VLANGroup

from meraki_sim import Scale, Simulator
from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices
from netbox_meraki.models import PluginSettings, SyncedObject

from ..conftest import API_KEY
from ..reliability.conftest import (  # noqa: F401 (fixtures used by the package's tests)
    WRITTEN_MODELS,
    high_water_marks,
    meraki_config,
    plugin_config,
    remove_rows_since,
    simulator,
    sync,
)

LIVED_IN_SCALE = Scale(organizations=2, networks=4, devices=16)
# The network name both organizations use.
CLASH = 'Sydney Branch 01'
# Ports of the first organization's branch switch whose LLDP neighbour is a device people keep in NetBox.
AMBIGUOUS_PORT, UNIQUE_PORT = '20', '21'
AMBIGUOUS_NEIGHBOUR = ('core-sw-01', 'GigabitEthernet1/0/48')  # two NetBox devices have this name
UNIQUE_NEIGHBOUR = ('dist-sw-01', 'GigabitEthernet1/0/1')
# Meraki's port names to the device-type library's: switch port 1 is `Port 1` and a switch's uplink man1 its
# `Management`, an appliance's wan1 `Internet 1` and its LAN port 3 `Port 3`.
INTERFACE_NAME_RULES = [
    {'models': '^MS', 'regex': r'^(?P<port>\d+)$', 'template': 'Port {port}'},
    {'models': '^MS', 'regex': 'man1', 'template': 'Management'},
    {'models': '^MX', 'regex': r'^wan(?P<number>\d)$', 'template': 'Internet {number}'},
    {'models': '^MX', 'regex': r'^(?P<port>\d+)$', 'template': 'Port {port}'},
]


def library_interfaces(names, kind, **extra):
    return [{'name': name, 'type': kind, **extra} for name in names]


# As netbox-community/devicetype-library has them (device-types/Cisco/Meraki-MS210-24P.yaml and Meraki-MX68.yaml).
# The library names the MX type "Meraki MX68"; the plugin finds a type by Meraki's model under its manufacturer, so
# the type is created as an operator who imported it for the plugin would name it.
LIBRARY_TYPES = {
    'MS210-24P': {
        'slug': 'ms210-24p',
        'part_number': 'MS210-24P-HW',
        'interfaces': [
            *library_interfaces([f'Port {n}' for n in range(1, 25)], '1000base-t'),
            *library_interfaces([f'Port {n}' for n in range(25, 29)], '1000base-x-sfp'),
            *library_interfaces(['Management'], '1000base-t', mgmt_only=True),
            *library_interfaces(['Dedicated Stack Port 1', 'Dedicated Stack Port 2'], '40gbase-x-qsfpp'),
        ],
        'power_ports': [
            {'name': 'Slot 1', 'type': 'iec-60320-c14', 'maximum_draw': 448},
            {'name': 'Cisco RPS 2300 connector for PSU failover', 'type': 'dc-terminal', 'maximum_draw': 448},
        ],
    },
    'MX68': {
        'slug': 'cisco-meraki-mx68',
        'part_number': 'MX68',
        'interfaces': [
            *library_interfaces(['USB'], 'lte'),
            *library_interfaces(['Internet 1', 'Internet 2'], '1000base-t'),
            *library_interfaces([f'Port {n}' for n in range(3, 11)], '1000base-t'),
            *library_interfaces(['Port 11', 'Port 12'], '1000base-t', poe_mode='pse', poe_type='type2-ieee802.3at'),
        ],
        'power_ports': [{'name': 'Slot 1', 'type': 'iec-60320-c14', 'maximum_draw': 79, 'allocated_draw': 11}],
    },
}


@dataclass
class LivedIn:
    """What the lived-in baseline holds: organization and network ids, Meraki serials, and the hand-made objects."""

    org_a: str
    org_b: str
    networks: dict  # role -> network id: 'clash_a', 'clash_b', 'campus_a', 'campus_b', 'wireless_a'
    serials: dict  # role -> serial: 'branch_switch', 'branch_appliance', 'campus_switch', 'wireless_ap'
    hand: dict = field(default_factory=dict)  # name -> pk of an object made by hand
    first_runs: dict = field(default_factory=dict)  # organization id -> the first sync's run pk


def network_with(org, *product_types):
    """The organization's first network whose product types are exactly these."""
    return next(network_id for network_id, network in sorted(org.networks.items())
                if set(network['productTypes']) == set(product_types))


def device_in(org, network_id, product_type):
    """The first device of this product type in the network."""
    return next(serial for serial, device in sorted(org.devices.items())
                if device['networkId'] == network_id and device['productType'] == product_type)


@pytest.fixture(scope='package')
def shared_simulator():
    """Two organizations; a network named CLASH in both; a branch switch whose LLDP neighbours people keep in NetBox."""
    with Simulator(seed=7, scale=LIVED_IN_SCALE, rate_limit=0, api_key=API_KEY) as sim:
        for org_id in sim.org_ids:
            branch = network_with(sim.dashboard.orgs[org_id], 'appliance', 'switch', 'wireless')
            sim.rename_network(branch, CLASH)
        org_a = sim.dashboard.orgs[sim.org_ids[0]]
        switch = device_in(org_a, network_with(org_a, 'appliance', 'switch', 'wireless'), 'switch')
        sim.connect_neighbour(switch, AMBIGUOUS_PORT, *AMBIGUOUS_NEIGHBOUR)
        sim.connect_neighbour(switch, UNIQUE_PORT, *UNIQUE_NEIGHBOUR)
        yield sim


def install_library_type(manufacturer, model, spec):
    """A device type with its templates, as the device-type library's import creates it."""
    device_type = DeviceType.objects.create(
        manufacturer=manufacturer, model=model, slug=spec['slug'], part_number=spec['part_number'], u_height=1,
        is_full_depth=False,
    )
    for values in spec['interfaces']:
        InterfaceTemplate.objects.create(device_type=device_type, **values)
    for values in spec['power_ports']:
        PowerPortTemplate.objects.create(device_type=device_type, **values)
    return device_type


def owned_pk(kind, meraki_id):
    return SyncedObject.objects.get(kind=kind, meraki_id=meraki_id).object_id


def make_before_first_sync(lived_in, sim):
    """Library device types, the plugin's settings, and people's own sites, devices and VLANs."""
    org_a = sim.dashboard.orgs[lived_in.org_a]
    models = {org_a.devices[lived_in.serials[role]]['model'] for role in ('branch_switch', 'branch_appliance')}
    assert models == set(LIBRARY_TYPES), (
        f'The simulator (seed 7) no longer puts {sorted(LIBRARY_TYPES)} in the branch: {sorted(models)}')
    settings = PluginSettings.load()
    settings.interface_name_rules = INTERFACE_NAME_RULES
    settings.save()
    meraki = Manufacturer.objects.create(name=settings.manufacturer_name, slug='cisco-meraki')
    for model, spec in LIBRARY_TYPES.items():
        install_library_type(meraki, model, spec)

    hand = lived_in.hand
    cisco = Manufacturer.objects.create(name='Cisco', slug='cisco')
    catalyst = DeviceType.objects.create(manufacturer=cisco, model='C9300-48P', slug='c9300-48p')
    core = DeviceRole.objects.create(name='Core switch', slug='core-switch', color='3f51b5')
    sites = [Site.objects.create(name=name, slug=name.lower().replace(' ', '-'), description='Our own data centre')
             for name in ('HQ Datacenter', 'DR Datacenter')]
    hand['site'] = sites[0].pk
    hand['core_sw'] = []
    for site in sites:
        device = Device.objects.create(name=AMBIGUOUS_NEIGHBOUR[0], site=site, device_type=catalyst, role=core)
        Interface.objects.create(device=device, name=AMBIGUOUS_NEIGHBOUR[1], type='10gbase-x-sfpp')
        hand['core_sw'].append(device.pk)
    dist = Device.objects.create(name=UNIQUE_NEIGHBOUR[0], site=sites[0], device_type=catalyst, role=core)
    hand['dist_sw'] = dist.pk
    hand['dist_sw_interface'] = Interface.objects.create(
        device=dist, name=UNIQUE_NEIGHBOUR[1], type='1000base-t').pk
    group = VLANGroup.objects.create(name='HQ VLANs', slug='hq-vlans', scope=sites[0])
    hand['vlan'] = VLAN.objects.create(group=group, vid=300, name='Printers').pk


def make_after_first_sync(lived_in):
    """Objects people add under the plugin's own: in an owned site, on an owned device and interface."""
    hand = lived_in.hand
    site = Site.objects.get(pk=owned_pk('site', lived_in.networks['clash_a']))
    hand['prefix'] = Prefix.objects.create(prefix='10.200.0.0/24', scope=site, description='Printers (by hand)').pk
    device = Device.objects.get(pk=owned_pk('device', lived_in.serials['campus_switch']))
    hand['interface'] = Interface.objects.create(device=device, name='Loopback0', type='virtual').pk
    uplink = SyncedObject.objects.filter(
        kind='interface', meraki_id__startswith=f'{device.serial}:').order_by('meraki_id').first()
    hand['ip'] = IPAddress.objects.create(
        address='192.0.2.10/24', assigned_object=Interface.objects.get(pk=uplink.object_id),
        description='Out-of-band address (by hand)',
    ).pk
    hand['journal'] = JournalEntry.objects.create(
        assigned_object=device, kind='info', comments='Replaced the power supply under RMA.').pk


@pytest.fixture(scope='package')
def baseline(shared_simulator, test_database, django_db_blocker):  # noqa: F811
    """The lived-in NetBox, committed: both organizations synced once, in auto mode, between the hand-made objects."""
    sim = shared_simulator
    orgs = [sim.dashboard.orgs[org_id] for org_id in sim.org_ids]
    clash = [network_with(org, 'appliance', 'switch', 'wireless') for org in orgs]
    campus = [network_with(org, 'appliance', 'camera', 'cellularGateway', 'sensor', 'switch', 'wireless')
              for org in orgs]
    wireless = network_with(orgs[0], 'wireless')
    lived_in = LivedIn(
        org_a=orgs[0].id, org_b=orgs[1].id,
        networks={'clash_a': clash[0], 'clash_b': clash[1], 'campus_a': campus[0], 'campus_b': campus[1],
                  'wireless_a': wireless},
        serials={'branch_switch': device_in(orgs[0], clash[0], 'switch'),
                 'branch_appliance': device_in(orgs[0], clash[0], 'appliance'),
                 'campus_switch': device_in(orgs[0], campus[0], 'switch'),
                 'wireless_ap': device_in(orgs[0], wireless, 'wireless')},
    )
    with django_db_blocker.unblock(), override_settings(PLUGINS_CONFIG=plugin_config(sim)):
        assert CustomField.objects.filter(name='meraki_firmware').exists(), (
            'The test database lost its migration data: a transactional test ran before this package.')
        marks = high_water_marks()
        try:
            make_before_first_sync(lived_in, sim)
            for org_id in sim.org_ids:
                lived_in.first_runs[org_id] = sync(org_id).pk
            make_after_first_sync(lived_in)
            yield lived_in
        finally:
            remove_rows_since(marks)


# Objects as stored, to show that a run deleted or changed none of them.

DUMPED_MODELS = (*WRITTEN_MODELS, JournalEntry, InterfaceTemplate, PowerPortTemplate, PowerPort)


def derived(name):
    """Fields NetBox computes (counters, caches, cable paths) or stamps: a cable to a hand-made port changes them."""
    return name == 'last_updated' or name.startswith(('_', 'cable_')) or name.endswith('_count')


def owned_objects(organization_id=None):
    """{(content type id, pk)} of the objects the plugin owns (for one organization's runs, or for all)."""
    rows = SyncedObject.objects.all()
    if organization_id is not None:
        rows = rows.filter(organization_id=organization_id)
    return set(rows.values_list('object_type_id', 'object_id'))


def object_dump(skip=frozenset(), only=None):
    """
    {(model name, pk): (label, values)} of the objects of the models a sync touches, as stored, with their tags and
    without derived fields: all but those in `skip`, or only those in `only` ({(content type id, pk)}).
    """
    dump = {}
    for model in DUMPED_MODELS:
        type_id = ContentType.objects.get_for_model(model).pk
        tags = {}
        for object_id, slug in TaggedItem.objects.filter(content_type_id=type_id).values_list(
                'object_id', 'tag__slug'):
            tags.setdefault(object_id, []).append(slug)
        for row in model.objects.values():
            key = (type_id, row['id'])
            if key in skip or (only is not None and key not in only):
                continue
            values = {name: value for name, value in row.items() if not derived(name)}
            values['tags'] = sorted(tags.get(row['id'], []))
            name = next((str(row[key]) for key in ('name', 'prefix', 'address', 'model', 'comments') if row.get(key)),
                        '')
            dump[(model.__name__, row['id'])] = (f'{model.__name__} #{row["id"]} {name[:40]}', values)
    return dump


def template_components():
    """
    {(model, pk): device pk} of the interfaces and power ports NetBox made from their device's type when it was
    created: they are part of the device and go with it.
    """
    made = {}
    for model, template in ((Interface, InterfaceTemplate), (PowerPort, PowerPortTemplate)):
        names = set(template.objects.values_list('device_type_id', 'name'))
        for pk, device_id, type_id, name in model.objects.values_list('pk', 'device_id', 'device__device_type_id',
                                                                      'name'):
            if (type_id, name) in names:
                made[(model.__name__, pk)] = device_id
    return made


def assert_untouched(before, after, components=None, whose='the plugin does not own'):
    """
    Nothing in the dump `before` was deleted or changed in `after`. A component made from its device type's templates
    may go with its device (`components`, from template_components()).
    """
    components = components or {}
    devices = set(Device.objects.values_list('pk', flat=True))
    lost = [label for key, (label, _values) in before.items() if key not in after
            and not (key in components and components[key] not in devices)]
    changed = []
    for key, (label, values) in before.items():
        if key in after:
            now = after[key][1]
            changed += [f'{label} {name}: {value!r} -> {now.get(name)!r}' for name, value in values.items()
                        if now.get(name) != value]
    assert not lost, f'Objects {whose} were deleted: {lost[:20]}'
    assert not changed, f'Objects {whose} were changed: {changed[:20]}'


def unexplained_removals(runs):
    """Removals of the runs that were skipped, held or turned into a mark without a reason."""
    done = (ChangeStateChoices.APPLIED, ChangeStateChoices.PENDING, ChangeStateChoices.APPROVED)
    return [
        f'run #{run.pk}: {change.action} {change.kind} {change.object_repr} ({change.state})'
        for run in runs for change in run.changes.filter(
            action__in=(ChangeActionChoices.DELETE, ChangeActionChoices.MARK))
        if (change.action == ChangeActionChoices.MARK or change.state not in done) and not change.reason.strip()
    ]
