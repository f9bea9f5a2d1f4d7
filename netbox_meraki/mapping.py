"""
Map: pure functions from a Snapshot to the desired NetBox state, as Records keyed by Meraki identity.
No database access here: everything the mapping needs comes in as arguments. This module maps
organizations' networks, devices and uplinks; mapping_network.py maps what lives inside networks.
"""

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.text import slugify
from netaddr import EUI, AddrFormatError

from dcim.fields import mac_unix_expanded_uppercase

from .rules import apply_interface_name_rules, apply_site_name_rules, transform_name

__all__ = ('KIND_ORDER', 'TENANT_KINDS', 'MappingOptions', 'Record', 'Ref', 'interface_name', 'map_snapshot')

# Apply order: what a kind refers to comes before it. Removals run in the reverse order.
KIND_ORDER = (
    'manufacturer', 'devicetype', 'role', 'platform', 'tenant', 'vrf', 'sitegroup', 'site', 'vlangroup', 'wlangroup',
    'virtualchassis', 'device', 'vcmember', 'vcmaster', 'vlan', 'prefix', 'wirelesslan', 'interface', 'ipaddress',
    'primaryip', 'macaddress', 'primarymac', 'cable',
)
# Kinds shared by every organization and matched by name: created when missing, never changed or deleted. A tenant is
# one of them: people may already have one for the organization, and other objects of theirs may use it.
REFERENCE_KINDS = ('manufacturer', 'devicetype', 'role', 'platform', 'tenant')
# The owned kinds whose NetBox model has a tenant: with `tenant_per_organization`, each gets the organization's.
TENANT_KINDS = ('vrf', 'site', 'vlangroup', 'device', 'vlan', 'prefix', 'wirelesslan', 'ipaddress', 'cable')

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
PROTOCOL_VERSIONS = {'ipv4': 4, 'ipv6': 6}
# The interface that carries a device's LAN IP when no uplink has it: where the device is managed on its LAN.
MANAGEMENT_INTERFACE = 'Management'
# Meraki's own management uplinks (`man1` of a switch, an access point, a camera): an uplink of this name that carries
# the LAN IP is the device's management interface. A WAN uplink that carries it (an appliance's) carries traffic too.
MANAGEMENT_UPLINK = re.compile(r'^man\d*$')
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
    # Fields set when the object is created and then left alone, for this record only (see KindSpec.create_only).
    create_only: tuple = ()


@dataclass
class MappingOptions:
    manufacturer_name: str = 'Cisco Meraki'
    role_names: dict = field(default_factory=dict)
    status_map: dict = field(default_factory=dict)
    site_name_rules: list = field(default_factory=list)
    name_transforms: dict = field(default_factory=dict)
    prefix_filters: dict = field(default_factory=dict)
    vrf_per_network: bool = True
    sync_disabled_ssids: bool = False
    sync_inventory: bool = False
    inventory_site_name: str = 'Meraki inventory'
    interface_name_rules: list = field(default_factory=list)
    tenant_per_organization: bool = False
    # Site names the plugin's sites of other organizations hold: a network named like one of them gets
    # "<name> (<organization>)" (site names are unique in NetBox).
    taken_site_names: frozenset = frozenset()
    # The same for site groups (top-level group names are unique in NetBox too).
    taken_group_names: frozenset = frozenset()
    # Slugs NetBox's sites and site groups hold: {slug: the Meraki id of this organization's object that holds it, or ''
    # for anyone else's}. A new slug that one of them holds takes the Meraki id (see unique_slugs).
    site_slugs: dict = field(default_factory=dict)
    group_slugs: dict = field(default_factory=dict)

    def name(self, kind, name):
        return transform_name(name, self.name_transforms.get(kind))


def site_name(network, options, organization=''):
    name = (network.get('name') or network['id']).strip()
    return distinct_site_name(
        options.name('site', apply_site_name_rules(name, options.site_name_rules, organization)), options, organization,
    )


def distinct_site_name(name, options, organization):
    """The site name, or "<name> (<organization>)" when another organization's site has it."""
    return distinct_name(name, options.taken_site_names, organization)


def distinct_name(name, taken, organization):
    """The name, or "<name> (<organization>)" when it is in `taken` (another organization's object has it)."""
    if name[:100] in taken and organization:
        name = f'{name} ({organization})'
    return name[:100]


def unique_slugs(names, holders):
    """
    {Meraki id: slug} for {Meraki id: name}: the name's slug, or the slug with the Meraki id added where it would not be
    unique: two of the names give it, or NetBox holds it on an object other than this Meraki id's (`holders`, as
    MappingOptions.site_slugs). Both of two names that clash take their id, so neither depends on the order of a read.
    """
    plain = {meraki_id: slugify(name)[:100] for meraki_id, name in names.items()}
    given = Counter(plain.values())
    slugs = {}
    for meraki_id, slug in plain.items():
        if not slug or given[slug] > 1 or holders.get(slug, meraki_id) != meraki_id:
            suffix = slugify(meraki_id)[:100]
            slug = f'{slug[:100 - len(suffix) - 1]}-{suffix}' if slug else suffix
        slugs[meraki_id] = slug
    return slugs


def device_name(device, options=None):
    """The device's name, or its serial when it has none (stable, unique and recognisable in Meraki)."""
    name = (device.get('name') or '').strip()
    if not name:
        return device['serial']
    return (options.name('device', name) if options else name)[:NAME_MAX]


def platform_name(device):
    """
    The platform of a device: the firmware it runs ('switch-16-8'), or None when Meraki gives none, or a status in
    its place (a version has a digit; a remark such as 'Not running configured version' has none).
    """
    firmware = (device.get('firmware') or '').strip()[:100]
    return firmware if any(character.isdigit() for character in firmware) else None


def dashboard_url(item):
    """The Dashboard page of a network or device, when Meraki gives a web address (NetBox refuses other schemes)."""
    url = (item.get('url') or '').strip()
    return url if url.startswith(('https://', 'http://')) else None


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
    """
    Meraki gives uplink addresses without a mask: record them as single hosts. None for an address that is not an
    IP address of the protocol ('ipv4', 'ipv6') it is given as.
    """
    try:
        ip = ipaddress.ip_address(address)
    except (TypeError, ValueError):
        return None
    if protocol in PROTOCOL_VERSIONS and ip.version != PROTOCOL_VERSIONS[protocol]:
        return None
    return f'{ip}/{32 if ip.version == 4 else 128}'


def primary_address_key(serial, uplinks, protocol='ipv4'):
    """
    The identity of the first uplink address of a protocol a host is reached at (not link-local): the device's primary
    address for that protocol when it has no LAN IP (IPv4), or always (IPv6).
    """
    for uplink in uplinks:
        interface = (uplink.get('interface') or '').strip()
        for address in uplink.get('addresses') or []:
            host = host_address(address.get('address'), protocol)
            if not interface or address.get('protocol') != protocol or host is None:
                continue
            ip = ipaddress.ip_interface(host).ip
            if ip.is_link_local or ip.is_multicast or ip.is_loopback or ip.is_unspecified:
                continue
            return f'{serial}:{interface}:{protocol}'
    return None


class Records(dict):
    """{kind: {meraki_id: Record}} with the problems found on the way."""

    def __init__(self):
        super().__init__((kind, {}) for kind in KIND_ORDER)
        self.problems = []

    def add(self, record):
        self[record.kind][record.meraki_id] = record


def map_snapshot(snapshot, options):
    """
    Return (records, problems): records is {kind: {meraki_id: Record}}, only for the kinds whose source
    endpoints were read; problems lists objects that could not be mapped, with the reason.
    """
    from .mapping_network import map_network_contents, map_stacks

    records = Records()
    records.problems.extend(snapshot.invalid)
    networks = {network['id']: network for network in snapshot.networks or []}
    devices_by_network = {}
    for device in snapshot.devices or []:
        devices_by_network.setdefault(device.get('networkId'), []).append(device)
    organization = str(snapshot.organization.get('name') or snapshot.organization.get('id') or '')
    templates = map_config_templates(snapshot.config_templates, options, organization, records)
    slugs = unique_slugs(
        {network_id: site_name(network, options, organization) for network_id, network in networks.items()},
        options.site_slugs,
    )
    for network_id, network in networks.items():
        records.add(map_network(network, devices_by_network.get(network_id, []), options, organization, templates,
                                slugs[network_id]))

    if snapshot.devices is not None:
        map_devices(snapshot, networks, options, records)
        if snapshot.uplinks is not None:
            # A device the uplink list gives without an address is managed at its LAN IP. One it leaves out is left
            # alone: an uplink list that comes back short must not move every device's primary IP.
            devices = {device['serial']: device for device in snapshot.devices}
            for item in snapshot.uplinks:
                if (device := records['device'].get(item['serial'])) is not None:
                    meraki_device = devices.get(item['serial'], {})
                    map_uplinks(item['serial'], item.get('uplinks') or [], device, meraki_device.get('lanIp'),
                                options, records, meraki_device.get('mac'), lan_subnets(snapshot, device.network_id))
        map_network_contents(snapshot, networks, devices_by_network, options, records)
        if snapshot.stacks is not None:
            map_stacks(snapshot, networks, devices_by_network, records)
    if options.tenant_per_organization and organization:
        map_tenant(snapshot.organization, organization, records)
    return records, records.problems


def map_config_templates(templates, options, organization, records):
    """
    Each configuration template becomes a site group of its name ("<name> (<organization>)" when another
    organization's group has it). Returns the templates' ids, or None when they could not be read (then sites' groups
    are left as they are).
    """
    if templates is None:
        return None
    names = {
        template['id']: distinct_name(
            (template.get('name') or template['id']).strip(), options.taken_group_names, organization)
        for template in templates
    }
    slugs = unique_slugs(names, options.group_slugs)
    for template_id, name in names.items():
        records.add(Record('sitegroup', template_id, {
            'name': name,
            'slug': slugs[template_id],
            'description': f'Meraki configuration template {template_id}'[:200],
        }, label=name))
    return {template['id'] for template in templates}


def map_tenant(organization, name, records):
    """The organization's tenant, named after it, on every object of the kinds that have one."""
    name = name[:100]
    records.add(Record('tenant', name, {
        'name': name, 'slug': slugify(name)[:100] or f'meraki-{organization.get("id", "")}',
    }, label=name))
    for kind in TENANT_KINDS:
        for record in records[kind].values():
            record.values['tenant'] = Ref('tenant', name)


def map_devices(snapshot, networks, options, records):
    statuses = {item['serial']: item.get('status') for item in snapshot.availabilities or []}
    manufacturer = options.manufacturer_name
    records.add(Record('manufacturer', 'meraki', {'name': manufacturer, 'slug': slugify(manufacturer)},
                       label=manufacturer))
    inventory_site = f'inventory:{snapshot.organization.get("id", "")}'
    unassigned = [item for item in snapshot.inventory or [] if not item.get('networkId')]
    if options.sync_inventory and unassigned:
        name = distinct_site_name(options.inventory_site_name, options, str(snapshot.organization.get('name') or ''))
        records.add(Record('site', inventory_site, {
            'name': name, 'slug': slugify(f'{name}-{inventory_site}')[:100], 'status': 'active',
            'description': 'Claimed Meraki devices that are in no network',
        }, label=name))

    for device, network_id in [(d, d.get('networkId')) for d in snapshot.devices] + [
        (d, inventory_site) for d in (unassigned if options.sync_inventory else [])
    ]:
        serial = device['serial']
        model = (device.get('model') or '').strip()
        if not model:
            records.problems.append(f'device {serial}: no model')
            continue
        if network_id not in networks and network_id != inventory_site:
            # A device of a network outside this run's scope, or of a network that could not be read.
            continue
        product_type = device.get('productType') or 'unknown'
        if model not in records['devicetype']:
            records.add(Record('devicetype', model, {
                'manufacturer': Ref('manufacturer', 'meraki'),
                'model': model,
                'slug': slugify(f'meraki-{model}'),
                'part_number': model,
                'u_height': '0' if model.upper().startswith(UNRACKED_PREFIXES) else '1',
            }, label=model))
        if product_type not in records['role']:
            role = options.role_names.get(product_type) or product_type
            records.add(Record('role', product_type, {
                'name': role, 'slug': slugify(role), 'color': ROLE_COLORS.get(product_type, '9e9e9e'),
            }, label=role))
        firmware = platform_name(device)
        if firmware and firmware not in records['platform']:
            records.add(Record('platform', firmware, {
                'manufacturer': Ref('manufacturer', 'meraki'),
                'name': firmware,
                # Dots would vanish from the slug: 'MX 18.1.07' and 'MX 18.10.7' must not share one.
                'slug': slugify(firmware.replace('.', '-'))[:100],
            }, label=firmware))
        values = {
            'name': device_name(device, options),
            'site': Ref('site', network_id),
            'device_type': Ref('devicetype', model),
            'role': Ref('role', product_type),
            'platform': Ref('platform', firmware) if firmware else None,
            'serial': serial,
            'latitude': coordinate(device.get('lat'), 90),
            'longitude': coordinate(device.get('lng'), 180),
            'cf_meraki_firmware': (device.get('firmware') or '')[:100] or None,
            'cf_meraki_mac': (device.get('mac') or '').lower() or None,
            'cf_meraki_url': dashboard_url(device),
        }
        if network_id == inventory_site:
            values['status'] = 'inventory'
        elif snapshot.availabilities is not None and statuses.get(serial) in options.status_map:
            values['status'] = options.status_map[statuses[serial]]
        records.add(Record('device', serial, values, network_id=network_id, label=values['name']))


def map_network(network, devices, options, organization, templates, slug):
    """
    A network becomes a site; `devices` are the network's own devices, `organization` its organization's name,
    `templates` the ids of the organization's configuration templates (None: they could not be read), `slug` the
    site's slug (unique_slugs()).
    """
    # Meraki keeps addresses on devices: a site takes the address most of its devices share.
    addresses = {}
    for device in devices:
        if (device.get('address') or '').strip():
            key = (device['address'].strip(), device.get('lat'), device.get('lng'))
            addresses[key] = addresses.get(key, 0) + 1
    address, lat, lng = max(sorted(addresses, key=str), key=addresses.get) if addresses else ('', None, None)
    name = site_name(network, options, organization)
    values = {
        'name': name,
        'slug': slug,
        'status': 'active',
        'time_zone': network.get('timeZone') or None,
        'physical_address': address[:200],
        'latitude': coordinate(lat, 90),
        'longitude': coordinate(lng, 180),
        'description': re.sub(r'\s+', ' ', network.get('notes') or '')[:200],
        'cf_meraki_url': dashboard_url(network),
    }
    # The group of a network's template; none for a network bound to no template (the plan clears only a group it set:
    # see plan.left_to_people). A template Meraki did not list, or templates not read: the group is left alone.
    template = network.get('configTemplateId') if network.get('isBoundToConfigTemplate', True) else None
    if templates is not None and not template:
        values['group'] = None
    elif templates is not None and template in templates:
        values['group'] = Ref('sitegroup', template)
    return Record('site', network['id'], values, network_id=network['id'], label=name)


def network_vrf(network_id, options, records):
    """The network's VRF (created on first use), or None when addresses live in the global table."""
    site = records['site'].get(network_id)
    if not options.vrf_per_network or site is None:
        return None
    if network_id not in records['vrf']:
        records.add(Record('vrf', network_id, {
            'name': site.values['name'], 'description': f'Meraki network {network_id}',
        }, network_id=network_id, label=site.values['name']))
    return Ref('vrf', network_id)


def map_uplinks(serial, uplinks, device, lan_ip, options, records, mac=None, subnets=()):
    """
    A device's uplinks become interfaces with their addresses, and its primary IPs. The LAN IP is on the device's
    management interface (see management_interface), with the mask of the network's subnet that holds it, and is the
    primary IPv4; without one, the first uplink IPv4 address is. IPv6 comes from the uplinks.
    """
    lan_host = host_address(lan_ip, 'ipv4') if lan_ip else None
    if lan_ip and lan_host is None:
        records.problems.append(f'device {serial}: invalid LAN IP {lan_ip!r}')
    lan = lan_record_values(lan_host, subnets)
    carrier = None  # the uplink that carries the LAN IP
    for uplink in uplinks:
        interface = (uplink.get('interface') or '').strip()
        if not interface:
            records.problems.append(f'device {serial}: uplink without an interface name')
            continue
        interface_id = f'{serial}:{interface}'
        values = {
            'device': Ref('device', serial),
            'name': interface_name(interface, device, options),
            'type': UPLINK_TYPES.get(interface, '1000base-t'),
            'enabled': True,
        }
        records.add(Record('interface', interface_id, values, network_id=device.network_id,
                           label=f'{device.values["name"]} {interface}'))
        for address in uplink.get('addresses') or []:
            protocol = address.get('protocol') or 'ipv4'
            host = host_address(address.get('address'), protocol)
            if host is None:
                records.problems.append(f'device {serial} {interface}: invalid address {address.get("address")!r}')
                continue
            public = (address.get('public') or {}).get('address')
            is_lan = protocol == 'ipv4' and host == lan_host and carrier is None
            address_values = {
                'address': lan['address'] if is_lan else host,
                'vrf': address_vrf(host, device, options, records),
                'status': 'active',
                'assigned_object': Ref('interface', interface_id),
                'description': f'public {public}' if public else '',
            }
            records.add(Record('ipaddress', f'{interface_id}:{protocol}', address_values, network_id=device.network_id,
                               label=host, create_only=lan['create_only'] if is_lan else ()))
            if is_lan:
                carrier = interface
                if MANAGEMENT_UPLINK.match(interface):
                    values['mgmt_only'] = True
    primary = {}
    if lan_host:
        management = f'{serial}:{carrier}' if carrier else management_interface(serial, device, lan, options, records)
        primary['primary_ip4'] = Ref('ipaddress', f'{management}:ipv4')
        if mac_address := normalized_mac(mac):
            # The device's MAC on the interface it is managed through, as that interface's primary MAC.
            records.add(Record('macaddress', f'{management}:mac', {
                'mac_address': mac_address, 'assigned_object': Ref('interface', management),
            }, network_id=device.network_id, label=mac_address))
            records.add(Record('primarymac', management, {
                'primary_mac_address': Ref('macaddress', f'{management}:mac'),
            }, network_id=device.network_id, label=records['interface'][management].label))
    elif ipv4 := primary_address_key(serial, uplinks):
        primary['primary_ip4'] = Ref('ipaddress', ipv4)
    if ipv6 := primary_address_key(serial, uplinks, 'ipv6'):
        primary['primary_ip6'] = Ref('ipaddress', ipv6)
    if primary:
        # Only what Meraki gives: a primary IP a person set where Meraki has none is left alone.
        records.add(Record('primaryip', serial, primary, network_id=device.network_id, label=device.values['name']))


def lan_subnets(snapshot, network_id):
    """
    The network's LAN subnets as the snapshot has them (its appliance's VLANs, or its single LAN), or None when its
    VLANs could not be read: then the mask of a LAN IP is not known.
    """
    if snapshot.network_failed('vlans', network_id):
        return None
    subnets = [vlan.get('subnet') for vlan in snapshot.vlans.get(network_id, [])]
    if network_id in snapshot.single_lan:
        subnets.append(snapshot.single_lan[network_id].get('subnet'))
    networks = []
    for subnet in subnets:
        try:
            networks.append(ipaddress.ip_network(subnet, strict=False))
        except (TypeError, ValueError):
            continue  # reported with the network's prefixes
    return networks


def lan_record_values(lan_host, subnets):
    """
    The LAN IP as an address record holds it: with the mask of the smallest of the network's subnets that contains it
    (a host address when none does, or when it is that subnet's network or broadcast address, which NetBox refuses on
    an interface), and, when the subnets could not be read, `create_only` so that an address keeps its mask.
    """
    if lan_host is None:
        return {'address': None, 'create_only': ()}
    ip = ipaddress.ip_interface(lan_host).ip
    holding = [subnet for subnet in subnets or () if subnet.version == 4 and ip in subnet]
    address = lan_host
    if holding:
        subnet = max(holding, key=lambda subnet: subnet.prefixlen)
        if subnet.prefixlen >= 31 or ip not in (subnet.network_address, subnet.broadcast_address):
            address = f'{ip}/{subnet.prefixlen}'
    return {'address': address, 'create_only': ('address',) if subnets is None else ()}


def normalized_mac(mac):
    """A MAC address as NetBox shows it (`00:18:0A:12:34:56`), or None when it is not one."""
    try:
        return str(EUI(mac, version=48, dialect=mac_unix_expanded_uppercase)) if mac else None
    except (AddrFormatError, TypeError, ValueError):
        return None


def interface_name(port, device, options):
    """
    A device's port or uplink as NetBox names it: Meraki's name through the interface-name rules, so that it is the
    interface the device type's templates made (`1` -> `Port 1`, `wan1` -> `Internet 1`), never a second one.
    """
    model = device.values['device_type'].meraki_id
    return apply_interface_name_rules(port, model, options.interface_name_rules)[:NAME_MAX]


def address_vrf(host, device, options, records):
    """Private addresses repeat from network to network: they live in the network's VRF. Public ones are global."""
    if ipaddress.ip_interface(host).ip.is_private:
        return network_vrf(device.network_id, options, records)
    return None


def management_interface(serial, device, lan, options, records):
    """
    A management interface for a LAN IP that no uplink carries (virtual and management-only: Meraki says nothing of the
    port it is reached through), named through the interface-name rules, with the address. Returns its identity.
    """
    interface_id = f'{serial}:management'
    records.add(Record('interface', interface_id, {
        'device': Ref('device', serial), 'name': interface_name(MANAGEMENT_INTERFACE, device, options),
        'type': 'virtual', 'enabled': True, 'mgmt_only': True, 'description': 'Meraki LAN IP',
    }, network_id=device.network_id, label=f'{device.values["name"]} {MANAGEMENT_INTERFACE}'))
    records.add(Record('ipaddress', f'{interface_id}:ipv4', {
        'address': lan['address'], 'vrf': address_vrf(lan['address'], device, options, records), 'status': 'active',
        'assigned_object': Ref('interface', interface_id), 'description': '',
    }, network_id=device.network_id, label=lan['address'], create_only=lan['create_only']))
    return interface_id
