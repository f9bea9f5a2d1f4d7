import pytest

from meraki_sim import Simulator

from .helpers import make_api


@pytest.fixture
def sim():
    """A small simulator without rate limits."""
    with Simulator(seed=1, scale='small', rate_limit=0) as simulator:
        yield simulator


@pytest.fixture
def api(sim):
    return make_api(sim)


@pytest.fixture
def org_id(sim):
    return sim.org_ids[0]


@pytest.fixture
def org(sim):
    return sim.dashboard.orgs[sim.org_ids[0]]
