"""
Every page and API endpoint of the plugin, found by walking the URL configuration (a new one is covered without a
new test): each refuses a user without the right permission, no action happens on a GET, and none without CSRF.
The API key's absence from pages, API answers, job data, logs and the changelog is checked under every fault in
test_faults.py.
"""

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
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
from netbox_meraki.models import Change, PluginSettings, SyncRun

pytestmark = pytest.mark.django_db

UI, API = 'plugins:netbox_meraki', 'plugins-api:netbox_meraki-api'
# Pages anyone signed in may open: the API's index lists endpoint names, no data.
OPEN_TO_EVERY_USER = {f'{API}:api-root'}
# Meraki's webhooks come with no NetBox user: the shared secret in their body authenticates them, and
# tests/api/test_webhooks.py checks that a wrong or missing one is refused and acts on nothing.
AUTHENTICATED_BY_SHARED_SECRET = {f'{API}:webhooks'}


def plugin_urls():
    """(namespaced name, its parameter names) of every URL pattern of the plugin's UI and API."""
    found = {}

    def walk(patterns, namespaces, parameters):
        for pattern in patterns:
            own = parameters + tuple(pattern.pattern.regex.groupindex)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, namespaces + ([pattern.namespace] if pattern.namespace else []), own)
                continue
            namespace = ':'.join(namespaces)
            if namespace in (UI, API) and pattern.name and 'format' not in own:
                found[f'{namespace}:{pattern.name}'] = own

    walk(get_resolver().url_patterns, [], ())
    return found


@pytest.fixture
def run():
    """A run awaiting review, with a pending and a held change."""
    run = SyncRun.objects.create(organization_id='1001', organization_name='Acme', mode=SyncModeChoices.REVIEW,
                                 status=RunStatusChoices.AWAITING_REVIEW, trigger=RunTriggerChoices.API)
    Change.objects.create(run=run, sequence=0, action=ChangeActionChoices.CREATE, kind='site', meraki_id='N_1',
                          object_repr='Branch', after={'name': 'Branch'})
    Change.objects.create(run=run, sequence=1, action=ChangeActionChoices.DELETE, kind='device', meraki_id='Q2AA',
                          object_id=5, object_repr='old-ap', state=ChangeStateChoices.HELD, reason='Held for review')
    return run


def urls(run):
    paths = []
    for name, parameters in sorted(plugin_urls().items()):
        if name in AUTHENTICATED_BY_SHARED_SECRET:
            continue
        values = {parameter: (run.pk if parameter in ('pk', 'run_pk') else None) for parameter in parameters}
        if 'change' in name.rsplit(':', 1)[1] and 'pk' in values and 'changes' not in name:
            values['pk'] = run.changes.first().pk
        paths.append((name, reverse(name, kwargs=values)))
    return paths


def side_effects(run):
    """What an action would change: runs, their states, their changes' states, the settings."""
    settings = PluginSettings.load()
    return (
        list(SyncRun.objects.order_by('pk').values_list('pk', 'status', 'cancel_requested', 'job')),
        list(Change.objects.order_by('pk').values_list('pk', 'state')),
        settings.last_updated, settings.organization_ids, settings.deletion_threshold,
    )


# What a POST would carry, per page that acts: a valid request in every way but the right or the CSRF token.
BODIES = {
    f'{UI}:sync': {'mode': 'dry_run'},
    f'{UI}:change_bulk_approve': {'_all': '', 'run': '{run}'},
    f'{UI}:change_bulk_reject': {'_all': '', 'run': '{run}'},
    f'{UI}:settings_organizations': {'organization_ids': '42', 'default_sync_mode': 'auto'},
    f'{UI}:settings_cleanup': {'deletion_threshold': '99'},
    f'{API}:syncrun-sync': {'mode': 'dry_run'},
    f'{API}:settings': {'deletion_threshold': 99},
}


def body_for(name, run):
    return {key: str(value).replace('{run}', str(run.pk)) for key, value in BODIES.get(name, {}).items()}


def test_the_walk_finds_every_page_and_endpoint(run):
    names = {name.rsplit(':', 1)[1] for name, _path in urls(run)}
    assert {
        'dashboard', 'sync', 'syncrun', 'syncrun_apply', 'syncrun_cancel', 'change_bulk_approve', 'settings',
        'settings_scheduling', 'syncrun-sync', 'syncrun-apply', 'change-approve', 'settings-test-connection',
    } <= names
    assert AUTHENTICATED_BY_SHARED_SECRET <= set(plugin_urls())


def test_every_page_and_endpoint_refuses_a_user_without_permission(run, meraki_config):
    user = User.objects.create_user(username='nobody', password='nobody')
    browser = Client()
    browser.force_login(user)
    token = Token.objects.create(user=user, write_enabled=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f'Bearer {TOKEN_PREFIX}{token.key}.{token.token}')
    anonymous = Client()
    before = side_effects(run)
    answers = []
    for name, path in urls(run):
        if name in OPEN_TO_EVERY_USER:
            continue
        client = api if name.startswith(API) else browser
        for method in ('get', 'post', 'put', 'patch', 'delete'):
            response = getattr(client, method)(path, body_for(name, run), **(
                {'format': 'json'} if client is api else {}))
            answers.append((name, method, response.status_code))
        # Signed out: the UI sends to the login page, the API refuses.
        response = anonymous.get(path)
        answers.append((name, 'anonymous', 302 if response.status_code == 302 and '/login/' in response.url
                        else response.status_code))
    allowed = [answer for answer in answers if answer[2] not in (302, 401, 403, 404, 405)]
    assert not allowed, allowed
    assert not [answer for answer in answers if answer[1] == 'anonymous' and answer[2] not in (302, 401, 403)]
    assert side_effects(run) == before


def test_a_user_who_may_only_look_can_act_nowhere(run, meraki_config):
    user = User.objects.create_user(username='viewer', password='viewer')
    permission = ObjectPermission.objects.create(name='look', actions=['view'])
    permission.object_types.add(*(ObjectType.objects.get_for_model(model) for model in (SyncRun, Change,
                                                                                         PluginSettings)))
    permission.users.add(user)
    browser = Client()
    browser.force_login(user)
    token = Token.objects.create(user=user, write_enabled=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f'Bearer {TOKEN_PREFIX}{token.key}.{token.token}')
    before = side_effects(run)
    looked, acted = [], []
    for name, path in urls(run):
        client = api if name.startswith(API) else browser
        response = client.get(path)
        if name == f'{UI}:home':  # the plugin's root only leads to the dashboard, which checks its permission
            assert response.status_code == 302 and response.url == reverse(f'{UI}:dashboard')
            continue
        looked.append((name, response.status_code))
        for method in ('post', 'put', 'patch', 'delete'):
            response = getattr(client, method)(path, body_for(name, run), **(
                {'format': 'json'} if client is api else {}))
            acted.append((name, method, response.status_code))
    # Pages show (an action's URL answers 403 or 405 to a GET); nothing else.
    assert not [answer for answer in looked if answer[1] not in (200, 403, 405)], looked
    assert {name for name, code in looked if code == 200} >= {
        f'{UI}:syncrun', f'{UI}:syncrun_list', f'{UI}:syncrun_changes', f'{UI}:change_list', f'{UI}:settings',
        f'{API}:syncrun-detail', f'{API}:change-list', f'{API}:settings',
    }
    # Seeing the configuration may test the connection and preview rules (they change nothing); everything else needs
    # its own right.
    allowed = [answer for answer in acted if answer[2] not in (403, 405)
               and answer[0] not in (f'{UI}:settings_test_connection', f'{API}:settings-test-connection',
                                     f'{UI}:settings_preview_site_name', f'{UI}:settings_preview_interface_name',
                                     f'{UI}:settings_preview_prefix')]
    assert not allowed, allowed
    assert side_effects(run) == before


def test_no_action_happens_on_a_get(run, admin_client, meraki_config, django_capture_on_commit_callbacks):
    before = side_effects(run)
    with django_capture_on_commit_callbacks() as queued:
        for name, path in urls(run):
            response = admin_client.get(path, body_for(name, run))
            assert response.status_code in (200, 302, 405), (name, response.status_code)
    assert side_effects(run) == before
    assert not queued


def test_no_action_happens_without_a_csrf_token(run, meraki_config, django_capture_on_commit_callbacks):
    admin = User.objects.create_user(username='admin-browser', password='x', is_superuser=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    api_session = APIClient(enforce_csrf_checks=True)
    api_session.force_login(admin)
    before = side_effects(run)
    with django_capture_on_commit_callbacks() as queued:
        for name, path in urls(run):
            client = api_session if name.startswith(API) else browser
            for method in ('post', 'put', 'patch', 'delete'):
                response = getattr(client, method)(path, body_for(name, run), **(
                    {'format': 'json'} if client is api_session else {}))
                assert response.status_code in (403, 405), (name, method, response.status_code)
    assert side_effects(run) == before
    assert not queued
