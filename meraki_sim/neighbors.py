"""LLDP/CDP views of the links: what each end of a link advertises, in the shapes of the various endpoints."""

from .catalog import model_info

__all__ = ('advertised', 'cdp_dict', 'cdp_tlvs', 'derived_id', 'lldp_dict', 'lldp_tlvs')

DESCRIPTION = {
    'MX': 'Cloud Managed Security Appliance',
    'Z': 'Cloud Managed Teleworker Gateway',
    'MS': 'Cloud Managed Switch',
    'MR': 'Cloud Managed AP',
    'MG': 'Cloud Managed Cellular Gateway',
    'MV': 'Cloud Managed Smart Camera',
    'MT': 'Cloud Managed Sensor',
}
CAPABILITIES = {
    'MX': 'Router',
    'Z': 'Router',
    'MS': 'Switch',
    'MR': 'WLAN access point',
    'MG': 'Router',
    'MV': 'Other',
    'MT': 'Other',
}


def advertised(org, end):
    """What the device at one end of a link advertises about itself and that port."""
    serial = end.get('serial')
    if not serial:
        return {
            'systemName': end['systemName'],
            'systemDescription': end['systemDescription'],
            'chassisId': end['chassisId'],
            'portId': end['portId'],
            'portDescription': end['portId'],
            'managementAddress': end.get('managementAddress'),
            'platform': end['platform'],
            'capabilities': end['capabilities'],
            'deviceId': end['systemName'],
            'cdpPortId': end['portId'],
        }
    device = org.devices.get(serial) or org.inventory[serial]
    model = model_info(device['model'])
    port = end['portId']
    switch_port = model.family == 'MS'
    return {
        'systemName': f'Meraki {model.name} - {device["name"] or serial}',
        'systemDescription': f'Meraki {model.name} {DESCRIPTION[model.family]}',
        'chassisId': device['mac'],
        'portId': port,
        'portDescription': f'Port {port}' if switch_port else port,
        'managementAddress': device.get('lanIp'),
        'platform': f'Meraki {model.name}',
        'capabilities': CAPABILITIES[model.family],
        'deviceId': device['mac'].replace(':', ''),
        'cdpPortId': f'Port {port}' if switch_port else port,
    }


def lldp_dict(info, source_port=None):
    """LLDP neighbour as /devices/{serial}/lldpCdp and the port statuses report it."""
    data = {
        'systemName': info['systemName'],
        'systemDescription': info['systemDescription'],
        'chassisId': info['chassisId'],
        'portId': info['portId'],
        'portDescription': info['portDescription'],
        'managementAddress': info['managementAddress'],
        'systemCapabilities': info['capabilities'],
    }
    if source_port is not None:
        data = {'sourcePort': source_port, **data}
    return data


def cdp_dict(info, source_port=None):
    """CDP neighbour as /devices/{serial}/lldpCdp and the port statuses report it."""
    data = {
        'deviceId': info['deviceId'],
        'portId': info['cdpPortId'],
        'address': info['managementAddress'],
        'platform': info['platform'],
        'capabilities': info['capabilities'],
        'version': '1',
    }
    if source_port is not None:
        data = {'sourcePort': source_port, **data}
    return data


def lldp_tlvs(info):
    """LLDP neighbour as name/value TLVs, the shape of the topology discovery endpoint."""
    pairs = (
        ('System name', info['systemName']),
        ('Chassis ID', info['chassisId']),
        ('Port ID', info['portId']),
        ('Port description', info['portDescription']),
        ('System description', info['systemDescription']),
        ('System capabilities', info['capabilities']),
        ('Management address', info['managementAddress']),
    )
    return [{'name': name, 'value': value} for name, value in pairs if value is not None]


def cdp_tlvs(info):
    """CDP neighbour as name/value TLVs, the shape of the topology discovery endpoint."""
    pairs = (
        ('Device ID', info['deviceId']),
        ('Port ID', info['cdpPortId']),
        ('Address', info['managementAddress']),
        ('Platform', info['platform']),
        ('Capabilities', info['capabilities']),
    )
    return [{'name': name, 'value': value} for name, value in pairs if value is not None]


def derived_id(mac):
    """The stable node id the link layer topology gives a device, from its MAC."""
    return str(int(mac.replace(':', ''), 16))
