"""Changes tests make to the Dashboard between syncs. Each keeps the data consistent and returns what it changed.

Every function takes the Dashboard first; callers hold ``dashboard.lock``. Unknown ids raise LookupError, and
invalid values ValueError. Configuration changes are logged with the current time, as the Dashboard would.
"""

import copy
import ipaddress
from datetime import UTC, datetime

from .catalog import FIRMWARE, device_url, model_info, serve_unknown_model, timestamp
from .layout import DEFAULT_SINGLE_LAN
from .settings import new_port, new_ssids

__all__ = ('MUTATIONS',)

STATUSES = ('online', 'offline', 'alerting', 'dormant')


def _network_org(dashboard, network_id):
    org = dashboard.org_of_network(network_id)
    if org is None:
        raise LookupError(f'Unknown network {network_id}')
    return org


def _device_org(dashboard, serial, assigned=True):
    org = dashboard.org_of_device(serial)
    if org is None or (assigned and serial not in org.devices):
        raise LookupError(f'Unknown device {serial}' if org is None else f'Device {serial} is not in a network')
    return org


def _now():
    return timestamp(datetime.now(UTC))


def _log(org, network_id, label, old, new, page='via API', ssid=None):
    # A template's changes are logged under its id, as a network's are.
    network = org.networks.get(network_id) or org.config_templates.get(network_id) or {}
    org.config_changes.append(
        {
            'ts': _now(),
            'adminName': 'Simulator',
            'adminEmail': 'simulator@example.com',
            'adminId': '100001',
            'networkName': network.get('name'),
            'networkId': network_id,
            'networkUrl': network.get('url'),
            'ssidName': ssid['name'] if ssid else None,
            'ssidNumber': ssid['number'] if ssid else None,
            'page': page,
            'label': label,
            'oldValue': '' if old is None else str(old),
            'newValue': '' if new is None else str(new),
            'client': {'id': None, 'type': 'API key'},
        }
    )
    org.touch()


def _drop_links(org, serial, port_id=None):
    def touches(end):
        return end.get('serial') == serial and (port_id is None or end['portId'] == port_id)

    removed = [link for link in org.links if touches(link['a']) or touches(link['b'])]
    org.links = [link for link in org.links if not (touches(link['a']) or touches(link['b']))]
    return removed


def _ensure_product(org, network, product):
    """Give a network a product it gains with a new device, as claiming into a network does."""
    if product in network['productTypes']:
        return
    network['productTypes'] = sorted([*network['productTypes'], product])
    if product == 'wireless':
        org.ssids.setdefault(network['id'], new_ssids())
    if product == 'appliance':
        org.vlans_enabled.setdefault(network['id'], False)
        subnet = ipaddress.ip_network(DEFAULT_SINGLE_LAN)
        org.single_lan.setdefault(
            network['id'],
            {
                'subnet': str(subnet),
                'applianceIp': str(subnet[1]),
                'ipv6': {'enabled': False},
                'mandatoryDhcp': {'enabled': False},
            },
        )


def _unstack(org, serial):
    """Take a switch out of its stack, as removing it from its network does; a stack left with no member goes."""
    for network_id, stacks in list(org.stacks.items()):
        for stack in stacks:
            if serial in stack['serials']:
                stack['serials'].remove(serial)
        org.stacks[network_id] = [stack for stack in stacks if stack['serials']]


def _unassign(org, serial):
    _unstack(org, serial)
    device = org.devices.pop(serial)
    org.inventory[serial]['networkId'] = None
    for table in (org.statuses, org.uplinks, org.management):
        table.pop(serial, None)
    _drop_links(org, serial)
    return device


def rename_device(dashboard, serial, name):
    """Rename a device (name may be '' or None)."""
    org = _device_org(dashboard, serial)
    device = org.devices[serial]
    old, device['name'] = device['name'], name
    org.inventory[serial]['name'] = name
    device['configurationUpdatedAt'] = _now()
    _log(org, device['networkId'], 'Device name', old, name)
    return copy.deepcopy(device)


def remove_device(dashboard, serial):
    """Remove a device from its network; it stays in the inventory, unassigned, and loses its links."""
    org = _device_org(dashboard, serial)
    device = _unassign(org, serial)
    _log(org, device['networkId'], 'Device removed', serial, None)
    return copy.deepcopy(device)


def add_device(dashboard, network_id, model='MS120-8LP', name=None, status='online'):
    """Claim a new device into a network; returns its serial."""
    org = _network_org(dashboard, network_id)
    network = org.networks[network_id]
    info = model_info(model)
    serial, mac = dashboard.ids.serial(info.family), dashboard.ids.mac()
    peers = [org.devices[s] for s in sorted(org.devices) if org.devices[s]['networkId'] == network_id]
    lan_ip = None
    if info.family not in ('MX', 'Z', 'MT') and status != 'dormant':
        lan_ip = _next_lan_ip(peers)
    device = {
        'name': name,
        'lat': peers[0]['lat'] if peers else None,
        'lng': peers[0]['lng'] if peers else None,
        'address': peers[0]['address'] if peers else '',
        'notes': '',
        'tags': [],
        'networkId': network_id,
        'serial': serial,
        'model': model,
        'mac': mac,
        'lanIp': lan_ip,
        'firmware': FIRMWARE[info.family][0],
        'productType': info.product_type,
        'details': [],
        'configurationUpdatedAt': _now(),
        'url': device_url(network['url'], mac),
    }
    _ensure_product(org, network, info.product_type)
    org.devices[serial] = device
    org.statuses[serial] = status
    org.inventory[serial] = {
        'mac': mac,
        'serial': serial,
        'name': name,
        'model': model,
        'networkId': network_id,
        'orderNumber': '4C0000000',
        'claimedAt': _now(),
        'licenseExpirationDate': None,
        'tags': [],
        'productType': info.product_type,
        'countryCode': 'US',
        'details': [],
    }
    interface = info.wan_ports[0] if info.wan_ports else 'man1'
    org.uplinks[serial] = (
        [
            {
                'interface': interface,
                'status': 'active',
                'ip': lan_ip,
                'gateway': None,
                'publicIp': None,
                'primaryDns': '8.8.8.8',
                'secondaryDns': '8.8.4.4',
                'ipAssignedBy': 'dhcp',
            }
        ]
        if lan_ip
        else []
    )
    org.management[serial] = {'wan1': {'wanEnabled': 'not configured', 'usingStaticIp': False, 'vlan': None}}
    if info.family == 'MS':
        org.switch_ports[serial] = [new_port(info, port_id) for port_id in info.ports]
    _log(org, network_id, 'Device added', None, serial)
    return serial


def _next_lan_ip(peers):
    """The address DHCP would hand out next in a network: one above the highest its devices use."""
    addresses = [ipaddress.ip_address(peer['lanIp']) for peer in peers if peer['lanIp']]
    return str(max(addresses) + 1) if addresses else '10.254.0.10'


def move_device(dashboard, serial, network_id):
    """
    Move a device to another network; its links go, as after recabling, and a device with a LAN address takes a
    new one in its new network. A network of another organization moves the device there, as releasing it from
    one organization's inventory and claiming it into the other's does: same serial, gone from the first.
    """
    org = _device_org(dashboard, serial)
    target = _network_org(dashboard, network_id)
    device = org.devices[serial]
    old = device['networkId']
    _drop_links(org, serial)
    _unstack(org, serial)
    if target is not org:
        _transfer(org, target, serial)
        _log(org, old, 'Device removed', serial, None)
    if device['lanIp']:
        peers = [target.devices[s] for s in sorted(target.devices)
                 if target.devices[s]['networkId'] == network_id and s != serial]
        device['lanIp'] = _next_lan_ip(peers)
        for uplink in target.uplinks.get(serial, []):
            if uplink.get('ip'):
                uplink['ip'] = device['lanIp']
    device['networkId'] = target.inventory[serial]['networkId'] = network_id
    _ensure_product(target, target.networks[network_id], device['productType'])
    _log(target, network_id, 'Device moved', old, network_id)
    return copy.deepcopy(device)


def _transfer(org, target, serial):
    """Hand a device and everything kept per device over to another organization."""
    for table in ('devices', 'inventory', 'statuses', 'uplinks', 'management', 'switch_ports'):
        source = getattr(org, table)
        if serial in source:
            getattr(target, table)[serial] = source.pop(serial)


def rename_network(dashboard, network_id, name):
    """Rename a network; names are unique within an organization."""
    org = _network_org(dashboard, network_id)
    if any(n['name'] == name and n['id'] != network_id for n in org.networks.values()):
        raise ValueError(f'A network named {name!r} already exists')
    network = org.networks[network_id]
    old, network['name'] = network['name'], name
    _log(org, network_id, 'Network name', old, name, page='Network-wide settings')
    return copy.deepcopy(network)


def remove_network(dashboard, network_id):
    """Delete a network: its devices become unassigned inventory; its VLANs, SSIDs and links go."""
    org = _network_org(dashboard, network_id)
    serials = [s for s in sorted(org.devices) if org.devices[s]['networkId'] == network_id]
    for serial in serials:
        _unassign(org, serial)
    for table in (org.vlans, org.vlans_enabled, org.single_lan, org.ssids, org.stacks):
        table.pop(network_id, None)
    network = org.networks.pop(network_id)
    _log(org, network_id, 'Network deleted', network['name'], None, page='Organization overview')
    return {'network': copy.deepcopy(network), 'unassigned': serials}


def add_network(dashboard, org_id, name, product_types, time_zone='America/Los_Angeles', tags=()):
    """Create an empty network; returns its id."""
    org = dashboard.orgs.get(org_id)
    if org is None:
        raise LookupError(f'Unknown organization {org_id}')
    if any(n['name'] == name for n in org.networks.values()):
        raise ValueError(f'A network named {name!r} already exists')
    product_types = sorted(set(product_types))
    network_id = ('L_' if len(product_types) > 1 else 'N_') + dashboard.ids.number(18)
    org.networks[network_id] = network = {
        'id': network_id,
        'organizationId': org_id,
        'name': name,
        'productTypes': [],
        'timeZone': time_zone,
        'tags': sorted(tags),
        'enrollmentString': None,
        'url': f'https://n1.meraki.com/{name.replace(" ", "-")}/n/{dashboard.ids.token(8)}/manage/usage/list',
        'notes': '',
        'isBoundToConfigTemplate': False,
    }
    for product in product_types:
        _ensure_product(org, network, product)
    _log(org, network_id, 'Network created', None, name, page='Organization overview')
    return network_id


def _template(org, template_id):
    template = org.config_templates.get(template_id)
    if template is None:
        raise LookupError(f'Unknown configuration template {template_id}')
    return template


def bind_network(dashboard, network_id, template_id):
    """Bind a network to a configuration template of its organization."""
    org = _network_org(dashboard, network_id)
    template = _template(org, template_id)
    network = org.networks[network_id]
    if network['isBoundToConfigTemplate']:
        raise ValueError(f'Network {network_id} is already bound to template {network["configTemplateId"]}')
    network.update(isBoundToConfigTemplate=True, configTemplateId=template_id)
    _log(org, network_id, 'Configuration template', None, template['name'], page='Network-wide settings')
    return copy.deepcopy(network)


def unbind_network(dashboard, network_id):
    """Unbind a network from its configuration template; it keeps its settings, as with retainConfigs."""
    org = _network_org(dashboard, network_id)
    network = org.networks[network_id]
    if not network['isBoundToConfigTemplate']:
        raise ValueError(f'Network {network_id} is not bound to a template')
    template = org.config_templates.get(network.pop('configTemplateId'), {})
    network['isBoundToConfigTemplate'] = False
    _log(org, network_id, 'Configuration template', template.get('name'), None, page='Network-wide settings')
    return copy.deepcopy(network)


def rename_template(dashboard, org_id, template_id, name):
    """Rename a configuration template; the change is logged under the template's id, as its other settings are."""
    org = dashboard.orgs.get(org_id)
    if org is None:
        raise LookupError(f'Unknown organization {org_id}')
    template = _template(org, template_id)
    old, template['name'] = template['name'], name
    _log(org, template_id, 'Template name', old, name, page='Network-wide settings')
    return copy.deepcopy(template)


def remove_template(dashboard, org_id, template_id):
    """Delete a configuration template; its networks are unbound first."""
    org = dashboard.orgs.get(org_id)
    if org is None:
        raise LookupError(f'Unknown organization {org_id}')
    _template(org, template_id)
    bound = [n for n in sorted(org.networks) if org.networks[n].get('configTemplateId') == template_id]
    for network_id in bound:
        unbind_network(dashboard, network_id)
    template = org.config_templates.pop(template_id)
    org.touch()
    return {'template': copy.deepcopy(template), 'unbound': bound}


def set_vlan_subnet(dashboard, network_id, vlan_id, subnet, appliance_ip=None):
    """Change a VLAN's subnet and appliance IP (default: the subnet's first host)."""
    org = _network_org(dashboard, network_id)
    vlan = next((v for v in org.vlans.get(network_id, []) if str(v['id']) == str(vlan_id)), None)
    if vlan is None:
        raise LookupError(f'Network {network_id} has no VLAN {vlan_id}')
    network = ipaddress.ip_network(subnet, strict=False)
    old = vlan['subnet']
    vlan['subnet'] = str(network)
    vlan['applianceIp'] = appliance_ip or str(network[1])
    _log(org, network_id, 'VLAN subnet', old, vlan['subnet'], page='Addressing & VLANs')
    return copy.deepcopy(vlan)


def _ssid(org, network_id, number):
    ssids = org.ssids.get(network_id)
    if ssids is None:
        raise LookupError(f'Network {network_id} has no SSIDs')
    if not 0 <= int(number) < len(ssids):
        raise LookupError(f'No SSID number {number}')
    return ssids[int(number)]


def disable_ssid(dashboard, network_id, number):
    """Disable an SSID slot."""
    org = _network_org(dashboard, network_id)
    ssid = _ssid(org, network_id, number)
    ssid['enabled'] = False
    _log(org, network_id, 'SSID enabled', 'true', 'false', page='SSIDs', ssid=ssid)
    return copy.deepcopy(ssid)


def rename_ssid(dashboard, network_id, number, name):
    """Rename an SSID slot."""
    org = _network_org(dashboard, network_id)
    ssid = _ssid(org, network_id, number)
    old, ssid['name'] = ssid['name'], name
    _log(org, network_id, 'SSID name', old, name, page='SSIDs', ssid=ssid)
    return copy.deepcopy(ssid)


def set_port_vlans(dashboard, serial, port_id, vlan=None, allowed_vlans=None, type=None):
    """Change a switch port's mode, (native) VLAN and allowed VLANs; arguments left None stay as they are."""
    org = _device_org(dashboard, serial)
    port = next((p for p in org.switch_ports.get(serial, []) if p['portId'] == str(port_id)), None)
    if port is None:
        raise LookupError(f'Device {serial} has no switch port {port_id}')
    if type not in (None, 'access', 'trunk'):
        raise ValueError(f'Invalid port type {type!r}')
    old = f'{port["type"]} {port["vlan"]} {port["allowedVlans"]}'
    for key, value in (('vlan', vlan), ('allowedVlans', allowed_vlans), ('type', type)):
        if value is not None:
            port[key] = value
    _log(
        org,
        org.devices[serial]['networkId'],
        'Switch port',
        old,
        f'{port["type"]} {port["vlan"]} {port["allowedVlans"]}',
        page='Switch ports',
    )
    return copy.deepcopy(port)


def recable(dashboard, serial_a, port_a, serial_b, port_b):
    """Connect two ports, replacing whatever either was connected to."""
    org = _device_org(dashboard, serial_a)
    if _device_org(dashboard, serial_b) is not org:
        raise ValueError('Both devices must be in the same organization')
    _drop_links(org, serial_a, str(port_a))
    _drop_links(org, serial_b, str(port_b))
    link = {
        'a': {'serial': serial_a, 'portId': str(port_a)},
        'b': {'serial': serial_b, 'portId': str(port_b)},
        'protocols': ['cdp', 'lldp'],
    }
    org.links.append(link)
    org.touch()
    return copy.deepcopy(link)


def remove_link(dashboard, serial, port_id):
    """Unplug whatever is connected to a port; returns the links removed."""
    org = _device_org(dashboard, serial)
    removed = _drop_links(org, serial, str(port_id))
    org.touch()
    return copy.deepcopy(removed)


def connect_neighbour(dashboard, serial, port_id, system_name, remote_port, platform='cisco C9300-48P',
                      description='Cisco IOS XE Software, C9300', capabilities='Switch', management_address=None):
    """
    Connect a switch port to a device that is not a Meraki device, advertising `system_name` and `remote_port` over
    LLDP and CDP; whatever the port was connected to is unplugged. Returns the new link.
    """
    org = _device_org(dashboard, serial)
    if not any(port['portId'] == str(port_id) for port in org.switch_ports.get(serial, [])):
        raise LookupError(f'Device {serial} has no switch port {port_id}')
    if not str(system_name).strip() or not str(remote_port).strip():
        raise ValueError('A neighbour needs a system name and a port')
    _drop_links(org, serial, str(port_id))
    link = {
        'a': {'serial': serial, 'portId': str(port_id)},
        'b': {
            'serial': None, 'portId': str(remote_port), 'systemName': str(system_name),
            'chassisId': dashboard.ids.foreign_mac('70:ea:1a'), 'managementAddress': management_address,
            'systemDescription': description, 'platform': platform, 'capabilities': capabilities,
        },
        'protocols': ['cdp', 'lldp'],
    }
    org.links.append(link)
    org.touch()
    return copy.deepcopy(link)


def set_device_status(dashboard, serial, status):
    """Set a device's availability status."""
    if status not in STATUSES:
        raise ValueError(f'Invalid status {status!r}; use one of {", ".join(STATUSES)}')
    org = _device_org(dashboard, serial)
    old, org.statuses[serial] = org.statuses[serial], status
    org.touch()
    return {'serial': serial, 'status': status, 'previous': old}


# Raw edits: they set fields as given, without checking the values, so that tests can put the odd data a real
# Dashboard may hold (unnamed devices, duplicate or 255-character names, VLAN id 0, subnets that do not parse).


def edit_device(dashboard, serial, **fields):
    """Set fields of a device as given (its inventory entry follows name and model)."""
    org = _device_org(dashboard, serial)
    device = org.devices[serial]
    for key in ('serial', 'networkId'):
        if key in fields:
            raise ValueError(f'{key} cannot be edited: use move_device or remove_device')
    if 'model' in fields:
        serve_unknown_model(fields['model'], device['model'])
    device.update(fields)
    for key in ('name', 'model'):
        if key in fields:
            org.inventory[serial][key] = fields[key]
    _log(org, device['networkId'], 'Device edited', None, ', '.join(sorted(fields)))
    return copy.deepcopy(device)


def edit_network(dashboard, network_id, **fields):
    """Set fields of a network as given (names are not checked for uniqueness)."""
    org = _network_org(dashboard, network_id)
    if 'id' in fields:
        raise ValueError('id cannot be edited')
    network = org.networks[network_id]
    network.update(fields)
    _log(org, network_id, 'Network edited', None, ', '.join(sorted(fields)), page='Network-wide settings')
    return copy.deepcopy(network)


def edit_vlan(dashboard, network_id, vlan_id, **fields):
    """Set fields of an appliance VLAN as given, its id included."""
    org = _network_org(dashboard, network_id)
    vlan = next((v for v in org.vlans.get(network_id, []) if str(v['id']) == str(vlan_id)), None)
    if vlan is None:
        raise LookupError(f'Network {network_id} has no VLAN {vlan_id}')
    vlan.update(fields)
    _log(org, network_id, 'VLAN edited', None, ', '.join(sorted(fields)), page='Addressing & VLANs')
    return copy.deepcopy(vlan)


def edit_ssid(dashboard, network_id, number, **fields):
    """Set fields of an SSID slot as given (its VLAN tagging: useVlanTagging, defaultVlanId, ...)."""
    org = _network_org(dashboard, network_id)
    ssid = _ssid(org, network_id, number)
    if 'number' in fields:
        raise ValueError('number cannot be edited')
    ssid.update(fields)
    _log(org, network_id, 'SSID edited', None, ', '.join(sorted(fields)), page='SSIDs', ssid=ssid)
    return copy.deepcopy(ssid)


def add_vlan(dashboard, network_id, vlan_id, name, subnet, appliance_ip=None):
    """Add an appliance VLAN as given, to a network with VLANs enabled."""
    org = _network_org(dashboard, network_id)
    if network_id not in org.vlans:
        raise ValueError(f'Network {network_id} has no appliance VLANs')
    vlan = {
        'id': vlan_id, 'interfaceId': dashboard.ids.number(15), 'name': name, 'subnet': subnet,
        'applianceIp': appliance_ip, 'groupPolicyId': None, 'dhcpHandling': 'Run a DHCP server',
    }
    org.vlans[network_id].append(vlan)
    _log(org, network_id, 'VLAN added', None, name, page='Addressing & VLANs')
    return copy.deepcopy(vlan)


def _stack(org, network_id, stack_id):
    stack = next((stack for stack in org.stacks.get(network_id, []) if stack['id'] == str(stack_id)), None)
    if stack is None:
        raise LookupError(f'Network {network_id} has no switch stack {stack_id}')
    return stack


def create_switch_stack(dashboard, network_id, name, serials):
    """Stack two or more switches of a network, in the order given; returns the stack."""
    org = _network_org(dashboard, network_id)
    serials = [str(serial) for serial in serials]
    stacked = {serial for stack in org.stacks.get(network_id, []) for serial in stack['serials']}
    if len(serials) < 2 or len(set(serials)) != len(serials):
        raise ValueError('A stack needs two or more distinct switches')
    for serial in serials:
        device = org.devices.get(serial)
        if device is None or device['networkId'] != network_id or device['productType'] != 'switch':
            raise ValueError(f'{serial} is not a switch of network {network_id}')
        if serial in stacked:
            raise ValueError(f'{serial} is already in a stack')
    stack = {'id': dashboard.ids.number(18), 'name': name, 'serials': serials}
    org.stacks.setdefault(network_id, []).append(stack)
    _log(org, network_id, 'Switch stack created', None, name, page='Switch stacks')
    return copy.deepcopy(stack)


def delete_switch_stack(dashboard, network_id, stack_id):
    """Delete a stack; its switches stay in the network, unstacked."""
    org = _network_org(dashboard, network_id)
    stack = _stack(org, network_id, stack_id)
    org.stacks[network_id].remove(stack)
    _log(org, network_id, 'Switch stack deleted', stack['name'], None, page='Switch stacks')
    return copy.deepcopy(stack)


def rename_switch_stack(dashboard, network_id, stack_id, name):
    """Rename a stack."""
    org = _network_org(dashboard, network_id)
    stack = _stack(org, network_id, stack_id)
    old, stack['name'] = stack['name'], name
    _log(org, network_id, 'Switch stack name', old, name, page='Switch stacks')
    return copy.deepcopy(stack)


def remove_switch_from_stack(dashboard, network_id, stack_id, serial):
    """Take a switch out of a stack (a stack left with no member goes); the switch stays in the network."""
    org = _network_org(dashboard, network_id)
    stack = _stack(org, network_id, stack_id)
    if serial not in stack['serials']:
        raise LookupError(f'{serial} is not in switch stack {stack_id}')
    _unstack(org, serial)
    _log(org, network_id, 'Switch stack member removed', serial, None, page='Switch stacks')
    return copy.deepcopy(stack)


MUTATIONS = {
    function.__name__: function
    for function in (
        rename_device,
        remove_device,
        add_device,
        move_device,
        rename_network,
        remove_network,
        add_network,
        bind_network,
        unbind_network,
        rename_template,
        remove_template,
        set_vlan_subnet,
        disable_ssid,
        rename_ssid,
        set_port_vlans,
        recable,
        remove_link,
        connect_neighbour,
        set_device_status,
        edit_device,
        edit_network,
        edit_vlan,
        edit_ssid,
        add_vlan,
        create_switch_stack,
        delete_switch_stack,
        rename_switch_stack,
        remove_switch_from_stack,
    )
}
