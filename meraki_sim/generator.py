"""Deterministic generation of a Dashboard from a seed and a scale.

The same seed and scale always give the same data: every random choice comes from ``random.Random`` streams
seeded here, and timestamps are fixed offsets from a constant date.
"""

import ipaddress
import random
from dataclasses import dataclass
from datetime import timedelta

from .catalog import (
    CITIES,
    DEVICE_TAGS,
    EPOCH,
    FAMILY_PRODUCT,
    FIRMWARE,
    NETWORK_TAGS,
    ORG_NAMES,
    STREETS,
    device_url,
    model_info,
    pick_model,
    timestamp,
)
from .dashboard import Dashboard, OrgData
from .ids import IdFactory
from .layout import AddressPool, SiteLayout

__all__ = ('SCALES', 'Scale', 'generate', 'resolve_scale')


@dataclass(frozen=True)
class Scale:
    """Size of a generated Dashboard.

    ``devices`` is the number of devices assigned to networks in each organization (unassigned inventory comes
    on top, about 3%); ``networks`` is per organization and defaults to one network per 16 devices.
    """

    organizations: int = 1
    networks: int | None = None
    devices: int = 45

    def __post_init__(self):
        if self.organizations < 1 or self.devices < 0 or (self.networks is not None and self.networks < 1):
            raise ValueError(f'Invalid scale {self}')

    @property
    def networks_per_org(self):
        """Networks in each organization."""
        return self.networks if self.networks is not None else max(1, round(self.devices / 16))


SCALES = {
    'small': Scale(organizations=1, networks=6, devices=45),
    'medium': Scale(organizations=1, networks=60, devices=1000),
    'large': Scale(organizations=1, networks=600, devices=10000),
}


def resolve_scale(scale):
    """Turn a scale name or a Scale into a Scale."""
    if isinstance(scale, Scale):
        return scale
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f'Unknown scale {scale!r}; use one of {", ".join(SCALES)} or a Scale') from None


def generate(seed=0, scale='small'):
    """Generate a Dashboard. Equal seeds and scales give equal Dashboards."""
    scale = resolve_scale(scale)
    rng = random.Random(seed)
    ids = IdFactory(random.Random(f'{seed}:ids'))
    orgs = {}
    for index in range(scale.organizations):
        org = OrgGenerator(rng, ids, index).build(scale.networks_per_org, scale.devices)
        orgs[org.id] = org
    return Dashboard(seed=seed, scale=scale, orgs=orgs, ids=ids)


# Kinds of site. Each network is one of these; the first organizations get one of each, in this order.
PROFILES = ('branch', 'campus', 'wireless', 'security', 'teleworker', 'warehouse')
PROFILE_PICK = (35, 12, 15, 10, 18, 10)
PROFILE_LABEL = {
    'branch': 'Branch',
    'campus': 'Campus',
    'wireless': 'Wi-Fi',
    'security': 'Security',
    'teleworker': 'Teleworker',
    'warehouse': 'Warehouse',
}
PROFILE_PRODUCTS = {
    'branch': ('appliance', 'switch', 'wireless'),
    'campus': ('appliance', 'camera', 'cellularGateway', 'sensor', 'switch', 'wireless'),
    'wireless': ('wireless',),
    'security': ('camera', 'sensor'),
    'teleworker': ('appliance',),
    'warehouse': ('switch', 'wireless'),
}
# Kinds of site whose networks are bound to a configuration template (one per kind).
TEMPLATED_PROFILES = ('branch', 'wireless', 'teleworker')
MIN_SIZE = {'branch': 3, 'campus': 6, 'wireless': 1, 'security': 2, 'teleworker': 1, 'warehouse': 2}
SIZE_WEIGHT = {'branch': 1.0, 'campus': 3.0, 'wireless': 0.6, 'security': 0.5, 'teleworker': 0.0, 'warehouse': 1.0}
ROLE = {'MX': 'mx', 'Z': 'z', 'MS': 'sw', 'MR': 'ap', 'MG': 'mg', 'MV': 'cam', 'MT': 'sensor'}
STATUSES = (('online', 86), ('offline', 7), ('alerting', 5), ('dormant', 2))


def plan_networks(rng, count, devices):
    """Choose a profile and a device count for each network; the counts add up to ``devices``."""
    profiles = [PROFILES[i] if i < len(PROFILES) else rng.choices(PROFILES, PROFILE_PICK)[0] for i in range(count)]
    minimums = [MIN_SIZE[profile] for profile in profiles]
    # Too few devices for every site's minimum: the last sites become wireless networks, which may be empty.
    index = count - 1
    while sum(minimums) > devices and index >= 0:
        profiles[index], minimums[index] = 'wireless', 0
        index -= 1
    weights = [SIZE_WEIGHT[profile] * rng.uniform(0.5, 1.5) for profile in profiles]
    if not any(weights):
        weights = [1.0] * count
    remaining = devices - sum(minimums)
    total = sum(weights)
    exact = [remaining * weight / total for weight in weights]
    shares = [int(value) for value in exact]
    # Largest remainder, so the sizes add up exactly.
    by_remainder = sorted(range(count), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: remaining - sum(shares)]:
        shares[i] += 1
    return [(profile, low + share) for profile, low, share in zip(profiles, minimums, shares, strict=True)]


def families_for(profile, size, rng):
    """Hardware families of a site's devices, appliances first."""
    if profile == 'teleworker':
        return ['Z'] + ['MR'] * (size - 1)
    if profile == 'wireless':
        return ['MR'] * size
    if profile == 'security':
        cameras = min(size - 1, max(1, round(size * 0.6)))
        return ['MV'] * cameras + ['MT'] * (size - cameras)
    if profile == 'warehouse':
        switches = max(1, round(size * 0.25))
        return ['MS'] * switches + ['MR'] * (size - switches)
    if profile == 'branch':
        switches = max(1, round(size * 0.18))
        cameras = min(round(size * 0.08), size - 2 - switches) if rng.random() < 0.5 else 0
        return ['MX'] + ['MS'] * switches + ['MR'] * (size - 1 - switches - cameras) + ['MV'] * cameras
    # campus: an HA pair of appliances at bigger sites, and one of every family
    appliances = 2 if size >= 40 else 1
    switches = max(1, round(size * 0.2))
    cameras = max(1, round(size * 0.1))
    sensors = max(1, round(size * 0.08))
    aps = size - appliances - 1 - switches - cameras - sensors
    while aps < 1:
        switches, aps = switches - 1, aps + 1
    return ['MX'] * appliances + ['MG'] + ['MS'] * switches + ['MR'] * aps + ['MV'] * cameras + ['MT'] * sensors


class OrgGenerator:
    """Builds one organization."""

    def __init__(self, rng, ids, index):
        self.rng = rng
        self.ids = ids
        self.index = index
        self.shard = rng.randrange(100, 400)
        self.names = set()
        # Per-organization address pools, so unique subnets do not collide inside the organization.
        self.pools = {
            '10': AddressPool(ipaddress.ip_network('10.0.0.0/8')),
            '172': AddressPool(ipaddress.ip_network('172.16.0.0/12')),
        }

    def build(self, networks, devices):
        """Generate the organization with its networks, devices and inventory."""
        org_id = self.ids.number(6)
        base = ORG_NAMES[self.index % len(ORG_NAMES)]
        name = base if self.index < len(ORG_NAMES) else f'{base} {self.index // len(ORG_NAMES) + 1}'
        organization = {
            'id': org_id,
            'name': name,
            'url': f'https://n{self.shard}.meraki.com/o/{self.ids.token(6)}/manage/organization/overview',
            'api': {'enabled': True},
            'licensing': {'model': 'per-device'},
            'cloud': {'region': {'name': 'North America', 'host': {'name': 'United States'}}},
            'management': {'details': []},
        }
        self.org = OrgData(organization=organization)
        profiles = {}
        for number, (profile, size) in enumerate(plan_networks(self.rng, networks, devices), start=1):
            profiles[self.build_network(number, profile, size)] = profile
        self.bind_to_templates(profiles)
        for _ in range(max(2, round(devices * 0.03))):
            self.add_unassigned()
        self.org.config_changes = self.history()
        return self.org

    def build_network(self, number, profile, size):
        """Generate one network with its devices, addressing, SSIDs, links and ports."""
        rng = self.rng
        city, region, lat, lng, time_zone = rng.choice(CITIES)
        label = PROFILE_LABEL[profile]
        name = f'{city} {label} {number:02d}'
        while name in self.names:
            name += ' B'
        self.names.add(name)
        site = {
            'address': f'{rng.randint(1, 9999)} {rng.choice(STREETS)}, {city}, {region}',
            'lat': round(lat + rng.uniform(-0.08, 0.08), 6),
            'lng': round(lng + rng.uniform(-0.08, 0.08), 6),
            'prefix': f'{city[:3].lower()}-{label[:2].lower()}{number:02d}',
        }
        families = families_for(profile, size, rng) if size else []
        products = sorted({*PROFILE_PRODUCTS[profile], *(FAMILY_PRODUCT[f] for f in families)})
        combined = len(products) > 1
        network_id = ('L_' if combined else 'N_') + self.ids.number(18)
        slug = name.replace(' ', '-')
        network = {
            'id': network_id,
            'organizationId': self.org.id,
            'name': name,
            'productTypes': products,
            'timeZone': time_zone,
            'tags': sorted(rng.sample(NETWORK_TAGS, rng.choice((0, 1, 1, 2, 3)))),
            'enrollmentString': None,
            'url': f'https://n{self.shard}.meraki.com/{slug}/n/{self.ids.token(8)}/manage/usage/list',
            'notes': rng.choice(('', '', '', 'Opening hours 8-18', 'Managed by the regional IT team', 'Pilot site')),
            'isBoundToConfigTemplate': False,
        }
        self.org.networks[network_id] = network
        large = size > 30 or profile == 'campus'
        devices = []
        counters = {}
        for family in families:
            counters[family] = counters.get(family, 0) + 1
            devices.append(self.build_device(network, site, family, counters[family], large))
        SiteLayout(self.org, network, devices, profile, rng, self.ids, self.pools).build()
        return network_id

    def bind_to_templates(self, profiles):
        """
        A configuration template per templated kind of site, and every network of that kind bound to it. Drawn from a
        stream of their own, so that the rest of the organization is what it was before templates existed.
        """
        rng = random.Random(f'{self.org.id}:templates')
        ids = IdFactory(rng)
        for profile in TEMPLATED_PROFILES:
            template_id = 'L_' + ids.number(18)
            # Named as people name them, by region and kind of site; unique across seeds, as network names nearly are.
            self.org.config_templates[template_id] = {
                'id': template_id,
                'name': f'{rng.choice(CITIES)[0]} {PROFILE_LABEL[profile]} template {rng.randrange(100, 1000)}',
                'productTypes': list(PROFILE_PRODUCTS[profile]),
                'timeZone': 'America/Los_Angeles',
            }
            for network_id, network_profile in profiles.items():
                if network_profile == profile:
                    network = self.org.networks[network_id]
                    network.update(isBoundToConfigTemplate=True, configTemplateId=template_id)

    def build_device(self, network, site, family, ordinal, large):
        """Generate a device assigned to a network."""
        rng = self.rng
        model = model_info(pick_model(rng, family, large))
        name = f'{site["prefix"]}-{ROLE[family]}{ordinal:02d}'
        if rng.random() < 0.05:
            name = rng.choice(('', None))
        device = self.device_record(model, name, network['id'])
        device.update(
            lat=round(site['lat'] + rng.uniform(-0.0005, 0.0005), 6),
            lng=round(site['lng'] + rng.uniform(-0.0005, 0.0005), 6),
            address=site['address'] if rng.random() < 0.95 else '',
            notes=rng.choice(('', '', '', '', 'Installed by contractor', 'Replaced under RMA')),
            tags=sorted(rng.sample(DEVICE_TAGS, rng.choice((0, 0, 0, 1, 1, 2)))),
            url=device_url(network['url'], device['mac']),
        )
        self.org.devices[device['serial']] = device
        self.org.statuses[device['serial']] = rng.choices(*zip(*STATUSES, strict=True))[0]
        self.org.inventory[device['serial']] = self.inventory_record(device)
        return device

    def device_record(self, model, name, network_id):
        """A device dict with the fields getOrganizationDevices returns."""
        rng = self.rng
        updated = EPOCH + timedelta(seconds=rng.randrange(90 * 86400))
        return {
            'name': name,
            'lat': None,
            'lng': None,
            'address': '',
            'notes': '',
            'tags': [],
            'networkId': network_id,
            'serial': self.ids.serial(model.family),
            'model': model.name,
            'mac': self.ids.mac(),
            'lanIp': None,
            'firmware': rng.choice(FIRMWARE[model.family]),
            'productType': model.product_type,
            'details': [],
            'configurationUpdatedAt': timestamp(updated),
            'url': None,
        }

    def inventory_record(self, device):
        """The inventory entry of a device."""
        rng = self.rng
        claimed = EPOCH - timedelta(days=rng.randrange(30, 1500))
        return {
            'mac': device['mac'],
            'serial': device['serial'],
            'name': device['name'],
            'model': device['model'],
            'networkId': device['networkId'],
            'orderNumber': f'4C{rng.randrange(10**6, 10**7)}',
            'claimedAt': timestamp(claimed),
            'licenseExpirationDate': None,
            'tags': list(device['tags']),
            'productType': device['productType'],
            'countryCode': 'US',
            'details': [],
        }

    def add_unassigned(self):
        """A claimed device not assigned to any network."""
        family = self.rng.choice(('MX', 'MS', 'MS', 'MR', 'MR', 'MR', 'MV', 'MT', 'MG'))
        model = model_info(pick_model(self.rng, family))
        name = self.rng.choice((None, '', f'spare-{ROLE[family]}'))
        record = self.inventory_record(self.device_record(model, name, None))
        self.org.inventory[record['serial']] = record

    def history(self):
        """A deterministic configuration change log, oldest first."""
        rng = self.rng
        networks = list(self.org.networks.values())
        if not networks:
            return []
        moments = sorted(rng.randrange(60 * 86400) for _ in range(min(60, 3 * len(networks))))
        changes = []
        for offset in moments:
            network = rng.choice(networks)
            label, page, old, new = rng.choice(
                (
                    ('Network name', 'Network-wide settings', network['name'] + ' (old)', network['name']),
                    ('Tags', 'Network-wide settings', '', ' '.join(network['tags'])),
                    ('VLAN subnet', 'Addressing & VLANs', '192.168.50.0/24', '192.168.1.0/24'),
                    ('SSID name', 'Access control', 'Guest-old', 'Guest'),
                    ('Switch port VLAN', 'Switch ports', '1', '10'),
                )
            )
            changes.append(
                {
                    'ts': timestamp(EPOCH + timedelta(days=30, seconds=offset)),
                    'adminName': 'Alex Operator',
                    'adminEmail': 'alex.operator@example.com',
                    'adminId': '212406',
                    'networkName': network['name'],
                    'networkId': network['id'],
                    'networkUrl': network['url'],
                    'ssidName': None,
                    'ssidNumber': None,
                    'page': page,
                    'label': label,
                    'oldValue': old,
                    'newValue': new,
                    'client': {'id': None, 'type': 'Dashboard'},
                }
            )
        return changes
