"""The settings endpoint: reading, updating through the model's validation and NetBox's changelog."""

import pytest
from django.contrib.contenttypes.models import ContentType

from core.models import ObjectChange

from netbox_meraki.models import PluginSettings


@pytest.fixture(autouse=True)
def settings_row(db):
    # The row exists before the tests' requests, as it does once the plugin has been used.
    return PluginSettings.load()


@pytest.fixture
def viewer(api):
    return api.grant(PluginSettings, 'view')


@pytest.fixture
def editor(api):
    return api.grant(PluginSettings, 'view', 'change')


def test_settings_are_read_with_the_view_permission(api, meraki_config):
    assert api.get('/settings/').status_code == 403
    api.grant(PluginSettings, 'view')
    response = api.get('/settings/')
    assert response.status_code == 200
    data = response.json()
    assert data['default_sync_mode']['value'] == 'review'
    assert data['role_names']['switch'] == 'Switch'
    assert data['base_url'] == meraki_config['base_url']
    assert data['api_key_configured'] is True
    assert 'api_key' not in data
    assert data['url'].endswith('/api/plugins/meraki/settings/')
    assert response.has_header('ETag')


def test_updating_needs_the_change_permission(viewer):
    assert viewer.patch('/settings/', {'deletion_threshold': 40}).status_code == 403
    assert viewer.put('/settings/', {'deletion_threshold': 40}).status_code == 403
    assert PluginSettings.load().deletion_threshold == 25


def test_an_update_is_saved_and_recorded_in_the_changelog(editor):
    response = editor.patch('/settings/', {
        'default_sync_mode': 'auto', 'deletion_threshold': 40, 'organization_ids': ['1001'],
        'delete_policy': {'device': 'mark'}, 'changelog_message': 'Mark removed devices',
    })
    assert response.status_code == 200, response.content
    assert response.json()['default_sync_mode']['value'] == 'auto'
    settings = PluginSettings.load()
    assert (settings.default_sync_mode, settings.deletion_threshold) == ('auto', 40)
    assert settings.organization_ids == ['1001']
    assert settings.policy_for('device') == 'mark'

    change = ObjectChange.objects.get(changed_object_type=ContentType.objects.get_for_model(PluginSettings))
    assert change.action == 'update'
    assert change.user == editor.user
    assert change.message == 'Mark removed devices'
    assert change.prechange_data['deletion_threshold'] == 25
    assert change.postchange_data['deletion_threshold'] == 40


def test_put_replaces_the_fields_given(editor):
    data = editor.get('/settings/').json()
    body = {key: value['value'] if isinstance(value, dict) and 'value' in value else value
            for key, value in data.items()
            if key not in ('id', 'url', 'display_url', 'display', 'base_url', 'api_key_configured', 'created',
                           'last_updated', 'last_scheduled_sync', 'next_scheduled_sync')}
    body['manufacturer_name'] = 'Meraki'
    response = editor.put('/settings/', body)
    assert response.status_code == 200, response.content
    assert PluginSettings.load().manufacturer_name == 'Meraki'


@pytest.mark.parametrize('field,value', [
    ('organization_ids', ['1001', '']),
    ('network_ids', [1, 2]),
    ('role_names', {'switch': ''}),
    ('role_names', ['Switch']),
    ('status_map', {'online': 'sleeping'}),
    ('delete_policy', {'device': 'shred'}),
    ('delete_policy', 'delete'),
    ('deletion_threshold', 150),
    ('default_sync_mode', 'sometimes'),
    ('site_name_rules', [{'regex': '(unclosed', 'template': '{name}'}]),
    ('interface_name_rules', [{'models': '', 'regex': '(unclosed', 'template': '{name}'}]),
    ('interface_name_rules', {'regex': '\\d+', 'template': 'Port {name}'}),
    ('prefix_filters', {'include': ['not-a-cidr']}),
    ('name_transforms', {'site': 'reverse'}),
    ('extra_tags', {'device': 'not-a-list'}),
    ('sync_interval_minutes', 1),
    ('full_read_hours', 721),
    ('full_read_hours', -1),
    ('manufacturer_name', ''),
])
def test_an_invalid_value_is_refused_with_the_reason_for_its_field(editor, field, value):
    response = editor.patch('/settings/', {field: value, 'adopt_existing': True})
    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) == [field], errors
    assert errors[field] and all(isinstance(message, str) and message for message in errors[field])
    # Nothing is saved, not even the valid field sent along.
    assert PluginSettings.load().adopt_existing is False
    assert not ObjectChange.objects.filter(changed_object_type=ContentType.objects.get_for_model(PluginSettings))


def test_full_read_hours_is_read_and_written(editor):
    assert editor.get('/settings/').json()['full_read_hours'] == 24
    for hours in (720, 0):  # the longest allowed, and: every sync reads every network
        response = editor.patch('/settings/', {'full_read_hours': hours})
        assert response.status_code == 200, response.content
        assert response.json()['full_read_hours'] == hours
        assert editor.get('/settings/').json()['full_read_hours'] == hours
        assert PluginSettings.load().full_read_hours == hours


def test_tenant_per_organization_and_the_site_group_policy_are_read_and_written(editor):
    data = editor.get('/settings/').json()
    assert data['tenant_per_organization'] is False
    response = editor.patch('/settings/', {'tenant_per_organization': True, 'delete_policy': {'sitegroup': 'keep'}})
    assert response.status_code == 200, response.content
    assert response.json()['tenant_per_organization'] is True
    settings = PluginSettings.load()
    assert settings.tenant_per_organization is True
    assert settings.policy_for('sitegroup') == 'keep'
    response = editor.patch('/settings/', {'delete_policy': {'template': 'keep'}})
    assert response.status_code == 400
    assert 'sitegroup' in ' '.join(response.json()['delete_policy'])


def test_interface_name_rules_are_read_and_written_in_order(editor):
    assert editor.get('/settings/').json()['interface_name_rules'] == []
    rules = [
        {'models': '^MS2[25]0', 'regex': r'(?P<port>\d+)', 'template': 'GigabitEthernet1/0/{port}'},
        {'regex': r'\d+', 'template': 'Port {name}'},
    ]
    response = editor.patch('/settings/', {'interface_name_rules': rules})
    assert response.status_code == 200, response.content
    assert response.json()['interface_name_rules'] == rules
    assert PluginSettings.load().interface_name_rules == rules


@pytest.mark.parametrize('rules, reason', [
    ([{'regex': r'(?P<port>\d+)', 'template': 'Port {number}'}],
     'Rule 1: the template uses {number}, which is neither a named group of the regex nor {name}.'),
    ([{'regex': r'\d+', 'template': 'Port {name}'}, {'models': '(MS', 'regex': r'\d+', 'template': 'x'}],
     'Rule 2: the models regex does not compile'),
    ([{'regex': r'\d+', 'template': 'Port {name}', 'model': 'MS120'}], 'Rule 1: give a non-empty "regex"'),
    ([{'regex': r'\d+', 'template': 'x' * 65}], 'Rule 1: the template gives names longer than 64 characters'),
])
def test_a_bad_interface_name_rule_is_refused_naming_the_rule_and_the_reason(editor, rules, reason):
    response = editor.patch('/settings/', {'interface_name_rules': rules})
    assert response.status_code == 400, response.content
    assert reason in ' '.join(response.json()['interface_name_rules'])
    assert PluginSettings.load().interface_name_rules == []


def test_site_name_rules_may_use_the_organization(editor):
    rules = [{'regex': '.*', 'template': '{organization} {name}'}]
    assert editor.patch('/settings/', {'site_name_rules': rules}).status_code == 200
    assert PluginSettings.load().site_name_rules == rules


def test_a_stale_etag_is_refused(editor):
    etag = editor.get('/settings/')['ETag']
    assert editor.patch('/settings/', {'deletion_threshold': 30}, **{'If-Match': etag}).status_code == 200
    response = editor.patch('/settings/', {'deletion_threshold': 35}, **{'If-Match': etag})
    assert response.status_code == 412
    assert PluginSettings.load().deletion_threshold == 30


def test_connection_test_lists_the_organizations_the_key_sees(viewer, meraki_config, simulator):
    response = viewer.post('/settings/test-connection/')
    assert response.status_code == 200
    data = response.json()
    assert data['ok'] is True
    assert sorted(organization['id'] for organization in data['organizations']) == sorted(simulator.org_ids)

    meraki_config['api_key'] = 'revoked-key-000000000000000000000000000'
    data = viewer.post('/settings/test-connection/').json()
    assert data['ok'] is False
    assert data['organizations'] == []
    assert '401' in data['detail']


def test_connection_test_needs_the_view_permission(api, meraki_config):
    assert api.post('/settings/test-connection/').status_code == 403


def test_the_inventory_site_is_needed_only_when_inventory_is_synced(editor):
    response = editor.patch('/settings/', {'sync_inventory': True, 'inventory_site_name': ''})
    assert response.status_code == 400, response.content
    assert 'Name the site that holds unassigned inventory' in response.json()['inventory_site_name'][0]
    assert editor.patch('/settings/', {'inventory_site_name': ''}).status_code == 200
    assert PluginSettings.load().inventory_site_name == ''
