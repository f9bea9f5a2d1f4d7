"""
Map what lives inside networks: appliance VLANs and subnets (VLAN groups, VLANs, prefixes, VRFs, the
appliance's SVIs and addresses), switch ports, SSIDs and AP radios, switch stacks as virtual chassis, and LLDP/CDP
links as cables.
Pure functions, like mapping.py.
"""

import ipaddress
import re

from django.utils.text import slugify

from .mapping import Record, Ref, interface_name, network_vrf
from .rules import prefix_allowed

__all__ = ('map_network_contents', 'map_stacks', 'parse_vlan_list')

VID_RANGE = range(1, 4095)
VIRTUAL_CHASSIS_NAME_MAX = 64
# An SSID's security in NetBox's terms (WirelessAuthTypeChoices, WirelessAuthCipherChoices), for every value the
# Dashboard API documents (a test reads the lists from the installed SDK). Enhanced open (OWE) and MAC or NAC checks
# without a key are "open": NetBox has no type for them, and they ask the client for no credential.
SSID_AUTH = {
    'open': 'open', 'open-enhanced': 'open', 'open-with-radius': 'open', 'open-enhanced-with-radius': 'open',
    'open-with-nac': 'open',
    'psk': 'wpa-personal', 'ipsk-with-radius': 'wpa-personal', 'ipsk-with-radius-easy-psk': 'wpa-personal',
    'ipsk-without-radius': 'wpa-personal', 'ipsk-with-nac': 'wpa-personal',
    '8021x-meraki': 'wpa-enterprise', '8021x-nac': 'wpa-enterprise', '8021x-radius': 'wpa-enterprise',
    '8021x-google': 'wpa-enterprise', '8021x-entra': 'wpa-enterprise', '8021x-localradius': 'wpa-enterprise',
}
# encryptionMode: the auth type it stands for in place of authMode's (a 'psk' SSID with WEP is WEP), or None.
SSID_ENCRYPTION = {'open': None, 'wep': 'wep', 'wpa': None, 'wpa-eap': None}
# wpaEncryptionMode: WPA1 is TKIP, WPA2 and WPA3 are AES (CCMP or GCMP-256), and a WPA1/WPA2 mix negotiates.
SSID_CIPHER = {
    'WPA1 only': 'tkip', 'WPA1 and WPA2': 'auto', 'WPA2 only': 'aes', 'WPA3 Transition Mode': 'aes',
    'WPA3 only': 'aes', 'WPA3 192-bit Security': 'aes',
}
RADIO_TYPE = 'ieee802.11ax'
SWITCH_PORT_TYPE = '1000base-t'


def parse_vlan_list(text):
    """
    Meraki's allowedVlans ('1,3,5-10', 'all', '') as a sorted list of VLAN ids, or 'all'. Ids outside 1-4094
    and malformed parts raise ValueError.
    """
    text = (text or '').replace(' ', '')
    if text.lower() == 'all':
        return 'all'
    vids = set()
    for part in filter(None, text.split(',')):
        match = re.fullmatch(r'(\d+)(?:-(\d+))?', part)
        if not match:
            raise ValueError(f'{part!r} is not a VLAN id or range')
        first, last = int(match[1]), int(match[2] or match[1])
        if first > last or first not in VID_RANGE or last not in VID_RANGE:
            raise ValueError(f'{part!r} is outside 1-4094')
        vids.update(range(first, last + 1))
    return sorted(vids)


def vlan_id(value):
    """Meraki documents VLAN ids as strings and often sends integers: accept both, refuse the rest."""
    try:
        vid = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return vid if vid in VID_RANGE else None


def map_network_contents(snapshot, networks, devices_by_network, options, records):
    ports_by_network = {}
    for switch in snapshot.switch_ports or []:
        network_id = (switch.get('network') or {}).get('id')
        if switch['serial'] in records['device'] and network_id in networks:
            ports_by_network.setdefault(network_id, []).append(switch)
    for network_id, network in networks.items():
        site = records['site'][network_id]
        appliance = next((d['serial'] for d in sorted(devices_by_network.get(network_id, []), key=lambda d: d['serial'])
                          if d.get('productType') == 'appliance' and d['serial'] in records['device']), None)
        vlans = map_addressing(snapshot, network_id, site, appliance, options, records)
        # Without the network's VLANs, its ports' VLANs cannot be told apart from unknown ones: leave them alone.
        vlans_known = not snapshot.network_failed('vlans', network_id)
        map_switch_ports(ports_by_network.get(network_id, []), network_id, site, vlans, options, records, vlans_known)
        map_wireless(snapshot, network_id, site, devices_by_network.get(network_id, []), options, records)
    if snapshot.topology is not None:
        map_topology(snapshot, records, options)


def vlan_group(network_id, site, records):
    if network_id not in records['vlangroup']:
        name = site.values['name']
        records.add(Record('vlangroup', network_id, {
            'name': name, 'slug': slugify(f'{name}-{network_id}')[:100], 'scope': Ref('site', network_id),
        }, network_id=network_id, label=name))
    return Ref('vlangroup', network_id)


def add_vlan(network_id, site, vid, name, options, records, implied=False):
    """
    A VLAN of the network. One that only switch ports use (`implied`) gets a placeholder name when it is created,
    then keeps whatever name it has: a VLAN list that comes back empty never renames the appliance's VLANs.
    """
    records.add(Record('vlan', f'{network_id}:{vid}', {
        'group': vlan_group(network_id, site, records), 'vid': vid, 'name': options.name('vlan', name)[:64],
        'status': 'active',
    }, network_id=network_id, label=f'{vid} {name}', create_only=('name',) if implied else ()))


def map_addressing(snapshot, network_id, site, appliance, options, records):
    """Appliance VLANs (or the single LAN): VLANs, prefixes, the appliance's SVIs and addresses."""
    lans = []
    for vlan in snapshot.vlans.get(network_id, []):
        vid = vlan_id(vlan.get('id'))
        if vid is None:
            records.problems.append(f'network {network_id}: VLAN id {vlan.get("id")!r} is not 1-4094')
            continue
        lans.append((str(vid), vid, vlan.get('name') or f'VLAN {vid}', vlan.get('subnet'), vlan.get('applianceIp')))
    if network_id in snapshot.single_lan:
        lan = snapshot.single_lan[network_id]
        lans.append(('lan', None, 'LAN', lan.get('subnet'), lan.get('applianceIp')))

    vrf = network_vrf(network_id, options, records) if lans else None
    vlans = set()
    for key, vid, name, subnet, appliance_ip in lans:
        if vid is not None:
            add_vlan(network_id, site, vid, name, options, records)
            vlans.add(vid)
        try:
            prefix = ipaddress.ip_network(subnet, strict=False)
        except (TypeError, ValueError):
            records.problems.append(f'network {network_id} {name}: invalid subnet {subnet!r}')
            continue
        if not prefix_allowed(str(prefix), options.prefix_filters):
            continue
        identity = f'{network_id}:{key}'
        records.add(Record('prefix', identity, {
            'prefix': str(prefix), 'scope': Ref('site', network_id), 'vlan': Ref('vlan', f'{network_id}:{vid}')
            if vid is not None else None, 'vrf': vrf, 'status': 'active', 'description': name[:200],
        }, network_id=network_id, label=str(prefix)))
        if not appliance or not appliance_ip:
            continue
        try:
            address = ipaddress.ip_interface(f'{appliance_ip}/{prefix.prefixlen}')
        except ValueError:
            records.problems.append(f'network {network_id} {name}: invalid appliance IP {appliance_ip!r}')
            continue
        if address.ip not in prefix:
            records.problems.append(f'network {network_id} {name}: appliance IP {appliance_ip} is outside {prefix}')
            continue
        interface_name = f'Vlan{vid}' if vid is not None else 'LAN'
        interface_id = f'{appliance}:{interface_name.lower()}'
        records.add(Record('interface', interface_id, {
            'device': Ref('device', appliance), 'name': interface_name, 'type': 'virtual', 'enabled': True,
            'description': name[:200],
        }, network_id=network_id, label=f'{records["device"][appliance].values["name"]} {interface_name}'))
        records.add(Record('ipaddress', f'{identity}:appliance', {
            'address': str(address), 'vrf': vrf, 'status': 'active',
            'assigned_object': Ref('interface', interface_id), 'description': f'{name} gateway'[:200],
        }, network_id=network_id, label=str(address)))
    return vlans


def map_switch_ports(switches, network_id, site, vlans, options, records, vlans_known=True):
    """
    Switch ports become interfaces; VLANs the ports use that no appliance defines join the site's group. Without
    `vlans_known` (the appliance's VLANs could not be read), the ports' mode and VLANs are left out.
    """
    for switch in switches:
        serial = switch['serial']
        for port in switch.get('ports') or []:
            port_id = str(port.get('portId') or '').strip()
            if not port_id:
                records.problems.append(f'switch {serial}: port without an id')
                continue
            values = {
                'device': Ref('device', serial), 'type': SWITCH_PORT_TYPE,
                'name': interface_name(port_id, records['device'][serial], options),
                'enabled': bool(port.get('enabled', True)), 'description': (port.get('name') or '')[:200],
                'poe_mode': 'pse' if port.get('poeEnabled') else None,
            }
            try:
                if vlans_known:
                    values.update(port_vlans(port, network_id, site, vlans, options, records))
            except ValueError as exc:
                records.problems.append(f'switch {serial} port {port_id}: {exc}')
            records.add(Record('interface', f'{serial}:port/{port_id}', values, network_id=network_id,
                               label=f'{records["device"][serial].values["name"]} {port_id}'))


def port_vlans(port, network_id, site, vlans, options, records):
    """Mode, untagged and tagged VLANs of a port. A voice VLAN is tagged on an access port."""
    def use(vid):
        if vid not in vlans:
            add_vlan(network_id, site, vid, f'VLAN {vid}', options, records, implied=True)
            vlans.add(vid)
        return Ref('vlan', f'{network_id}:{vid}')

    native, voice = vlan_id(port.get('vlan')), vlan_id(port.get('voiceVlan'))
    if port.get('type') == 'trunk':
        allowed = parse_vlan_list(port.get('allowedVlans') or 'all')
        untagged = use(native) if native else None
        if allowed == 'all':
            return {'mode': 'tagged-all', 'untagged_vlan': untagged, 'tagged_vlans': []}
        # Only VLANs the network knows: an allowed range like 1-4094 does not create 4,094 VLANs.
        tagged = [Ref('vlan', f'{network_id}:{vid}') for vid in allowed if vid in vlans and vid != native]
        return {'mode': 'tagged', 'untagged_vlan': untagged, 'tagged_vlans': sorted(tagged, key=ref_key)}
    untagged = use(native) if native else None
    if voice:
        return {'mode': 'tagged', 'untagged_vlan': untagged, 'tagged_vlans': [use(voice)]}
    return {'mode': 'access' if untagged else None, 'untagged_vlan': untagged, 'tagged_vlans': []}


def ref_key(ref):
    return str(ref.meraki_id)


def ssid_security(ssid, records):
    """
    (auth type, cipher) of an SSID in NetBox's terms. A value Meraki adds after this plugin was written is reported
    once per sync and left blank rather than guessed: a wrong guess could show an open network as protected.
    """
    def known(field, table):
        value = ssid.get(field)
        message = f'SSID {field} {value!r} is not known to this plugin: left blank on wireless LANs'
        if value not in table and message not in records.problems:
            records.problems.append(message)
        return value in table

    if not known('authMode', SSID_AUTH):
        return None, None
    auth_type = SSID_AUTH[ssid['authMode']]
    if auth_type == 'open':
        return auth_type, None
    encryption = ssid.get('encryptionMode')
    if encryption is not None and not known('encryptionMode', SSID_ENCRYPTION):
        return auth_type, None
    if SSID_ENCRYPTION.get(encryption):
        return SSID_ENCRYPTION[encryption], None  # WEP: none of NetBox's ciphers
    if ssid.get('wpaEncryptionMode') is None or not known('wpaEncryptionMode', SSID_CIPHER):
        return auth_type, None
    return auth_type, SSID_CIPHER[ssid['wpaEncryptionMode']]


def map_wireless(snapshot, network_id, site, devices, options, records):
    """
    Enabled SSIDs (all, by setting) become wireless LANs in a per-network group, scoped to the network's site, with the
    VLAN they tag their clients' traffic with when the network has it; each AP gets a radio linked to the SSIDs it
    broadcasts.
    """
    lans = []
    for ssid in snapshot.ssids.get(network_id, []):
        number, name = ssid.get('number'), (ssid.get('name') or '').strip()
        if number is None or not name or not (ssid.get('enabled') or options.sync_disabled_ssids):
            continue
        if network_id not in records['wlangroup']:
            group = site.values['name']
            records.add(Record('wlangroup', network_id, {
                'name': group, 'slug': slugify(f'{group}-{network_id}')[:100],
            }, network_id=network_id, label=group))
        identity = f'{network_id}:{number}'
        auth_type, auth_cipher = ssid_security(ssid, records)
        values = {
            'ssid': options.name('ssid', name)[:32], 'group': Ref('wlangroup', network_id),
            'status': 'active' if ssid.get('enabled') else 'disabled', 'auth_type': auth_type,
            'auth_cipher': auth_cipher, 'scope': Ref('site', network_id),
        }
        if not snapshot.network_failed('vlans', network_id):
            values['vlan'] = ssid_vlan(ssid, network_id, records)
        records.add(Record('wirelesslan', identity, values, network_id=network_id, label=name))
        if ssid.get('enabled'):
            lans.append((Ref('wirelesslan', identity), ssid))
    if network_id not in snapshot.ssids:
        return  # SSIDs not read: leave the radios alone
    for device in devices:
        if device.get('productType') == 'wireless' and device['serial'] in records['device']:
            serial = device['serial']
            broadcast = [ref for ref, ssid in lans if broadcasts(ssid, device)]
            records.add(Record('interface', f'{serial}:radio0', {
                'device': Ref('device', serial), 'name': 'radio0', 'type': RADIO_TYPE, 'enabled': True,
                'wireless_lans': sorted(broadcast, key=ref_key),
            }, network_id=network_id, label=f'{records["device"][serial].values["name"]} radio0'))


def map_stacks(snapshot, networks, devices_by_network, records):
    """
    Each switch stack of a network becomes a virtual chassis; its switches are its members, at the position of their
    serial in Meraki's list (from 1), and the first is its master. Every other switch of the network is in no virtual
    chassis. A network whose stacks could not be read is left out: its switches keep what they have.
    """
    for network_id in networks:
        if snapshot.network_failed('stacks', network_id):
            continue
        switches = [device['serial'] for device in devices_by_network.get(network_id, [])
                    if device.get('productType') == 'switch' and device['serial'] in records['device']]
        members = {}  # serial -> (stack id, position)
        for stack in snapshot.stacks.get(network_id, []):
            stack_id, serials = stack.get('id') if isinstance(stack, dict) else None, []
            if isinstance(stack, dict) and isinstance(stack.get('serials'), list):
                serials = stack['serials']
            if not isinstance(stack_id, (str, int)) or str(stack_id) == '':
                records.problems.append(f'network {network_id}: switch stack without an id: {str(stack)[:100]}')
                continue
            stack_id = str(stack_id)
            name = (str(stack.get('name') or '').strip() or stack_id)[:VIRTUAL_CHASSIS_NAME_MAX]
            records.add(Record('virtualchassis', stack_id, {'name': name}, network_id=network_id, label=name))
            for position, serial in enumerate(serials, start=1):
                if serial in members:
                    records.problems.append(f'switch {serial}: in more than one stack of network {network_id}')
                elif serial in switches:
                    members[serial] = (stack_id, position)
            master = next((serial for serial in serials if members.get(serial, ('',))[0] == stack_id), None)
            if master:
                records.add(Record('vcmaster', stack_id, {'master': Ref('device', master)}, network_id=network_id,
                                   label=name))
        # Switches leaving a stack first, then members by position: a position is free before another takes it.
        for serial in sorted(switches, key=lambda serial: (serial in members, members.get(serial, ('', 0)))):
            stack_id, position = members.get(serial, (None, None))
            records.add(Record('vcmember', serial, {
                'virtual_chassis': Ref('virtualchassis', stack_id) if stack_id else None, 'vc_position': position,
            }, network_id=network_id, label=records['device'][serial].values['name']))


def ssid_vlan(ssid, network_id, records):
    """
    The VLAN an SSID tags its clients' traffic with (`defaultVlanId`, with VLAN tagging on in bridge mode or layer 3
    roaming), when the network has that VLAN in NetBox; else None. Per-AP-tag VLANs (`apTagsAndVlanIds`) have no place
    on a wireless LAN, which has one VLAN.
    """
    vid = vlan_id(ssid.get('defaultVlanId')) if ssid.get('useVlanTagging') else None
    identity = f'{network_id}:{vid}'
    return Ref('vlan', identity) if vid is not None and identity in records['vlan'] else None


def broadcasts(ssid, device):
    """Whether an AP broadcasts an (enabled) SSID: all do, unless the SSID is limited to APs with one of its tags."""
    if ssid.get('availableOnAllAps', True):
        return True
    return bool(set(ssid.get('availabilityTags') or ()) & set(device.get('tags') or ()))


def lldp_value(entries, name):
    for entry in entries or []:
        if entry.get('name') == name:
            return str(entry.get('value') or '').strip()
    return ''


def map_topology(snapshot, records, options):
    """
    LLDP/CDP neighbours seen on switch ports become cables when both ends are known: a Meraki device of this
    sync (matched by MAC), or a device already in NetBox with that name (its interface by name).
    """
    by_mac = {}
    for device in snapshot.devices or []:
        if device['serial'] in records['device'] and device.get('mac'):
            by_mac[re.sub(r'[^0-9a-f]', '', device['mac'].lower())] = device['serial']
    for switch in snapshot.topology:
        serial = switch['serial']
        if serial not in records['device']:
            continue
        for port in switch.get('ports') or []:
            local = f'{serial}:port/{port.get("portId")}'
            if local not in records['interface']:
                continue
            remote = neighbour_end(port, by_mac, records, options)
            if remote is None:
                continue
            a, b = sorted([Ref('interface', local), remote], key=lambda ref: (ref.kind, ref.meraki_id))
            identity = f'{a.meraki_id}|{b.meraki_id}'
            records.add(Record('cable', identity, {'a': a, 'b': b, 'status': 'connected'},
                               network_id=records['interface'][local].network_id, label=identity))


def neighbour_end(port, by_mac, records, options):
    """The far end of a port's LLDP (else CDP) neighbour as a reference, or None when it is unknown."""
    lldp, cdp = port.get('lldp'), port.get('cdp')
    chassis = lldp_value(lldp, 'Chassis ID') or lldp_value(cdp, 'Device ID')
    remote_port = lldp_value(lldp, 'Port ID') or re.sub(r'^Port ', '', lldp_value(cdp, 'Port ID'))
    if not remote_port:
        return None
    serial = by_mac.get(re.sub(r'[^0-9a-f]', '', chassis.lower()))
    if serial:
        for candidate in (f'{serial}:port/{remote_port}', f'{serial}:{remote_port}'):
            if candidate in records['interface']:
                return Ref('interface', candidate)
        device = records['device'][serial]
        # A port of a Meraki device that is not a switch (an AP's wired0, an appliance's LAN port).
        interface_id = f'{serial}:port/{remote_port}'
        records.add(Record('interface', interface_id, {
            'device': Ref('device', serial), 'name': interface_name(remote_port, device, options),
            'type': SWITCH_PORT_TYPE, 'enabled': True,
        }, network_id=device.network_id, label=f'{device.values["name"]} {remote_port}'))
        return Ref('interface', interface_id)
    system_name = lldp_value(lldp, 'System name') or lldp_value(cdp, 'Device ID')
    if not system_name or system_name.startswith('Meraki '):
        return None
    return Ref('netboxinterface', f'{system_name}|{remote_port}')
