"""
Map: pure functions from a Snapshot to the desired NetBox state, as Records keyed by Meraki identity.
No database access here: everything the mapping needs comes in as arguments.
"""

import ipaddress
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.text import slugify

__all__ = ('KIND_ORDER', 'MappingOptions', 'Record', 'Ref', 'map_snapshot')

# Apply order: what a kind refers to comes before it. Deletions run in the reverse order.
KIND_ORDER = ('manufacturer', 'devicetype', 'role', 'site', 'device', 'interface', 'ipaddress', 'primaryip')
# Kinds shared by every organization and matched by name: created when missing, never changed or deleted.
REFERENCE_KINDS = ('manufacturer', 'devicetype', 'role')

# Models that are not rack-mounted (access points, cameras, sensors, small gateways) take no rack units.
UNRACKED_PREFIXES = ('MR', 'CW', 'MV', 'MT', 'MG', 'Z')
ROLE_COLORS = {
    'appliance': 'f44336',
    'switch': '2196f3',
    'wireless': '4caf50',
    'cellularGateway': 'ff9800',
    'camera': '9c27b0',
    'sensor': '607d8b',
    'systemsManager': '795548',
}
UPLINK_TYPES = {'cellular': 'lte'}
NAME_MAX = 64


@dataclass(frozen=True)
class Ref:
    """A reference from one record to another, by Meraki identity."""

    kind: str
    meraki_id: str


@dataclass
class Record:
    """One desired NetBox object: its kind, Meraki identity, field values and the network it belongs to."""

    kind: str
    meraki_id: str
    values: dict
    network_id: str = ''
    label: str = ''
    tags: tuple = field(default=('meraki',))


@dataclass
class MappingOptions:
    manufacturer_name: str = 'Cisco Meraki'
    role_names: dict = field(default_factory=dict)
    status_map: dict = field(default_factory=dict)


def site_name(network):
    return (network.get('name') or network['id']).strip()[:100]


def device_name(device):
    """The device's name, or its serial when it has none (stable, unique and recognisable in Meraki)."""
    name = (device.get('name') or '').strip()
    return name[:NAME_MAX] if name else device['serial']


def coordinate(value, limit):
    """A latitude (limit 90) or longitude (limit 180) as NetBox stores it: six decimals, or None if invalid."""
    if value in (None, ''):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal('0.000001'))
    except ArithmeticError:
        return None
    return str(number) if -limit <= number <= limit else None


def host_address(address, protocol):
    """Meraki gives uplink addresses without a mask: record them as single hosts."""
    try:
        ip = ipaddress.ip_address(address)
    except (TypeError, ValueError):
        return None
    return f'{ip}/{32 if ip.version == 4 else 128}'


def primary_address_key(serial, uplinks, lan_ip):
    """The uplink address that best represents the device: its LAN IP if listed, else the first IPv4."""
    first = None
    for uplink in uplinks:
        for address in uplink.get('addresses') or []:
            if address.get('protocol') != 'ipv4' or not host_address(address.get('address'), 'ipv4'):
                continue
            key = f"{serial}:{uplink['interface']}:ipv4"
            if lan_ip and address.get('address') == lan_ip:
                return key
            first = first or key
    return first


def map_snapshot(snapshot, options):
    """
    Return (records, problems): records is {kind: {meraki_id: Record}}, only for the kinds whose source
    endpoints were read; problems lists objects that could not be mapped, with the reason.
    """
    records = {kind: {} for kind in KIND_ORDER}
    problems = list(snapshot.invalid)

    def add(record):
        records[record.kind][record.meraki_id] = record

    networks = {network['id']: network for network in snapshot.networks or []}
    devices_by_network = {}
    for device in snapshot.devices or []:
        devices_by_network.setdefault(device.get('networkId'), []).append(device)
    for network in networks.values():
        add(map_network(network, devices_by_network.get(network['id'], [])))

    if snapshot.devices is None:
        return records, problems

    statuses = {item['serial']: item.get('status') for item in snapshot.availabilities or []}
    manufacturer = options.manufacturer_name
    add(Record('manufacturer', 'meraki', {'name': manufacturer, 'slug': slugify(manufacturer)}, label=manufacturer))
    for device in snapshot.devices:
        serial = device['serial']
        network_id = device.get('networkId')
        model = (device.get('model') or '').strip()
        if not model:
            problems.append(f'device {serial}: no model')
            continue
        if network_id not in networks:
            # A device of a network outside this run's scope, or of a network that could not be read.
            continue
        product_type = device.get('productType') or 'unknown'
        if model not in records['devicetype']:
            add(Record('devicetype', model, {
                'manufacturer': Ref('manufacturer', 'meraki'),
                'model': model,
                'slug': slugify(f'meraki-{model}'),
                'part_number': model,
                'u_height': '0' if model.upper().startswith(UNRACKED_PREFIXES) else '1',
            }, label=model, tags=()))
        if product_type not in records['role']:
            role = options.role_names.get(product_type) or product_type
            add(Record('role', product_type, {
                'name': role, 'slug': slugify(role), 'color': ROLE_COLORS.get(product_type, '9e9e9e'),
            }, label=role, tags=()))
        values = {
            'name': device_name(device),
            'site': Ref('site', network_id),
            'device_type': Ref('devicetype', model),
            'role': Ref('role', product_type),
            'serial': serial,
            'latitude': coordinate(device.get('lat'), 90),
            'longitude': coordinate(device.get('lng'), 180),
            'cf_meraki_firmware': (device.get('firmware') or '')[:100] or None,
            'cf_meraki_mac': (device.get('mac') or '').lower() or None,
        }
        if snapshot.availabilities is not None and statuses.get(serial) in options.status_map:
            values['status'] = options.status_map[statuses[serial]]
        add(Record('device', serial, values, network_id=network_id, label=values['name']))

    if snapshot.uplinks is not None:
        devices = records['device']
        lan_ips = {device['serial']: device.get('lanIp') for device in snapshot.devices}
        for item in snapshot.uplinks:
            serial = item['serial']
            if serial not in devices:
                continue
            map_uplinks(item, devices[serial], lan_ips.get(serial), add, problems)
    return records, problems


def map_network(network, devices):
    """A network becomes a site; `devices` are the network's own devices."""
    # Meraki keeps addresses on devices: a site takes the address most of its devices share.
    addresses = {}
    for device in devices:
        if (device.get('address') or '').strip():
            key = (device['address'].strip(), device.get('lat'), device.get('lng'))
            addresses[key] = addresses.get(key, 0) + 1
    address, lat, lng = max(sorted(addresses, key=str), key=addresses.get) if addresses else ('', None, None)
    name = site_name(network)
    return Record('site', network['id'], {
        'name': name,
        'slug': slugify(f"{name}-{network['id']}")[:100] or network['id'].lower(),
        'status': 'active',
        'time_zone': network.get('timeZone') or None,
        'physical_address': address[:200],
        'latitude': coordinate(lat, 90),
        'longitude': coordinate(lng, 180),
        'description': re.sub(r'\s+', ' ', network.get('notes') or '')[:200],
    }, network_id=network['id'], label=name)


def map_uplinks(item, device, lan_ip, add, problems):
    serial = item['serial']
    for uplink in item.get('uplinks') or []:
        interface = (uplink.get('interface') or '').strip()
        if not interface:
            problems.append(f'device {serial}: uplink without an interface name')
            continue
        interface_id = f'{serial}:{interface}'
        add(Record('interface', interface_id, {
            'device': Ref('device', serial),
            'name': interface,
            'type': UPLINK_TYPES.get(interface, '1000base-t'),
            'enabled': True,
        }, network_id=device.network_id, label=f'{device.values["name"]} {interface}'))
        for address in uplink.get('addresses') or []:
            protocol = address.get('protocol') or 'ipv4'
            host = host_address(address.get('address'), protocol)
            if host is None:
                problems.append(f'device {serial} {interface}: invalid address {address.get("address")!r}')
                continue
            public = (address.get('public') or {}).get('address')
            add(Record('ipaddress', f'{interface_id}:{protocol}', {
                'address': host,
                'status': 'active',
                'assigned_object': Ref('interface', interface_id),
                'description': f'public {public}' if public else '',
            }, network_id=device.network_id, label=host))
    primary = primary_address_key(serial, item.get('uplinks') or [], lan_ip)
    if primary:
        add(Record('primaryip', serial, {'primary_ip4': Ref('ipaddress', primary)},
                   network_id=device.network_id, label=device.values['name'], tags=()))
