"""Organization-wide endpoints: each builds a Listing from an organization's data and the query's filters."""

import hashlib
import zlib
from datetime import datetime, timedelta

from .catalog import EPOCH, FIRMWARE, model_info, timestamp
from .pagination import Listing

__all__ = (
    'Filters',
    'appliance_uplink_statuses',
    'availabilities',
    'crc',
    'device_entries',
    'config_templates',
    'configuration_changes',
    'device_statuses',
    'devices',
    'firmware_upgrades_by_device',
    'firmware_version',
    'inventory',
    'last_reported',
    'licenses',
    'networks',
    'organizations',
    'previous_firmware',
    'uplink_addresses',
)


class Filters:
    """The filters of a query: repeatable ``name[]`` parameters and plain ones."""

    def __init__(self, params):
        self.params = params

    def many(self, name):
        """Values of a repeatable parameter (``name[]=a&name[]=b``, or ``name=a``), as a set or None."""
        values = self.params.get(f'{name}[]') or self.params.get(name)
        return set(values) if values else None

    def one(self, name, default=None):
        """Value of a plain parameter."""
        values = self.params.get(name)
        return values[0] if values else default

    def flag(self, name, default):
        """A boolean parameter."""
        value = self.one(name)
        return default if value is None else value.lower() == 'true'

    def keep_device(self, device, status=None, skip=()):
        """Whether a device passes the usual device filters, except those named in ``skip``."""
        checks = (
            ('networkIds', device.get('networkId')),
            ('serials', device['serial']),
            ('productTypes', device['productType']),
            ('models', device['model']),
            ('macs', device['mac']),
            ('statuses', status),
        )
        for name, value in checks:
            wanted = None if name in skip else self.many(name)
            if wanted is not None and value not in wanted:
                return False
        tags = self.many('tags')
        if tags is not None:
            have = set(device.get('tags') or ())
            if not (tags <= have if self.one('tagsFilterType') == 'withAllTags' else tags & have):
                return False
        for name in ('name', 'mac', 'serial', 'model'):
            needle = self.one(name)
            if needle is not None and needle.lower() not in (device.get(name) or '').lower():
                return False
        return True


def crc(*parts):
    return zlib.crc32(':'.join(str(part) for part in parts).encode())


def last_reported(org, serial):
    """A stable lastReportedAt of a device; None for one that never connected."""
    if org.statuses.get(serial) == 'dormant':
        return None
    return timestamp(EPOCH + timedelta(days=60, seconds=crc(serial) % 86400))


def device_entries(org, filters, families=None):
    """Assigned devices passing the filters, as Listing entries keyed by serial."""
    entries = []
    for serial in org.sorted_serials():
        device = org.devices[serial]
        if families and model_info(device['model']).family not in families:
            continue
        if filters.keep_device(device, org.statuses.get(serial)):
            entries.append((serial, device, device['networkId']))
    return entries


def organizations(dashboard, visible):
    """GET /organizations: the organizations the key may see."""
    orgs = [org for org in dashboard.orgs.values() if visible is None or org.id in visible]
    return Listing(sorted(((org.id, org.organization, None) for org in orgs), key=lambda entry: entry[0]))


def networks(org, filters):
    """GET /organizations/{organizationId}/networks."""
    products, tags = filters.many('productTypes'), filters.many('tags')
    bound = filters.one('isBoundToConfigTemplate')
    entries = []
    for network_id in sorted(org.networks):
        network = org.networks[network_id]
        if products and not products & set(network['productTypes']):
            continue
        if tags and not tags & set(network['tags']):
            continue
        if bound is not None and network['isBoundToConfigTemplate'] != (bound.lower() == 'true'):
            continue
        entries.append((network_id, network, network_id))
    return Listing(entries)


def devices(org, filters):
    """GET /organizations/{organizationId}/devices."""
    return Listing(device_entries(org, filters))


def availabilities(org, filters):
    """GET /organizations/{organizationId}/devices/availabilities."""

    def build(device):
        return {
            'mac': device['mac'],
            'name': device['name'],
            'network': {'id': device['networkId']},
            'productType': device['productType'],
            'serial': device['serial'],
            'status': org.statuses[device['serial']],
            'tags': device['tags'],
        }

    return Listing(device_entries(org, filters), build)


def device_statuses(org, filters):
    """GET /organizations/{organizationId}/devices/statuses (deprecated by Meraki, still served)."""

    def build(device):
        serial = device['serial']
        uplinks = org.uplinks.get(serial) or []
        first = uplinks[0] if uplinks else {}
        item = {
            'name': device['name'],
            'serial': serial,
            'mac': device['mac'],
            'publicIp': first.get('publicIp'),
            'networkId': device['networkId'],
            'status': org.statuses[serial],
            'lastReportedAt': last_reported(org, serial),
            'productType': device['productType'],
            'model': device['model'],
            'tags': device['tags'],
        }
        if device['productType'] == 'appliance':
            for uplink in uplinks:
                name = uplink['interface']
                item.update(
                    {
                        f'{name}Ip': uplink['ip'],
                        f'{name}Gateway': uplink['gateway'],
                        f'{name}IpType': uplink['ipAssignedBy'],
                        f'{name}PrimaryDns': uplink['primaryDns'],
                        f'{name}SecondaryDns': uplink['secondaryDns'],
                    }
                )
        else:
            item.update(
                lanIp=device['lanIp'],
                gateway=first.get('gateway'),
                ipType=first.get('ipAssignedBy'),
                primaryDns=first.get('primaryDns'),
                secondaryDns=first.get('secondaryDns'),
            )
        return item

    return Listing(device_entries(org, filters), build)


def inventory(org, filters):
    """GET /organizations/{organizationId}/inventory/devices, unassigned devices included."""
    network_ids = filters.many('networkIds')
    used = filters.one('usedState')
    entries = []
    for serial in sorted(org.inventory):
        record = org.inventory[serial]
        if network_ids is not None:
            if record['networkId'] not in network_ids and not (record['networkId'] is None and 'null' in network_ids):
                continue
        if used is not None and (record['networkId'] is not None) != (used == 'used'):
            continue
        if filters.keep_device(record, skip=('networkIds',)):
            entries.append((serial, record, record['networkId']))
    return Listing(entries)


def uplink_addresses(org, filters):
    """GET /organizations/{organizationId}/devices/uplinks/addresses/byDevice."""

    def build(device):
        uplinks = []
        for uplink in org.uplinks.get(device['serial']) or []:
            addresses = []
            if uplink['ip']:
                addresses.append(
                    {
                        'protocol': 'ipv4',
                        'assignmentMode': 'static' if uplink['ipAssignedBy'] == 'static' else 'dynamic',
                        'address': uplink['ip'],
                        'gateway': uplink['gateway'],
                        'public': {'address': uplink['publicIp']},
                    }
                )
            if uplink.get('ipv6'):
                addresses.append(
                    {
                        'protocol': 'ipv6',
                        'assignmentMode': 'dynamic',
                        'address': uplink['ipv6']['address'],
                        'gateway': uplink['ipv6']['gateway'],
                        'nameservers': {'addresses': ['::', '::']},
                        'public': {'address': None},
                    }
                )
            uplinks.append({'interface': uplink['interface'], 'addresses': addresses})
        return {
            'mac': device['mac'],
            'name': device['name'],
            'network': {'id': device['networkId']},
            'productType': device['productType'],
            'serial': device['serial'],
            'tags': device['tags'],
            'uplinks': uplinks,
        }

    return Listing(device_entries(org, filters), build)


def appliance_uplink_statuses(org, filters):
    """GET /organizations/{organizationId}/appliance/uplink/statuses."""
    entries = device_entries(org, filters, families=('MX', 'Z'))
    per_network = {}
    for _serial, device, network_id in entries:
        per_network.setdefault(network_id, []).append(device['serial'])

    def build(device):
        pair = per_network.get(device['networkId'], [])
        return {
            'networkId': device['networkId'],
            'serial': device['serial'],
            'model': device['model'],
            'lastReportedAt': last_reported(org, device['serial']),
            'highAvailability': {
                'enabled': len(pair) > 1,
                'role': 'spare' if len(pair) > 1 and pair.index(device['serial']) else 'primary',
            },
            # The simulator serves uplinks' IPv6 addresses only through the uplink addresses endpoint.
            'uplinks': [
                {key: value for key, value in uplink.items() if key != 'ipv6'}
                for uplink in org.uplinks.get(device['serial']) or []
            ],
        }

    return Listing(entries, build)


def firmware_version(firmware):
    """A firmware version object for a firmware string such as 'wireless-29-7-1'."""
    family, _, version = firmware.partition('-')
    if family == 'cellular':
        version = version.partition('-')[2]
    label = {'wired': 'MX', 'switch': 'MS', 'wireless': 'MR', 'camera': 'MV', 'sensor': 'MT', 'cellular': 'MG'}
    return {
        'id': 1000 + crc(firmware) % 9000,
        'firmware': firmware,
        'releaseType': 'stable',
        'releaseDate': timestamp(EPOCH - timedelta(days=crc(firmware, 'date') % 200)),
        'shortName': f'{label.get(family, family)} {version.replace("-", ".")}',
    }


def previous_firmware(firmware):
    """Another firmware of the same family, standing in for the version before."""
    for versions in FIRMWARE.values():
        if firmware in versions:
            return versions[(versions.index(firmware) + 1) % len(versions)]
    return firmware


def firmware_upgrades_by_device(org, filters):
    """GET /organizations/{organizationId}/firmware/upgrades/byDevice."""

    def build(device):
        current = device['firmware']
        return {
            'serial': device['serial'],
            'name': device['name'],
            'mac': device['mac'],
            'upgrade': {
                'id': str(crc(device['serial'], 'upgrade')),
                'fromVersion': firmware_version(previous_firmware(current)),
                'toVersion': firmware_version(current),
                'status': 'Completed',
                'time': timestamp(EPOCH + timedelta(days=20)),
                'upgradeBatchId': str(crc(device['networkId'], 'batch')),
                'staged': {'group': {'id': None}},
            },
            'deviceStatus': 'Completed',
        }

    return Listing(device_entries(org, filters), build)


def _moment(value):
    try:
        return datetime.fromtimestamp(float(value), EPOCH.tzinfo)
    except ValueError:
        return datetime.fromisoformat(value.replace('Z', '+00:00'))


def config_templates(org):
    """GET /organizations/{organizationId}/configTemplates: every template, in one answer (not paginated)."""
    return [org.config_templates[template_id] for template_id in sorted(org.config_templates)]


def configuration_changes(org, filters):
    """GET /organizations/{organizationId}/configurationChanges, newest first."""
    network_id, admin_id = filters.one('networkId'), filters.one('adminId')
    t0, t1, timespan = filters.one('t0'), filters.one('t1'), filters.one('timespan')
    low = timestamp(_moment(t0)) if t0 else None
    high = timestamp(_moment(t1)) if t1 else None
    if timespan and not t0:
        low = timestamp(datetime.now(EPOCH.tzinfo) - timedelta(seconds=float(timespan)))
    entries = []
    for index, change in enumerate(org.config_changes):
        if network_id and change['networkId'] != network_id:
            continue
        if admin_id and change['adminId'] != admin_id:
            continue
        if (low and change['ts'] < low) or (high and change['ts'] > high):
            continue
        entries.append((f'{change["ts"]}#{index:09d}', change, change['networkId']))
    entries.sort(key=lambda entry: entry[0])
    return Listing(entries)


LICENSE_TYPE = {
    'MX': '{model}-SEC',
    'Z': '{model}-ENT',
    'MS': '{model}',
    'MR': 'ENT',
    'MG': 'MG-ENT',
    'MV': 'MV',
    'MT': 'MT',
}


def licenses(org, filters):
    """GET /organizations/{organizationId}/licenses: one per-device license per assigned device."""
    serial, network_id = filters.one('deviceSerial'), filters.one('networkId')
    state = filters.one('state')
    entries = []
    if state in (None, 'active'):
        for _serial, device, device_network in device_entries(org, Filters({})):
            if (serial and device['serial'] != serial) or (network_id and device_network != network_id):
                continue
            license_id = str(int(hashlib.sha1(device['serial'].encode()).hexdigest()[:12], 16) % 10**12)
            entries.append((license_id, device, device_network))
        entries.sort(key=lambda entry: entry[0])

    def build(device):
        record = org.inventory[device['serial']]
        claimed = datetime.fromisoformat(record['claimedAt'].replace('Z', '+00:00'))
        return {
            'id': str(int(hashlib.sha1(device['serial'].encode()).hexdigest()[:12], 16) % 10**12),
            'licenseType': LICENSE_TYPE[model_info(device['model']).family].format(model=device['model']),
            'licenseKey': 'Z2' + hashlib.sha1(device['mac'].encode()).hexdigest()[:10].upper(),
            'orderNumber': record['orderNumber'],
            'deviceSerial': device['serial'],
            'networkId': device['networkId'],
            'state': 'active',
            'seatCount': None,
            'totalDurationInDays': 1825,
            'durationInDays': 1825,
            'permanentlyQueuedLicenses': [],
            'claimDate': record['claimedAt'],
            'activationDate': record['claimedAt'],
            'expirationDate': timestamp(claimed + timedelta(days=1825)),
            'headLicenseId': None,
        }

    return Listing(entries, build)
