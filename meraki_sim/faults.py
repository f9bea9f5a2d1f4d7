"""Faults injected at run time: errors, rate limit storms, hangs, broken bodies, missing data."""

import itertools
import threading
import time
from dataclasses import dataclass, field

__all__ = ('KINDS', 'Fault', 'FaultSet', 'endpoint_key')

KINDS = (
    'server_error',  # answer an error status (5xx by default) instead of the data
    'network_error',  # the same, for one network's requests only
    'rate_limit_storm',  # answer 429 to everything that matches
    'timeout',  # hang for `seconds` before answering
    'malformed_json',  # answer 200 with a body that is not JSON
    'truncated',  # announce the full body, send half of it and close the connection
    'empty_list',  # answer an empty list where there is data
    'missing_link',  # leave the rel=next entry out of the Link header
)


def endpoint_key(endpoint):
    """Normalise an endpoint to the 'GET /path/{template}' form the request counts use."""
    if endpoint is None:
        return None
    endpoint = endpoint.strip()
    if ' ' not in endpoint:
        endpoint = f'GET {endpoint}'
    method, path = endpoint.split(' ', 1)
    if path.startswith('/api/v1/'):
        path = path[len('/api/v1') :]
    return f'{method.upper()} {path}'


@dataclass
class Fault:
    """One injected fault.

    It matches requests to ``endpoint`` (a counted endpoint such as 'GET /networks/{networkId}/appliance/vlans'; None
    for all) and, with ``network_id``, only those about that network. ``share`` of the matching requests trigger
    it, spread evenly (0.5 = every other one); ``count`` limits how many times it triggers and ``seconds`` how long
    it lasts. ``message`` replaces the error's default wording (a client must not depend on it).
    """

    kind: str
    endpoint: str | None = None
    network_id: str | None = None
    count: int | None = None
    share: float = 1.0
    status: int | None = None
    seconds: float | None = None
    retry_after: int = 1
    message: str | None = None
    id: int = 0
    expires: float | None = field(default=None, repr=False)
    _credit: float = field(default=0.0, repr=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f'Unknown fault {self.kind!r}; use one of {", ".join(KINDS)}')
        if self.kind == 'network_error' and not self.network_id:
            raise ValueError('A network_error fault needs a network_id')
        if not 0 < self.share <= 1:
            raise ValueError('share must be in (0, 1]')
        self.endpoint = endpoint_key(self.endpoint)
        if self.status is None:
            self.status = 429 if self.kind == 'rate_limit_storm' else 500
        if self.kind == 'timeout' and self.seconds is None:
            self.seconds = 5.0

    def matches(self, endpoint, network_ids):
        """Whether a request to ``endpoint`` about ``network_ids`` falls under the fault."""
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        return self.network_id is None or self.network_id in network_ids

    def as_dict(self):
        """The fault as the control API shows it."""
        return {
            'id': self.id,
            'kind': self.kind,
            'endpoint': self.endpoint,
            'networkId': self.network_id,
            'remaining': self.count,
            'share': self.share,
            'status': self.status,
            'seconds': self.seconds,
            'message': self.message,
        }


class FaultSet:
    """The active faults; thread-safe."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.faults = []
        self._ids = itertools.count(1)

    def add(self, kind, **options):
        """Activate a fault; see Fault for the options. A storm with ``seconds`` lasts that long."""
        fault = Fault(kind, id=next(self._ids), **options)
        if fault.kind == 'rate_limit_storm' and fault.seconds:
            fault.expires = self.clock() + fault.seconds
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self):
        """Drop every fault."""
        with self.lock:
            self.faults.clear()

    def remove(self, fault_id):
        """Drop one fault; False if there was none with that id."""
        with self.lock:
            kept = [fault for fault in self.faults if fault.id != fault_id]
            removed = len(kept) != len(self.faults)
            self.faults = kept
        return removed

    def active(self):
        """The faults still in force."""
        with self.lock:
            self._expire()
            return list(self.faults)

    def _expire(self):
        now = self.clock()
        self.faults = [
            f for f in self.faults if (f.count is None or f.count > 0) and (f.expires is None or f.expires > now)
        ]

    def trigger(self, kinds, endpoint, network_ids=()):
        """The first fault of ``kinds`` that fires for this request, consuming one of its uses, or None."""
        with self.lock:
            self._expire()
            for fault in self.faults:
                if fault.kind not in kinds or not fault.matches(endpoint, network_ids):
                    continue
                fault._credit += fault.share
                if fault._credit < 1 - 1e-9:
                    continue
                fault._credit -= 1
                if fault.count is not None:
                    fault.count -= 1
                return fault
        return None

    def scoped_empty(self, endpoint):
        """Network ids whose items an org-wide list leaves out (empty_list faults with a network); uses them once."""
        with self.lock:
            self._expire()
            hidden = set()
            for fault in self.faults:
                if fault.kind == 'empty_list' and fault.network_id and fault.matches(endpoint, {fault.network_id}):
                    hidden.add(fault.network_id)
                    if fault.count is not None:
                        fault.count -= 1
            return hidden
