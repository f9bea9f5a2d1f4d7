"""A simulator of the Cisco Meraki Dashboard API v1, for tests, benchmarks and demos.

``generate()`` builds deterministic Dashboard data from a seed and a scale; ``Simulator`` serves it over HTTP
with Meraki's pagination, auth, rate limits and injectable faults. See docs/simulator.md.
"""

from .dashboard import Dashboard, OrgData
from .faults import KINDS as FAULT_KINDS
from .generator import SCALES, Scale, generate
from .simulator import Simulator

__all__ = ('FAULT_KINDS', 'SCALES', 'Dashboard', 'OrgData', 'Scale', 'Simulator', 'generate')
