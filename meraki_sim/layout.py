"""Addressing, SSIDs, cabling and switch port settings of one generated site."""

import ipaddress
import math
import random

from .catalog import model_info
from .settings import new_port, new_ssids, port_peer_kind, ssids_taken

__all__ = ('AddressPool', 'SiteLayout')

VLAN_NAMES = {1: 'Default', 10: 'Corp', 20: 'Voice', 30: 'Guest', 40: 'Cameras', 50: 'IoT', 99: 'Management'}
DNS = (('8.8.8.8', '8.8.4.4'), ('1.1.1.1', '1.0.0.1'), ('208.67.222.222', '208.67.220.220'))
DEFAULT_SINGLE_LAN = '192.168.128.0/24'
IPV6_BLOCK = ipaddress.ip_network('2001:db8::/32')

# The port a device other than a switch or appliance uses towards its switch.
EDGE_PORT = {'MR': 'wired0', 'MV': 'eth0', 'MG': 'lan1'}


class AddressPool:
    """Hands out aligned, non-overlapping subnets of a block."""

    def __init__(self, block):
        self.block = block
        self.cursor = int(block.network_address)

    def take(self, prefix):
        """The next free subnet of the given prefix length."""
        size = 2 ** (32 - prefix)
        start = -(-self.cursor // size) * size
        if start + size > int(self.block.broadcast_address) + 1:
            start = int(self.block.network_address)  # exhausted: start over rather than fail
        self.cursor = start + size
        return ipaddress.ip_network((start, prefix))


def ipv6_host(public_ip):
    """A documentation-range IPv6 address (2001:db8::/32) whose /64 carries an IPv4 address's 32 bits."""
    return IPV6_BLOCK.network_address + (int(ipaddress.ip_address(public_ip)) << 64) + 1


def prefix_for(hosts):
    """The longest prefix (at most /24) holding this many hosts."""
    return min(24, 32 - math.ceil(math.log2(hosts + 2)))


class SiteLayout:
    """Fills in one generated network: addressing, uplinks, SSIDs, links and switch ports."""

    def __init__(self, org, network, devices, profile, rng, ids, pools):
        self.org = org
        self.network = network
        self.devices = devices
        self.profile = profile
        self.rng = rng
        self.ids = ids
        self.pools = pools
        self.models = {device['serial']: model_info(device['model']) for device in devices}
        self.used = {device['serial']: set() for device in devices}
        self.site_links = []
        self.dns = rng.choice(DNS)

    def of_family(self, *families):
        """Devices of the site of these families, in order."""
        return [device for device in self.devices if self.models[device['serial']].family in families]

    def build(self):
        """Generate everything for the site."""
        self.address()
        self.connect()
        if 'wireless' in self.network['productTypes']:
            self.org.ssids[self.network['id']] = new_ssids(self.rng, ssids_taken(self.org.ssids.values()))
        self.cable()
        self.configure_ports()
        self.stack()

    def subnet(self, style, vlan_id, hosts):
        prefix = prefix_for(hosts)
        if style == 'overlap' and prefix == 24:
            # Many sites reuse the same RFC 1918 plan, e.g. VLAN 1 on 192.168.1.0/24.
            return ipaddress.ip_network(f'192.168.{vlan_id}.0/24')
        if style == 'legacy':
            return self.pools['172'].take(min(prefix, 23))
        return self.pools['10'].take(prefix)

    def address(self):
        """VLANs or the single LAN, the management subnet and its gateway."""
        rng, network_id = self.rng, self.network['id']
        hosts = len(self.devices) + 20
        self.vlan_ids, self.mgmt_vlan = [1, 10, 20], 1
        if 'appliance' not in self.network['productTypes']:
            self.mgmt_subnet = self.pools['10'].take(prefix_for(hosts))
            self.gateway = self.mgmt_subnet[1]
            return
        last_host = rng.random() < 0.2
        enabled = self.profile == 'campus' or (self.profile == 'branch' and rng.random() < 0.75)
        self.org.vlans_enabled[network_id] = enabled
        if not enabled:
            subnet = ipaddress.ip_network(DEFAULT_SINGLE_LAN)
            if hosts > 200 or rng.random() < 0.4:
                subnet = self.pools['10'].take(prefix_for(hosts))
            self.mgmt_subnet, self.vlan_ids = subnet, [1]
            self.gateway = subnet[-2] if last_host else subnet[1]
            self.org.single_lan[network_id] = {
                'subnet': str(subnet),
                'applianceIp': str(self.gateway),
                'ipv6': {'enabled': False},
                'mandatoryDhcp': {'enabled': False},
            }
            return
        if self.profile == 'campus':
            self.vlan_ids = [1, 10, 20, 30, 40, 50, 99]
        else:
            self.vlan_ids = [1, 10, 20, 30] + ([40] if self.of_family('MV') else []) + ([99] if hosts > 40 else [])
        self.mgmt_vlan = 99 if 99 in self.vlan_ids else 1
        style = rng.choices(('overlap', 'unique', 'legacy'), (50, 35, 15))[0]
        vlans = []
        for vlan_id in self.vlan_ids:
            subnet = self.subnet(style, vlan_id, hosts if vlan_id == self.mgmt_vlan else 200)
            appliance_ip = subnet[-2] if last_host else subnet[1]
            if vlan_id == self.mgmt_vlan:
                self.mgmt_subnet, self.gateway = subnet, appliance_ip
            vlans.append(
                {
                    'id': vlan_id,
                    'interfaceId': self.ids.number(15),
                    'name': VLAN_NAMES[vlan_id],
                    'subnet': str(subnet),
                    'applianceIp': str(appliance_ip),
                    'groupPolicyId': '101' if vlan_id == 30 else None,
                    'fixedIpAssignments': {},
                    'reservedIpRanges': [],
                    'dnsNameservers': 'upstream_dns',
                    'dhcpHandling': 'Do not respond to DHCP requests' if vlan_id == 99 else 'Run a DHCP server',
                    'dhcpLeaseTime': '1 day',
                    'dhcpBootOptionsEnabled': False,
                    'dhcpOptions': [],
                    'mandatoryDhcp': {'enabled': False},
                    'ipv6': {'enabled': False},
                }
            )
        self.org.vlans[network_id] = vlans

    def connect(self):
        """LAN addresses, uplinks and management interfaces of the site's devices."""
        rng, org = self.rng, self.org
        primary, secondary = self.dns
        host = int(self.mgmt_subnet.network_address) + 10
        public = None
        for appliance in self.of_family('MX', 'Z'):
            address = self.connect_appliance(appliance)
            public = public or address
        public = public or self.ids.public_ip()
        for device in self.devices:
            serial = device['serial']
            family = self.models[serial].family
            status = org.statuses[serial]
            if family in ('MX', 'Z'):
                continue
            if family == 'MT' or status == 'dormant':
                org.uplinks[serial] = []
                org.management[serial] = {
                    'wan1': {'wanEnabled': 'not configured', 'usingStaticIp': False, 'vlan': None}
                }
                continue
            ip = ipaddress.ip_address(host)
            host += 1 + (ip + 1 == self.gateway)
            device['lanIp'] = str(ip)
            static = rng.random() < 0.7
            uplink = {
                'interface': 'man1',
                'status': 'active' if status in ('online', 'alerting') else 'not connected',
                'ip': str(ip),
                'gateway': str(self.gateway),
                'publicIp': public,
                'primaryDns': primary,
                'secondaryDns': secondary,
                'ipAssignedBy': 'static' if static else 'dhcp',
            }
            wan = {'wanEnabled': 'not configured', 'usingStaticIp': static, 'vlan': None}
            if static:
                wan.update(
                    staticIp=str(ip),
                    staticSubnetMask=str(self.mgmt_subnet.netmask),
                    staticGatewayIp=str(self.gateway),
                    staticDns=[primary, secondary],
                    vlan=self.mgmt_vlan if self.mgmt_vlan != 1 else None,
                )
            org.management[serial] = {'wan1': wan}
            if family == 'MG':
                uplink.update(
                    interface='cellular',
                    ip=f'100.{rng.randrange(64, 128)}.{rng.randrange(256)}.{rng.randrange(1, 255)}',
                    gateway=None,
                    publicIp=self.ids.public_ip(),
                    ipAssignedBy='dhcp',
                    provider=rng.choice(('Verizon', 'AT&T', 'T-Mobile', 'Vodafone')),
                    connectionType='lte',
                    apn='broadband',
                    iccid=self.ids.number(19),
                )
            org.uplinks[serial] = [uplink]

    def connect_appliance(self, appliance):
        """WAN uplinks of an appliance; returns its first public address."""
        rng, serial = self.rng, appliance['serial']
        status = self.org.statuses[serial]
        primary, secondary = self.dns
        uplinks, management = [], {}
        host = f'{self.network["name"].split()[0].lower()}-{self.ids.token(6).lower()}'
        management['ddnsHostnames'] = {
            'activeDdnsHostname': f'{host}.dynamic-m.com',
            'ddnsHostnameWan1': f'{host}-1.dynamic-m.com',
            'ddnsHostnameWan2': f'{host}-2.dynamic-m.com',
        }
        for number, interface in enumerate(self.models[serial].wan_ports):
            if number and rng.random() < 0.5:
                uplinks.append(
                    {
                        'interface': interface,
                        'status': 'not connected',
                        'ip': None,
                        'gateway': None,
                        'publicIp': None,
                        'primaryDns': None,
                        'secondaryDns': None,
                        'ipAssignedBy': None,
                    }
                )
                management[interface] = {'wanEnabled': 'not configured', 'usingStaticIp': False, 'vlan': None}
                continue
            public = self.ids.public_ip()
            static = rng.random() < 0.4
            if static:
                ip, gateway = public, public.rsplit('.', 1)[0] + '.1'
            else:
                ip, gateway = f'192.168.{100 + number}.{rng.randrange(2, 250)}', f'192.168.{100 + number}.1'
            if status == 'dormant':
                state = 'not connected'
            elif status == 'offline':
                state = 'failed'
            else:
                state = 'active' if number == 0 else 'ready'
            uplinks.append(
                {
                    'interface': interface,
                    'status': state,
                    'ip': ip,
                    'gateway': gateway,
                    'publicIp': public,
                    'primaryDns': primary,
                    'secondaryDns': secondary,
                    'ipAssignedBy': 'static' if static else 'dhcp',
                }
            )
            if not static:
                # ISPs that hand out addresses by DHCP give IPv6 too (SLAAC): one /64 per line, derived from the
                # line's IPv4 address so that it is unique without another random draw.
                uplinks[-1]['ipv6'] = {'address': str(ipv6_host(public)), 'gateway': 'fe80::1'}
            wan = {'wanEnabled': 'enabled', 'usingStaticIp': static, 'vlan': None}
            if static:
                wan.update(
                    staticIp=ip,
                    staticGatewayIp=gateway,
                    staticSubnetMask='255.255.255.0',
                    staticDns=[primary, secondary],
                )
            management[interface] = wan
        self.org.uplinks[serial] = uplinks
        self.org.management[serial] = management
        return uplinks[0]['publicIp']

    def free_port(self, device, uplink=False, from_top=False):
        """A port of a switch or appliance nothing is cabled to yet, or None."""
        model = self.models[device['serial']]
        if model.family == 'MS':
            ports = model.uplink_ports if uplink else [p for p in model.ports if p not in model.uplink_ports]
            if uplink:
                ports = list(ports) + [p for p in reversed(model.ports) if p not in model.uplink_ports]
        else:
            ports = model.lan_ports
        if from_top:
            ports = list(reversed(ports))
        used = self.used[device['serial']]
        return next((port for port in ports if port not in used), None)

    def link(self, a, a_port, b, b_port, protocols=('cdp', 'lldp')):
        """Record a link between two ports; ``b`` is a device, or a neighbour dict for a foreign device."""
        if a_port is None or b_port is None:
            return
        self.used[a['serial']].add(a_port)
        if b.get('foreign'):
            far = {'serial': None, 'portId': b_port, **{k: v for k, v in b.items() if k != 'foreign'}}
        else:
            self.used[b['serial']].add(b_port)
            far = {'serial': b['serial'], 'portId': b_port}
        link = {'a': {'serial': a['serial'], 'portId': a_port}, 'b': far, 'protocols': list(protocols)}
        self.org.links.append(link)
        self.site_links.append(link)

    def foreign(self, name, oui, description, platform, capabilities, address=None):
        """A neighbour that is not a Meraki device, as its LLDP/CDP advertisements describe it."""
        return {
            'foreign': True,
            'systemName': name,
            'chassisId': self.ids.foreign_mac(oui),
            'managementAddress': address,
            'systemDescription': description,
            'platform': platform,
            'capabilities': capabilities,
        }

    def cable(self):
        """LLDP/CDP links: appliance to core switch, a tree of switches, edge devices, foreign neighbours."""
        appliances, switches = self.of_family('MX', 'Z'), self.of_family('MS')
        core = switches[0] if switches else None
        if core:
            for appliance in appliances[:2]:
                self.link(core, self.free_port(core, uplink=True), appliance, self.free_port(appliance))
        for number, switch in enumerate(switches[1:], start=1):
            parent = switches[(number - 1) // 8]
            self.link(switch, self.free_port(switch, uplink=True), parent, self.free_port(parent, from_top=True))
        self.cable_edge(switches[1:] or switches[:1] or appliances[:1])
        self.cable_foreign(appliances, core, switches[1:] or switches[:1])

    def cable_edge(self, hosts):
        """Access points, cameras and gateways, spread over the access switches (or the appliance)."""
        town = self.network['name'].split()[0].lower()
        # Without a Meraki switch or appliance, access points hang off the customer's own switch.
        idf = None
        if not hosts:
            idf = self.foreign(
                f'idf-{town}-01', '00:08:e3', 'Cisco IOS Software, C2960X', 'cisco WS-C2960X-48FPD-L', 'Switch, IGMP'
            )
        for number, device in enumerate(self.of_family('MR', 'MV', 'MG')):
            edge = EDGE_PORT[self.models[device['serial']].family]
            if idf:
                self.link(device, edge, idf, f'GigabitEthernet1/0/{number + 1}')
                continue
            rotated = hosts[number % len(hosts) :] + hosts[: number % len(hosts)]
            target = next((host for host in rotated if self.free_port(host)), None)
            if target:
                self.link(device, edge, target, self.free_port(target))

    def cable_foreign(self, appliances, core, access):
        """Neighbours that are not Meraki devices: ISP routers, a customer core router, phones, printers."""
        rng, town = self.rng, self.network['name'].split()[0].lower()
        for number, appliance in enumerate(appliances[:2], start=1):
            gateway = self.org.uplinks[appliance['serial']][0]['gateway']
            isp = self.foreign(
                f'isp-cpe-{town}-{number}',
                'a4:56:30',
                'Cisco IOS XE Software, ISR4331',
                'cisco ISR4331/K9',
                'Router',
                gateway,
            )
            self.link(appliance, 'wan1', isp, 'GigabitEthernet0/0/1', protocols=('lldp',))
        if core and not appliances:
            router = self.foreign(
                f'core-rtr-{town}',
                '70:ea:1a',
                'Cisco IOS XE Software, C9300',
                'cisco C9300-24T',
                'Router, Switch',
                str(self.gateway),
            )
            self.link(core, self.free_port(core, uplink=True), router, 'TenGigabitEthernet1/1/1')
        if access and 20 in self.vlan_ids:
            for _ in range(rng.choice((0, 1, 2, 3))):
                target = rng.choice(access)
                phone = self.foreign('', '00:1b:54', 'Cisco IP Phone 8845', 'Cisco IP Phone 8845', 'Host, Phone')
                phone['systemName'] = 'SEP' + phone['chassisId'].replace(':', '').upper()
                self.link(target, self.free_port(target), phone, 'Port 1')
        if access and rng.random() < 0.3:
            target = rng.choice(access)
            printer = self.foreign(
                f'NPI{self.ids.token(6).upper()}', '3c:52:82', 'HP LaserJet M507', 'HP LaserJet M507', 'Host, Printer'
            )
            self.link(target, self.free_port(target), printer, '1', protocols=('lldp',))

    def configure_ports(self):
        """Switch port settings, consistent with the cabling."""
        peers = {}
        for link in self.site_links:
            for own, other in ((link['a'], link['b']), (link['b'], link['a'])):
                if own['serial']:
                    peers[(own['serial'], own['portId'])] = other
        for device in self.of_family('MS'):
            serial, model = device['serial'], self.models[device['serial']]
            ports = []
            for port_id in model.ports:
                other = peers.get((serial, port_id))
                kind = port_peer_kind(self.org, other)
                peer_name = None
                if other and other.get('serial'):
                    peer_name = self.org.devices[other['serial']]['name'] or other['serial']
                elif other:
                    peer_name = other.get('systemName')
                ports.append(new_port(model, port_id, kind, self.vlan_ids, self.mgmt_vlan, self.rng, peer_name))
            self.org.switch_ports[serial] = ports


    def stack(self):
        """
        Stack some of a site's switches: about one network in two with two or more switches stacks two to four of
        them. Drawn from a generator of the network's own, so that the rest of the data does not depend on stacks.
        """
        switches = [device['serial'] for device in self.of_family('MS')]
        rng = random.Random(self.network['id'])
        if len(switches) < 2 or rng.random() > 0.5:
            return
        members = switches[:rng.randint(2, min(4, len(switches)))]
        self.org.stacks[self.network['id']] = [{
            'id': str(rng.randrange(10 ** 17, 10 ** 18)),
            'name': f'{self.network["name"]} stack',
            'serials': members,
        }]
