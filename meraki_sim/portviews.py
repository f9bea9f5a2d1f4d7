"""Organization-wide switch and wireless reports: ports by switch, port statuses, LLDP/CDP discovery, SSIDs."""

from .catalog import model_info
from .neighbors import advertised, cdp_dict, cdp_tlvs, lldp_dict, lldp_tlvs
from .pagination import Listing
from .views import crc, device_entries, last_reported

__all__ = (
    'port_status',
    'ssid_statuses_by_device',
    'switch_port_statuses',
    'switch_ports_by_switch',
    'topology_discovery',
)


def _switch_head(org, device):
    network = org.networks[device['networkId']]
    return {
        'name': device['name'],
        'serial': device['serial'],
        'mac': device['mac'],
        'network': {'name': network['name'], 'id': network['id']},
        'model': device['model'],
    }


def switch_ports_by_switch(org, filters):
    """GET /organizations/{organizationId}/switch/ports/bySwitch."""

    def build(device):
        return {**_switch_head(org, device), 'ports': org.switch_ports.get(device['serial'], [])}

    return Listing(device_entries(org, filters, families=('MS',)), build)


def _neighbours(org, serial):
    """Port id -> (advertised info of the far end, protocols) for one device."""
    return {own['portId']: (advertised(org, other), link['protocols']) for own, other, link in org.links_of(serial)}


def port_status(org, device, port, neighbour):
    """A switch port's status, as the port statuses endpoints report it."""
    serial, port_id = device['serial'], port['portId']
    noise = crc(serial, port_id)
    up = org.statuses[serial] in ('online', 'alerting') and port['enabled']
    connected = up and (neighbour is not None or noise % 100 < 35)
    uplink_port = port_id in model_info(device['model']).uplink_ports
    status = {
        'portId': port_id,
        'enabled': port['enabled'],
        'status': 'Disabled' if not port['enabled'] else 'Connected' if connected else 'Disconnected',
        'isUplink': uplink_port and connected,
        'errors': [] if port['enabled'] else ['Port disabled'],
        'warnings': [],
        'speed': ('10 Gbps' if uplink_port else '1 Gbps') if connected else '',
        'duplex': 'full' if connected else '',
        'usageInKb': {'total': noise % 90000 if connected else 0},
        'clientCount': (noise // 7) % 5 if connected else 0,
        'powerUsageInWh': round((noise % 400) / 10, 1) if connected and port['poeEnabled'] else 0,
        'spanningTree': {'statuses': ['Forwarding'] if connected else []},
        'poe': {'isAllocated': bool(connected and port['poeEnabled'])},
    }
    if neighbour and connected:
        info, protocols = neighbour
        if 'lldp' in protocols:
            status['lldp'] = lldp_dict(info)
        if 'cdp' in protocols:
            status['cdp'] = cdp_dict(info)
    return status


def switch_port_statuses(org, filters):
    """GET /organizations/{organizationId}/switch/ports/statuses/bySwitch (items/meta)."""

    def build(device):
        neighbours = _neighbours(org, device['serial'])
        ports = [
            port_status(org, device, port, neighbours.get(port['portId']))
            for port in org.switch_ports.get(device['serial'], [])
        ]
        return {**_switch_head(org, device), 'ports': ports}

    return Listing(device_entries(org, filters, families=('MS',)), build)


def topology_discovery(org, filters):
    """GET /organizations/{organizationId}/switch/ports/topology/discovery/byDevice (items/meta)."""

    def build(device):
        neighbours = _neighbours(org, device['serial'])
        ports = []
        for port in org.switch_ports.get(device['serial'], []):
            if port['portId'] not in neighbours:
                continue
            info, protocols = neighbours[port['portId']]
            ports.append(
                {
                    'portId': port['portId'],
                    'lastUpdatedAt': last_reported(org, device['serial']),
                    'cdp': cdp_tlvs(info) if 'cdp' in protocols else [],
                    'lldp': lldp_tlvs(info) if 'lldp' in protocols else [],
                }
            )
        return {**_switch_head(org, device), 'ports': ports}

    return Listing(device_entries(org, filters, families=('MS',)), build)


def _bssid(mac, offset):
    return ':'.join(f'{byte:02x}' for byte in ((int(mac.replace(':', ''), 16) + offset) % 2**48).to_bytes(6))


def ssid_statuses_by_device(org, filters):
    """GET /organizations/{organizationId}/wireless/ssids/statuses/byDevice (items/meta)."""
    hide_disabled = filters.flag('hideDisabled', True)
    entries = [entry for entry in device_entries(org, filters, families=('MR',)) if entry[2] in org.ssids]

    def build(device):
        network = org.networks[device['networkId']]
        sets = []
        for ssid in org.ssids[device['networkId']]:
            if hide_disabled and not ssid['enabled']:
                continue
            for index, band in enumerate(('2.4', '5')):
                sets.append(
                    {
                        'ssid': {
                            'name': ssid['name'],
                            'number': ssid['number'],
                            'advertised': ssid['visible'],
                            'enabled': ssid['enabled'],
                        },
                        'bssid': _bssid(device['mac'], 1 + ssid['number'] * 2 + index),
                        'radio': {
                            'band': band,
                            'channel': (1, 6, 11)[crc(device['serial']) % 3] if index == 0 else 36,
                            'channelWidth': 20 if index == 0 else 80,
                            'power': 18,
                            'isBroadcasting': ssid['enabled'],
                            'index': str(index),
                        },
                    }
                )
        return {
            'serial': device['serial'],
            'name': device['name'],
            'network': {'id': network['id'], 'name': network['name']},
            'basicServiceSets': sets,
        }

    return Listing(entries, build)
