"""Unique, deterministic identifiers: serials, MACs, numeric ids and public addresses."""

import ipaddress

from .catalog import MERAKI_OUIS, SERIAL_PREFIX

__all__ = ('IdFactory',)

# Serial characters: no I, O, 0 or 1, which read alike.
SERIAL_CHARS = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ'
TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

# Documentation and benchmarking ranges: they look public but are never routed.
PUBLIC_POOLS = ('203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/24', '198.18.0.0/15')


class IdFactory:
    """Hands out identifiers that are unique within one Dashboard, drawn from its own random stream."""

    def __init__(self, rng):
        self.rng = rng
        self._used = set()
        self._public = self._public_addresses()

    def _unique(self, make):
        while True:
            value = make()
            if value not in self._used:
                self._used.add(value)
                return value

    def serial(self, family):
        """A Meraki-style serial such as Q2HP-7KXM-3RTA."""

        def make():
            groups = (''.join(self.rng.choice(SERIAL_CHARS) for _ in range(4)) for _ in range(2))
            return '-'.join((SERIAL_PREFIX[family], *groups))

        return self._unique(make)

    def mac(self):
        """A MAC address under one of Meraki's OUIs."""
        return self.foreign_mac(self.rng.choice(MERAKI_OUIS))

    def foreign_mac(self, oui):
        """A MAC address under another vendor's OUI, for neighbours that are not Meraki devices."""
        return self._unique(lambda: oui + ''.join(f':{self.rng.randrange(256):02x}' for _ in range(3)))

    def number(self, digits):
        """A numeric id of the given length, as a string."""
        return self._unique(lambda: str(self.rng.randrange(10 ** (digits - 1), 10**digits)))

    def token(self, length=8):
        """A short random token as seen in Dashboard URLs."""
        return self._unique(lambda: ''.join(self.rng.choice(TOKEN_CHARS) for _ in range(length)))

    def public_ip(self):
        """The next unused public-looking address."""
        return next(self._public)

    @staticmethod
    def _public_addresses():
        for pool in PUBLIC_POOLS:
            for host in ipaddress.ip_network(pool).hosts():
                if 1 < int(host) % 256 < 255:
                    yield str(host)
