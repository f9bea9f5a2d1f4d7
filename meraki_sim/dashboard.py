"""The simulated Dashboard: every organization's data, in Meraki's own field names."""

import threading
from dataclasses import dataclass, field

__all__ = ('Dashboard', 'OrgData')


@dataclass
class OrgData:
    """One organization and everything in it.

    Dicts hold objects the way the Dashboard API returns them, so tests can compute expected results by reading
    them. Keys: network id, device serial or, for ``switch_ports``, the switch's serial.
    """

    organization: dict
    networks: dict = field(default_factory=dict)  # network id -> network
    config_templates: dict = field(default_factory=dict)  # template id -> configuration template
    devices: dict = field(default_factory=dict)  # serial -> device assigned to a network
    inventory: dict = field(default_factory=dict)  # serial -> inventory entry; every claimed device, assigned or not
    statuses: dict = field(default_factory=dict)  # serial -> 'online' | 'offline' | 'alerting' | 'dormant'
    uplinks: dict = field(default_factory=dict)  # serial -> [uplink]
    management: dict = field(default_factory=dict)  # serial -> management interface settings
    switch_ports: dict = field(default_factory=dict)  # switch serial -> [port]
    vlans: dict = field(default_factory=dict)  # network id -> [VLAN], networks with VLANs enabled
    vlans_enabled: dict = field(default_factory=dict)  # network id -> bool, networks with an appliance
    single_lan: dict = field(default_factory=dict)  # network id -> single LAN settings, VLANs disabled
    ssids: dict = field(default_factory=dict)  # network id -> the 15 SSID slots, wireless networks
    stacks: dict = field(default_factory=dict)  # network id -> [switch stack: {'id', 'name', 'serials'}]
    links: list = field(default_factory=list)  # LLDP/CDP links: {'a': end, 'b': end, 'protocols': [...]}
    config_changes: list = field(default_factory=list)  # configuration change log, oldest first
    version: int = 0  # bumped by every change; keys cached views
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self):
        """The organization id."""
        return self.organization['id']

    def touch(self):
        """Record that the data changed, dropping cached views."""
        self.version += 1
        self._cache.clear()

    def cached(self, name, build):
        """Return a view computed by ``build()``, recomputed only after a change."""
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def sorted_serials(self):
        """Serials of assigned devices, in the order list endpoints return them."""
        return self.cached('serials', lambda: sorted(self.devices))

    def links_of(self, serial):
        """Links with an end on the device, as (own end, other end, link) tuples."""
        index = self.cached('links', self._index_links)
        return index.get(serial, ())

    def _index_links(self):
        index = {}
        for link in self.links:
            a, b = link['a'], link['b']
            if a.get('serial'):
                index.setdefault(a['serial'], []).append((a, b, link))
            if b.get('serial'):
                index.setdefault(b['serial'], []).append((b, a, link))
        return index


@dataclass
class Dashboard:
    """All organizations of one simulated Dashboard.

    ``orgs`` maps organization id to :class:`OrgData`. ``lock`` guards every read and change made while the
    simulator serves requests.
    """

    seed: int
    scale: object
    orgs: dict
    ids: object = field(default=None, repr=False, compare=False)  # makes unique serials, MACs and ids
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def org_ids(self):
        """Organization ids, in creation order."""
        return list(self.orgs)

    def org_of_network(self, network_id):
        """The organization holding a network, or None."""
        for org in self.orgs.values():
            if network_id in org.networks:
                return org
        return None

    def org_of_device(self, serial):
        """The organization holding a claimed device (assigned or not), or None."""
        for org in self.orgs.values():
            if serial in org.inventory:
                return org
        return None

    def network(self, network_id):
        """A network by id, or None."""
        org = self.org_of_network(network_id)
        return org.networks[network_id] if org else None

    def device(self, serial):
        """A device assigned to a network, by serial, or None."""
        org = self.org_of_device(serial)
        return org.devices.get(serial) if org else None

    def all_devices(self):
        """Every assigned device of every organization."""
        return [device for org in self.orgs.values() for device in org.devices.values()]
