"""Settings objects with Meraki's field names: the 15 SSID slots of a network and a switch port."""

from .catalog import model_info

__all__ = ('new_port', 'new_ssids', 'port_peer_kind', 'ssids_taken')

# Port settings every port shares; never changed in place, so ports may share these dicts.
PROFILE_OFF = {'enabled': False, 'id': '', 'iname': None}
MIRROR_OFF = {'mode': 'Not mirroring traffic'}
NO_MODULE = {'model': None}


# The security of configured SSIDs as (authMode, encryption), encryption a wpaEncryptionMode or 'wep', per kind: a
# company SSID uses 802.1X, a guest one is open or has a key like the others. Each configured SSID of an organization
# takes the next entry of its kind, so that even a small organization shows a spread of what Meraki documents.
SECURITY = {
    'enterprise': (
        ('8021x-radius', 'WPA2 only'),
        ('8021x-nac', 'WPA3 Transition Mode'),
        ('8021x-meraki', 'WPA1 and WPA2'),
        ('8021x-radius', 'WPA3 192-bit Security'),
        ('8021x-localradius', 'WPA3 only'),
        ('8021x-entra', 'WPA2 only'),
        ('8021x-google', 'WPA1 only'),
    ),
    'personal': (
        ('psk', 'wep'),
        ('psk', 'WPA1 only'),
        ('psk', 'WPA3 Transition Mode'),
        ('ipsk-without-radius', 'WPA2 only'),
        ('psk', 'WPA1 and WPA2'),
        ('ipsk-with-radius', 'WPA3 only'),
        ('psk', 'WPA2 only'),
        ('ipsk-with-nac', 'WPA2 only'),
        ('ipsk-with-radius-easy-psk', 'WPA2 only'),
    ),
    'open': (
        ('open', None),
        ('open-enhanced', None),
        ('open-with-nac', None),
        ('open-with-radius', None),
        ('open-enhanced-with-radius', None),
    ),
}
RADIUS_MODES = ('open-with-radius', 'open-enhanced-with-radius', '8021x-radius', 'ipsk-with-radius',
                'ipsk-with-radius-easy-psk')
RADIUS_SERVERS = ({'host': '10.255.0.10', 'port': 1812, 'id': '1', 'openRoamingCertificateId': None},)


def security_kind(auth_mode):
    """The SECURITY kind of an authMode."""
    if auth_mode.startswith('8021x-'):
        return 'enterprise'
    return 'open' if auth_mode.startswith('open') else 'personal'


def ssid_security(auth_mode, encryption):
    """An SSID's security fields as Meraki returns them, each only with the modes it applies to."""
    fields = {'authMode': auth_mode}
    if auth_mode.startswith('8021x-'):
        fields.update(encryptionMode='wpa-eap', wpaEncryptionMode=encryption)
    elif encryption == 'wep':
        fields['encryptionMode'] = 'wep'
    elif encryption:
        fields.update(encryptionMode='wpa', wpaEncryptionMode=encryption)
    if auth_mode in RADIUS_MODES:
        fields['radiusServers'] = [dict(server) for server in RADIUS_SERVERS]
    return fields


def new_ssids(rng=None, taken=None):
    """
    The 15 SSID slots of a wireless network; with ``rng``, a few of them configured and enabled, with the security
    that follows the ``taken`` SSIDs the organization has configured so far (see ssids_taken).
    """
    configured = (('Corp', 'enterprise'), ('Guest', 'personal'), ('IoT', 'personal'), ('Voice', 'personal'))
    taken = dict(taken or dict.fromkeys(SECURITY, 0))
    count = rng.choice((1, 2, 2, 3, 3, 4)) if rng else 0
    ssids = []
    for number in range(15):
        ssid = {
            'number': number,
            'name': f'Unconfigured SSID {number + 1}',
            'enabled': False,
            'splashPage': 'None',
            'ssidAdminAccessible': False,
            'authMode': 'open',
            'ipAssignmentMode': 'NAT mode',
            'minBitrate': 11,
            'bandSelection': 'Dual band operation',
            'perClientBandwidthLimitUp': 0,
            'perClientBandwidthLimitDown': 0,
            'perSsidBandwidthLimitUp': 0,
            'perSsidBandwidthLimitDown': 0,
            'mandatoryDhcpEnabled': False,
            'lanIsolationEnabled': False,
            'visible': True,
            'availableOnAllAps': True,
            'availabilityTags': [],
            'speedBurst': {'enabled': False},
        }
        if number < count:
            name, kind = configured[number]
            if name == 'Guest' and rng.random() < 0.4:
                kind = 'open'
            ssid.update(name=name, enabled=number == 0 or rng.random() < 0.85)
            ssid.update(ssid_security(*SECURITY[kind][taken[kind] % len(SECURITY[kind])]))
            taken[kind] += 1
            if name == 'Guest':
                ssid.update(splashPage='Click-through splash page', lanIsolationEnabled=True)
            else:
                ssid.update(ipAssignmentMode='Bridge mode', useVlanTagging=True, defaultVlanId=10 * (number + 1))
        ssids.append(ssid)
    return ssids


def ssids_taken(ssid_lists):
    """How many configured SSIDs of each SECURITY kind these networks' SSID slots hold."""
    taken = dict.fromkeys(SECURITY, 0)
    for ssids in ssid_lists:
        for ssid in ssids:
            if not ssid['name'].startswith('Unconfigured SSID'):
                taken[security_kind(ssid['authMode'])] += 1
    return taken


def new_port(model, port_id, kind=None, vlan_ids=(1,), mgmt_vlan=1, rng=None, peer_name=None):
    """A switch port's settings, shaped by what is cabled to it (``kind``, see port_peer_kind)."""
    data_vlan = 10 if 10 in vlan_ids else vlan_ids[0]
    voice_vlan = 20 if 20 in vlan_ids else None
    uplink_port = port_id in model.uplink_ports
    poe = not uplink_port and any(tag in model.name.split('-')[-1] for tag in ('P', 'U'))
    port = {
        'portId': port_id,
        'name': None,
        'tags': [],
        'enabled': True,
        'poeEnabled': poe,
        'type': 'access',
        'vlan': data_vlan,
        'voiceVlan': None,
        'allowedVlans': 'all',
        'isolationEnabled': False,
        'rstpEnabled': True,
        'stpGuard': 'disabled',
        'linkNegotiation': 'Auto negotiate',
        'portScheduleId': None,
        'udld': 'Alert only',
        'accessPolicyType': 'Open',
        'daiTrusted': False,
        'profile': PROFILE_OFF,
        'module': {'model': port_id.split('_')[1]} if '_' in port_id else NO_MODULE,
        'mirror': MIRROR_OFF,
        'stormControlEnabled': False,
    }
    choice = rng.random() if rng else 1.0
    if kind == 'uplink' or (kind is None and uplink_port):
        port.update(type='trunk', vlan=1, daiTrusted=True, poeEnabled=False)
        if choice < 0.4:
            port['allowedVlans'] = ','.join(str(v) for v in vlan_ids)
        if kind:
            port['name'] = f'Uplink to {peer_name}' if peer_name else 'Uplink'
    elif kind == 'ap':
        allowed = 'all' if choice < 0.6 else ','.join(str(v) for v in vlan_ids)
        port.update(type='trunk', vlan=mgmt_vlan, allowedVlans=allowed, name='AP', tags=['wifi'])
    elif kind == 'camera':
        port.update(vlan=40 if 40 in vlan_ids else data_vlan, name='Camera', stpGuard='bpdu guard')
    elif kind == 'gateway':
        port.update(vlan=mgmt_vlan, name='Cellular gateway')
    elif kind == 'phone':
        port.update(voiceVlan=voice_vlan)
    elif kind == 'printer':
        port.update(name='Printer')
    elif choice < 0.05:
        port['enabled'] = False
    elif choice < 0.07:
        port.update(type='trunk', vlan=1, allowedVlans='1,3,5-10', name='Lab trunk')
    elif voice_vlan and choice < 0.45:
        port['voiceVlan'] = voice_vlan
    return port


def port_peer_kind(org, other):
    """What sits at the other end of a switch port: uplink, ap, camera, gateway, phone, printer or None."""
    if other is None:
        return None
    serial = other.get('serial')
    if serial is None:
        capabilities = other.get('capabilities', '')
        if 'Phone' in capabilities:
            return 'phone'
        return 'printer' if 'Printer' in capabilities else 'uplink'
    device = org.devices.get(serial) or org.inventory.get(serial)
    family = model_info(device['model']).family
    return {'MR': 'ap', 'MV': 'camera', 'MG': 'gateway'}.get(family, 'uplink')
