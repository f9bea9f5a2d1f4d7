"""Static facts the generator draws from: hardware models, firmware, places and names."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

# Generated timestamps are offsets from this date, never from the clock.
EPOCH = datetime(2024, 5, 1, tzinfo=UTC)


def timestamp(moment):
    """Meraki's ISO 8601 form of a datetime."""
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def device_url(network_url, mac):
    """The Dashboard page of a device, below its network's URL."""
    return network_url.replace('/manage/usage/list', f'/manage/nodes/new_list/{int(mac.replace(":", ""), 16)}')


# Meraki product type of each hardware family.
FAMILY_PRODUCT = {
    'MX': 'appliance',
    'Z': 'appliance',
    'MS': 'switch',
    'MR': 'wireless',
    'MG': 'cellularGateway',
    'MV': 'camera',
    'MT': 'sensor',
}

FIRMWARE = {
    'MX': ('wired-18-211-2', 'wired-18-107-10', 'wired-19-1-4'),
    'Z': ('wired-18-211-2', 'wired-18-107-10'),
    'MS': ('switch-16-8', 'switch-17-1-2', 'switch-15-21-1'),
    'MR': ('wireless-29-7-1', 'wireless-30-7', 'wireless-31-1-6'),
    'MG': ('cellular-gateway-2-3', 'cellular-gateway-3-1'),
    'MV': ('camera-5-1', 'camera-5-3'),
    'MT': ('sensor-2-3', 'sensor-2-5'),
}

# Second pair of serial characters per family, so serials look like Q2HP-..., Q2KD-...
SERIAL_PREFIX = {
    'MX': 'Q2KN',
    'Z': 'Q2QN',
    'MS': 'Q2HP',
    'MR': 'Q2KD',
    'MG': 'Q2ZG',
    'MV': 'Q2FV',
    'MT': 'Q2CA',
}

MERAKI_OUIS = ('00:18:0a', 'e0:55:3d', '88:15:44', 'ac:17:c8', '0c:8d:db', '34:56:fe', '98:18:88', 'f8:9e:28')


@dataclass(frozen=True)
class Model:
    """A hardware model and its ports."""

    name: str
    family: str
    ports: tuple = ()  # switch ports, in order
    uplink_ports: tuple = ()  # switch ports meant for uplinks (SFP)
    lan_ports: tuple = ()  # appliance LAN ports
    wan_ports: tuple = ()  # appliance WAN ports

    @property
    def product_type(self):
        """Meraki productType of the model."""
        return FAMILY_PRODUCT[self.family]


def _switch(name, access, uplinks, module=None):
    ports = [str(n) for n in range(1, access + uplinks + 1)]
    uplink_ports = ports[access:]
    if module:
        # Ports on a network module carry the module in their id, as the MS390 reports them.
        module_ports = [f'1_{module}_{n}' for n in range(1, 5)]
        ports += module_ports
        uplink_ports = module_ports
    return Model(name, 'MS', ports=tuple(ports), uplink_ports=tuple(uplink_ports))


def _appliance(name, family, wans, lans):
    return Model(name, family, wan_ports=tuple(wans), lan_ports=tuple(lans))


def _lan(first, last):
    return [str(n) for n in range(first, last + 1)]


MODELS = {
    model.name: model
    for model in (
        _appliance('MX64', 'MX', ['wan1'], _lan(2, 5)),
        _appliance('MX67', 'MX', ['wan1', 'wan2'], _lan(3, 5)),
        _appliance('MX68', 'MX', ['wan1', 'wan2'], _lan(3, 12)),
        _appliance('MX75', 'MX', ['wan1', 'wan2'], _lan(3, 12)),
        _appliance('MX85', 'MX', ['wan1', 'wan2'], _lan(3, 14)),
        _appliance('MX95', 'MX', ['wan1', 'wan2'], _lan(3, 10)),
        _appliance('MX105', 'MX', ['wan1', 'wan2'], _lan(3, 10)),
        _appliance('MX250', 'MX', ['wan1', 'wan2'], _lan(3, 10)),
        _appliance('Z3', 'Z', ['wan1'], _lan(1, 4)),
        _appliance('Z4', 'Z', ['wan1'], _lan(1, 4)),
        _switch('MS120-8LP', 8, 2),
        _switch('MS120-24P', 24, 4),
        _switch('MS125-48LP', 48, 4),
        _switch('MS210-24P', 24, 4),
        _switch('MS225-24P', 24, 4),
        _switch('MS225-48FP', 48, 4),
        _switch('MS250-48FP', 48, 4),
        _switch('MS350-24X', 24, 4),
        _switch('MS390-48UX', 48, 0, module='MA-MOD-4X10G'),
        Model('MR36', 'MR'),
        Model('MR44', 'MR'),
        Model('MR46', 'MR'),
        Model('MR56', 'MR'),
        Model('MR76', 'MR'),
        Model('MR86', 'MR'),
        Model('MG21', 'MG'),
        Model('MG41', 'MG'),
        Model('MG51', 'MG'),
        Model('MV2', 'MV'),
        Model('MV12W', 'MV'),
        Model('MV22', 'MV'),
        Model('MV32', 'MV'),
        Model('MV72', 'MV'),
        Model('MT10', 'MT'),
        Model('MT11', 'MT'),
        Model('MT14', 'MT'),
        Model('MT20', 'MT'),
        Model('MT30', 'MT'),
    )
}

# Models the generator picks per family, by size of site ('small' or 'large').
CHOICES = {
    ('MX', 'small'): ('MX64', 'MX67', 'MX68'),
    ('MX', 'large'): ('MX85', 'MX95', 'MX105', 'MX250'),
    ('Z', 'small'): ('Z3', 'Z4'),
    ('MS', 'small'): ('MS120-8LP', 'MS120-24P', 'MS210-24P'),
    ('MS', 'large'): ('MS225-48FP', 'MS250-48FP', 'MS125-48LP', 'MS350-24X', 'MS390-48UX', 'MS225-24P'),
    ('MR', 'small'): ('MR36', 'MR44', 'MR46'),
    ('MR', 'large'): ('MR46', 'MR56', 'MR76', 'MR86'),
    ('MG', 'small'): ('MG21', 'MG41', 'MG51'),
    ('MV', 'small'): ('MV2', 'MV12W', 'MV22', 'MV32', 'MV72'),
    ('MT', 'small'): ('MT10', 'MT11', 'MT14', 'MT20', 'MT30'),
}


def model_info(name):
    """Return the Model for a model name; unknown names raise ValueError."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f'Unknown model {name!r}') from None


def serve_unknown_model(name, like):
    """Serve a model name the catalog does not know (odd data a test puts in) with the ports of model `like`."""
    if name not in MODELS:
        MODELS[name] = replace(model_info(like), name=name)


def pick_model(rng, family, large=False):
    """Pick a model of a family, preferring bigger ones at large sites."""
    choices = CHOICES.get((family, 'large' if large else 'small')) or CHOICES[(family, 'small')]
    return rng.choice(choices)


ORG_NAMES = (
    'Acme Retail',
    'Globex Health',
    'Initech Campus',
    'Umbrella Logistics',
    'Stark Manufacturing',
    'Wayne Hospitality',
    'Cyberdyne Labs',
    'Soylent Foods',
)

# (city, state or country, lat, lng, IANA time zone)
CITIES = (
    ('Austin', 'TX', 30.2672, -97.7431, 'America/Chicago'),
    ('Boston', 'MA', 42.3601, -71.0589, 'America/New_York'),
    ('Chicago', 'IL', 41.8781, -87.6298, 'America/Chicago'),
    ('Denver', 'CO', 39.7392, -104.9903, 'America/Denver'),
    ('Seattle', 'WA', 47.6062, -122.3321, 'America/Los_Angeles'),
    ('San Jose', 'CA', 37.3382, -121.8863, 'America/Los_Angeles'),
    ('Atlanta', 'GA', 33.749, -84.388, 'America/New_York'),
    ('Phoenix', 'AZ', 33.4484, -112.074, 'America/Phoenix'),
    ('Toronto', 'Canada', 43.6532, -79.3832, 'America/Toronto'),
    ('London', 'United Kingdom', 51.5072, -0.1276, 'Europe/London'),
    ('Berlin', 'Germany', 52.52, 13.405, 'Europe/Berlin'),
    ('Amsterdam', 'Netherlands', 52.3676, 4.9041, 'Europe/Amsterdam'),
    ('Madrid', 'Spain', 40.4168, -3.7038, 'Europe/Madrid'),
    ('Tokyo', 'Japan', 35.6762, 139.6503, 'Asia/Tokyo'),
    ('Singapore', 'Singapore', 1.3521, 103.8198, 'Asia/Singapore'),
    ('Sydney', 'Australia', -33.8688, 151.2093, 'Australia/Sydney'),
    ('Zürich', 'Switzerland', 47.3769, 8.5417, 'Europe/Zurich'),
    ('São Paulo', 'Brazil', -23.5505, -46.6333, 'America/Sao_Paulo'),
)

STREETS = ('Main St', 'Oak Ave', 'Market St', 'Station Rd', 'Harbor Blvd', 'Park Lane', 'Mill Rd', 'King St')

NETWORK_TAGS = ('retail', 'flagship', 'pci', 'east', 'west', 'pilot', 'datacenter', 'remote', 'warehouse')
DEVICE_TAGS = ('recently-added', 'core', 'floor1', 'floor2', 'lobby', 'outdoor', 'spare', 'critical')
