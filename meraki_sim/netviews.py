"""Per-network and per-device endpoints."""

from collections import Counter
from datetime import timedelta

from .catalog import EPOCH, FIRMWARE, model_info, timestamp
from .errors import ApiError
from .neighbors import advertised, cdp_dict, derived_id, lldp_dict
from .settings import new_ssids
from .views import firmware_version, last_reported, previous_firmware

__all__ = (
    'device',
    'device_lldp_cdp',
    'device_management_interface',
    'device_switch_ports',
    'network',
    'network_appliance_single_lan',
    'network_appliance_vlans',
    'network_appliance_vlans_settings',
    'network_devices',
    'network_firmware_upgrades',
    'network_link_layer',
    'network_switch_stacks',
    'network_wireless_ssids',
    'require_product',
)

PRODUCT_FAMILY = {
    'appliance': 'MX',
    'switch': 'MS',
    'wireless': 'MR',
    'camera': 'MV',
    'sensor': 'MT',
    'cellularGateway': 'MG',
}


def require_product(network, product):
    """400 unless the network has the product, as Meraki answers e.g. SSIDs of a network without wireless."""
    if product not in network['productTypes']:
        raise ApiError(400, f"This endpoint is not available for a network without the '{product}' product type")


def network(org, network_id):
    """GET /networks/{networkId}."""
    return org.networks[network_id]


def _serials_by_network(org):
    index = {}
    for serial in org.sorted_serials():
        index.setdefault(org.devices[serial]['networkId'], []).append(serial)
    return index


def network_serials(org, network_id):
    """Serials of the devices in a network, sorted."""
    return org.cached('by_network', lambda: _serials_by_network(org)).get(network_id, [])


def network_devices(org, network_id):
    """GET /networks/{networkId}/devices."""
    return [org.devices[serial] for serial in network_serials(org, network_id)]


def network_appliance_vlans(org, network_id):
    """GET /networks/{networkId}/appliance/vlans."""
    require_product(org.networks[network_id], 'appliance')
    if not org.vlans_enabled.get(network_id):
        raise ApiError(400, 'VLANs are not enabled for this network')
    return org.vlans.get(network_id, [])


def network_appliance_vlans_settings(org, network_id):
    """GET /networks/{networkId}/appliance/vlans/settings."""
    require_product(org.networks[network_id], 'appliance')
    return {'vlansEnabled': bool(org.vlans_enabled.get(network_id))}


def network_appliance_single_lan(org, network_id):
    """GET /networks/{networkId}/appliance/singleLan."""
    require_product(org.networks[network_id], 'appliance')
    if org.vlans_enabled.get(network_id):
        raise ApiError(400, 'Single LAN settings are not available when VLANs are enabled')
    return org.single_lan[network_id]


def network_wireless_ssids(org, network_id):
    """GET /networks/{networkId}/wireless/ssids: the 15 SSID slots."""
    require_product(org.networks[network_id], 'wireless')
    return org.ssids.get(network_id) or new_ssids()


def network_switch_stacks(org, network_id):
    """GET /networks/{networkId}/switch/stacks: each stack with its members' serials, in stack order."""
    require_product(org.networks[network_id], 'switch')
    stacks = []
    for stack in org.stacks.get(network_id, []):
        members = [org.devices[serial] for serial in stack['serials'] if serial in org.devices]
        stacks.append({
            'id': stack['id'],
            'name': stack['name'],
            'serials': [member['serial'] for member in members],
            'isMonitorOnly': False,
            'members': [
                {key: member[key] for key in ('serial', 'name', 'model', 'mac')} for member in members
            ],
        })
    return stacks


def _node(org, end, info, network_id):
    node_id = derived_id(info['chassisId'])
    if end.get('serial'):
        device = org.devices.get(end['serial']) or org.inventory[end['serial']]
        return node_id, {
            'derivedId': node_id,
            'mac': device['mac'],
            'type': 'device',
            'device': {
                'serial': device['serial'],
                'name': device['name'],
                'model': device['model'],
                'productType': device['productType'],
                'status': org.statuses.get(device['serial'], 'offline'),
                'lastReportedAt': last_reported(org, device['serial']),
                'clients': {'counts': {'total': 0}},
            },
            'discovered': {'lldp': None, 'cdp': None},
            'root': device['productType'] == 'appliance' and device.get('networkId') == network_id,
            'stack': None,
        }
    return node_id, {
        'derivedId': node_id,
        'mac': info['chassisId'],
        'type': 'discovered',
        'discovered': {
            'lldp': {
                'chassisId': info['chassisId'],
                'systemName': info['systemName'],
                'systemDescription': info['systemDescription'],
                'systemCapabilities': [info['capabilities']],
                'managementAddress': info['managementAddress'],
            },
            'cdp': {'deviceId': info['deviceId'], 'platform': info['platform'], 'address': info['managementAddress']},
        },
        'root': False,
        'stack': None,
    }


def network_link_layer(org, network_id):
    """GET /networks/{networkId}/topology/linkLayer: nodes and the LLDP/CDP links between them."""
    nodes, links, seen = {}, [], set()
    for serial in network_serials(org, network_id):
        device = org.devices[serial]
        if device['productType'] != 'sensor':
            info = advertised(org, {'serial': serial, 'portId': ''})
            node_id, node = _node(org, {'serial': serial}, info, network_id)
            nodes.setdefault(node_id, node)
        for _own, _other, link in org.links_of(serial):
            if id(link) in seen:
                continue
            seen.add(id(link))
            ends = []
            for end in (link['a'], link['b']):
                info = advertised(org, end)
                node_id, node = _node(org, end, info, network_id)
                nodes.setdefault(node_id, node)
                item = {
                    'node': {'derivedId': node_id, 'type': node['type']},
                    'discovered': {
                        'lldp': {'portId': info['portId'], 'portDescription': info['portDescription']}
                        if 'lldp' in link['protocols']
                        else None,
                        'cdp': {'portId': info['cdpPortId']} if 'cdp' in link['protocols'] else None,
                    },
                }
                if end.get('serial'):
                    item['device'] = {'serial': end['serial'], 'name': node['device']['name']}
                ends.append(item)
            links.append({'ends': ends, 'lastReportedAt': last_reported(org, serial)})
    return {'nodes': list(nodes.values()), 'links': links, 'errors': []}


def network_firmware_upgrades(org, network_id):
    """GET /networks/{networkId}/firmwareUpgrades."""
    network = org.networks[network_id]
    products = {}
    for product in network['productTypes']:
        found = Counter(
            org.devices[serial]['firmware']
            for serial in network_serials(org, network_id)
            if org.devices[serial]['productType'] == product
        )
        firmware = found.most_common(1)[0][0] if found else FIRMWARE[PRODUCT_FAMILY[product]][0]
        current = firmware_version(firmware)
        products[product] = {
            'currentVersion': current,
            'lastUpgrade': {
                'time': timestamp(EPOCH + timedelta(days=20)),
                'fromVersion': firmware_version(previous_firmware(firmware)),
                'toVersion': current,
            },
            'nextUpgrade': {'time': '', 'toVersion': {}},
            'availableVersions': [current],
            'participateInNextBetaRelease': False,
        }
    return {
        'upgradeWindow': {'dayOfWeek': 'sun', 'hourOfDay': '4:00'},
        'timezone': network['timeZone'],
        'products': products,
    }


def device(org, serial):
    """GET /devices/{serial}."""
    return org.devices[serial]


def device_switch_ports(org, serial):
    """GET /devices/{serial}/switch/ports."""
    if model_info(org.devices[serial]['model']).family != 'MS':
        raise ApiError(400, 'This endpoint only supports switches')
    return org.switch_ports.get(serial, [])


def device_lldp_cdp(org, serial):
    """GET /devices/{serial}/lldpCdp."""
    ports = {}
    for own, other, link in org.links_of(serial):
        info = advertised(org, other)
        entry = {}
        if 'cdp' in link['protocols']:
            entry['cdp'] = cdp_dict(info, source_port=own['portId'])
        if 'lldp' in link['protocols']:
            entry['lldp'] = lldp_dict(info, source_port=own['portId'])
        ports[own['portId']] = entry
    return {'sourceMac': org.devices[serial]['mac'], 'ports': ports}


def device_management_interface(org, serial):
    """GET /devices/{serial}/managementInterface."""
    unset = {'wan1': {'wanEnabled': 'not configured', 'usingStaticIp': False, 'vlan': None}}
    return org.management.get(serial) or unset
