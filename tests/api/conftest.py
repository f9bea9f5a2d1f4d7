"""API clients authenticated with NetBox tokens, users with object permissions, and runs to look at."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ObjectType
from users.constants import TOKEN_PREFIX
from users.models import ObjectPermission, Token, User

from netbox_meraki.choices import (
    ChangeActionChoices,
    ChangeStateChoices,
    RunStatusChoices,
    RunTriggerChoices,
    SyncModeChoices,
)
from netbox_meraki.models import Change, SyncRun
from netbox_meraki.sync import MerakiSyncService

API = '/api/plugins/meraki'


class ApiUser:
    """A NetBox user calling the REST API with a token, holding only the object permissions granted to it."""

    def __init__(self, user, write_enabled=True):
        self.user = user
        token = Token.objects.create(user=user, write_enabled=write_enabled)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f'Bearer {TOKEN_PREFIX}{token.key}.{token.token}')

    def grant(self, model, *actions, constraints=None):
        permission = ObjectPermission.objects.create(
            name=f'{model._meta.model_name} {" ".join(actions)}', actions=list(actions), constraints=constraints,
        )
        permission.users.add(self.user)
        permission.object_types.add(ObjectType.objects.get_for_model(model))
        return self

    def get(self, path, **params):
        return self.client.get(API + path, params, format='json')

    def post(self, path, data=None):
        return self.client.post(API + path, data, format='json')

    def put(self, path, data):
        return self.client.put(API + path, data, format='json')

    def patch(self, path, data, **headers):
        return self.client.patch(API + path, data, format='json', headers=headers)


@pytest.fixture
def api(db):
    """A user without any permission (grant() adds some)."""
    return ApiUser(User.objects.create_user(username='api-user'))


@pytest.fixture
def admin_api(db):
    return ApiUser(User.objects.create_user(username='api-admin', is_superuser=True))


@pytest.fixture
def runs(db):
    """Three runs of two organizations with a few changes each, written as the engine writes them."""
    now = timezone.now()
    specs = [
        ('1001', 'Acme Retail', SyncModeChoices.AUTO, RunStatusChoices.COMPLETED, RunTriggerChoices.SCHEDULE),
        ('1001', 'Acme Retail', SyncModeChoices.REVIEW, RunStatusChoices.AWAITING_REVIEW, RunTriggerChoices.API),
        ('2002', 'Globex Clinics', SyncModeChoices.DRY_RUN, RunStatusChoices.FAILED, RunTriggerChoices.COMMAND),
    ]
    created = []
    for number, (org, name, mode, status, trigger) in enumerate(specs):
        run = SyncRun.objects.create(
            organization_id=org, organization_name=name, mode=mode, status=status, trigger=trigger,
            started=now, completed=now + timezone.timedelta(seconds=12.5), api_calls=7 + number,
            counts={'device': {'create': 2}}, timings={'fetch': 1.5}, phase='done',
            error='getOrganization failed: HTTP 404 Not Found' if status == RunStatusChoices.FAILED else '',
            log=[{'time': now.isoformat(), 'level': 'info', 'message': f'Planned 3 changes for {name}.'}],
        )
        Change.objects.bulk_create([
            Change(run=run, sequence=1, action=ChangeActionChoices.CREATE, kind='site', meraki_id=f'N_{org}',
                   object_repr=f'{name} HQ', after={'name': f'{name} HQ'}, state=ChangeStateChoices.PENDING),
            Change(run=run, sequence=2, action=ChangeActionChoices.UPDATE, kind='device', meraki_id='Q2AA-BBBB-CCCC',
                   object_id=5, object_repr='branch-switch', before={'name': 'old'}, after={'name': 'branch-switch'},
                   state=ChangeStateChoices.PENDING),
            Change(run=run, sequence=3, action=ChangeActionChoices.DELETE, kind='device', meraki_id='Q2DD-EEEE-FFFF',
                   object_id=6, object_repr='gone-ap', state=ChangeStateChoices.HELD,
                   reason='Removes more than 25% of the devices of the network.'),
        ])
        created.append(run)
    return created


@pytest.fixture
def review_run(meraki_config, org_id):
    """A real review-mode run of the simulator's first organization, awaiting review."""
    (run,) = MerakiSyncService().sync_all(mode=SyncModeChoices.REVIEW, organization_ids=[org_id], background=False)
    assert run.status == RunStatusChoices.AWAITING_REVIEW, run.log
    return run
