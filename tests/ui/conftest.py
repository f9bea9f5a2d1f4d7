"""Fixtures of the web UI tests: a small simulated Dashboard, users with exactly the rights a test needs, runs."""

import pytest

from core.models import ObjectType
from users.models import ObjectPermission

from meraki_sim import Simulator
from meraki_sim.generator import Scale
from netbox_meraki.choices import SyncModeChoices
from netbox_meraki.sync import MerakiSyncService

API_KEY = 'ui-key-0123456789abcdef0123456789abcdef'


@pytest.fixture
def simulator():
    """A Dashboard small enough for a sync to take a second or two: one organization, two networks, six devices."""
    with Simulator(seed=11, scale=Scale(organizations=1, networks=2, devices=6), rate_limit=0, api_key=API_KEY) as sim:
        yield sim


@pytest.fixture
def grant(django_user_model):
    """grant(user, 'netbox_meraki.view_syncrun', ...): NetBox object permissions, as an administrator gives them."""
    def grant(user, *permissions):
        for name in permissions:
            app_label, codename = name.split('.')
            action, model_name = codename.rsplit('_', 1)
            permission = ObjectPermission.objects.create(name=name, actions=[action])
            permission.object_types.add(ObjectType.objects.get_by_natural_key(app_label, model_name))
            permission.users.add(user)
        return user
    return grant


@pytest.fixture
def admin_user(django_user_model):
    """pytest-django's (its admin_client logs it in by force), without a password to hash: a second per test."""
    return django_user_model.objects.create_superuser(username='admin', password=None)


@pytest.fixture
def user(django_user_model):
    """Without a password to hash: user_client logs it in by force."""
    return django_user_model.objects.create_user(username='operator')


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def run_sync(organization_id, mode=SyncModeChoices.REVIEW, **kwargs):
    """A real sync of the simulator's organization, in this process, as the worker would run it."""
    (run,) = MerakiSyncService().sync_all(mode=mode, organization_ids=[organization_id], background=False, **kwargs)
    return run


@pytest.fixture
def review_run(meraki_config, org_id):
    return run_sync(org_id, SyncModeChoices.REVIEW)
