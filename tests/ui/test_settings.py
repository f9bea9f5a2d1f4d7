"""The configuration tabs: who may see and change them, saving through the model's validation, live previews."""

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ObjectChange
from dcim.models import Device, DeviceRole, DeviceType, Manufacturer, Site
from extras.models import Tag
from utilities.testing.utils import disable_warnings

from netbox_meraki.models import NetworkRead, PluginSettings, SyncedObject

from .conftest import API_KEY

pytestmark = pytest.mark.django_db

TABS = ('settings', 'settings_organizations', 'settings_mapping', 'settings_rules', 'settings_cleanup',
        'settings_scheduling')
FORM_TABS = TABS[1:]


def url(name):
    return reverse(f'plugins:netbox_meraki:{name}')


def rules_data(*rules, interface_rules=(), **fields):
    """The Rules tab's POST: site-name rule rows, interface-name rule rows (models, regex, template), prefix filters."""
    data = {'rule-TOTAL_FORMS': len(rules), 'rule-INITIAL_FORMS': 0, 'prefix_include': '', 'prefix_exclude': '',
            'prefix_min_length': '', 'prefix_max_length': '', 'interface_rule-TOTAL_FORMS': len(interface_rules),
            'interface_rule-INITIAL_FORMS': 0, **fields}
    for number, (regex, template) in enumerate(rules):
        data[f'rule-{number}-regex'] = regex
        data[f'rule-{number}-template'] = template
    for number, (models, regex, template) in enumerate(interface_rules):
        data[f'interface_rule-{number}-models'] = models
        data[f'interface_rule-{number}-regex'] = regex
        data[f'interface_rule-{number}-template'] = template
    return data


def test_every_tab_needs_the_view_permission_and_saving_the_change_permission(user, user_client, grant):
    with disable_warnings('django.request'):
        for name in TABS:
            assert user_client.get(url(name)).status_code == 403, name
    grant(user, 'netbox_meraki.view_pluginsettings')
    for name in TABS:
        page = user_client.get(url(name)).content.decode()
        assert 'You can see these settings but not change them.' in page, name
        assert '>Save</button>' not in page, name
    with disable_warnings('django.request'):
        for name in FORM_TABS:
            assert user_client.post(url(name), {}).status_code == 403, name
    assert PluginSettings.load().organization_ids == []


def test_the_connection_tab_never_shows_the_key(admin_client, meraki_config):
    page = admin_client.get(url('settings')).content.decode()
    assert meraki_config['base_url'] in page and 'Configured' in page
    assert API_KEY not in page
    for name in FORM_TABS:
        assert API_KEY not in admin_client.get(url(name)).content.decode()


def test_test_connection_lists_the_organizations_or_says_why_not(admin_client, meraki_config, simulator, org_id):
    test = url('settings_test_connection')
    with disable_warnings('django.request'):
        assert admin_client.get(test).status_code == 405
    page = admin_client.post(test).content.decode()
    assert 'Connected: the key sees 1 organization.' in page
    assert simulator.dashboard.orgs[org_id].organization['name'] in page and org_id in page

    simulator.revoke_key(API_KEY)
    page = admin_client.post(test).content.decode()
    assert 'Meraki could not be reached with the configured key.' in page
    assert '401' in page
    assert API_KEY not in page


def test_test_connection_without_a_key_says_so(admin_client, settings):
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_meraki': {
        **settings.PLUGINS_CONFIG['netbox_meraki'], 'api_key': ''}}
    page = admin_client.post(url('settings_test_connection')).content.decode()
    assert 'No Meraki API key is configured' in page
    assert 'Not configured' in admin_client.get(url('settings')).content.decode()


def test_organizations_and_networks_are_saved_as_lists_in_the_changelog(admin_client):
    for organization_id, network_id in (('111', 'L_1'), ('222', 'N_2')):
        NetworkRead.objects.create(organization_id=organization_id, network_id=network_id, read_at=timezone.now())
    response = admin_client.post(url('settings_organizations'), {
        'organization_ids': '111\n222, 111', 'network_ids': ['L_1', 'N_2'], 'default_sync_mode': 'dry_run',
    })
    assert response.status_code == 302
    settings = PluginSettings.load()
    assert settings.organization_ids == ['111', '222']
    assert settings.network_ids == ['L_1', 'N_2']
    assert settings.default_sync_mode == 'dry_run'
    change = ObjectChange.objects.filter(changed_object_id=settings.pk).latest('time')
    assert change.postchange_data['organization_ids'] == ['111', '222']
    page = admin_client.get(url('settings_organizations')).content.decode()
    assert '111\n222' in page


def test_mapping_is_one_field_per_product_type_status_and_kind(admin_client):
    Tag.objects.create(name='Branch', slug='branch')
    data = {field: value for field, value in admin_client.get(url('settings_mapping')).context['form'].initial.items()
            if value not in (None, [])}
    data.update({
        'manufacturer_name': 'Meraki', 'role_switch': 'Access Switch', 'status_dormant': 'planned',
        'transform_device': 'upper', 'tags_site': ['branch'], 'sync_inventory': 'on', 'vrf_per_network': '',
        'tenant_per_organization': 'on',
    })
    data = {key: value for key, value in data.items() if value is not False}
    response = admin_client.post(url('settings_mapping'), data)
    assert response.status_code == 302, response.context['form'].errors
    settings = PluginSettings.load()
    assert settings.manufacturer_name == 'Meraki'
    assert settings.role_names['switch'] == 'Access Switch'
    assert settings.role_names['appliance'] == 'Security Appliance'
    assert settings.status_map['dormant'] == 'planned'
    assert settings.name_transforms['device'] == 'upper'
    assert settings.extra_tags == {'site': ['branch']}
    assert settings.sync_inventory is True and settings.vrf_per_network is False
    assert settings.tenant_per_organization is True


def test_switch_stacks_are_off_and_the_tab_says_what_they_cost(admin_client):
    manufacturer = Manufacturer.objects.create(name='Cisco Meraki', slug='cisco-meraki')
    device_type = DeviceType.objects.create(manufacturer=manufacturer, model='MS120-8LP', slug='ms120-8lp')
    role = DeviceRole.objects.create(name='Switch', slug='switch')
    for number in range(3):  # switches in two sites: two networks with switches
        site = Site.objects.get_or_create(name=f'Site {number % 2}', slug=f'site-{number % 2}')[0]
        switch = Device.objects.create(name=f'sw-{number}', site=site, device_type=device_type, role=role)
        SyncedObject.objects.create(kind='device', meraki_id=f'Q2AA-{number}', object=switch, organization_id='1',
                                    last_synced=timezone.now())
    assert PluginSettings.load().sync_switch_stacks is False

    form = admin_client.get(url('settings_mapping')).context['form']

    assert 'one API call per network with switches' in form.fields['sync_switch_stacks'].help_text
    assert '2 call(s) per full read for the 2 network(s)' in form.fields['sync_switch_stacks'].help_text
    data = {key: value for key, value in form.initial.items() if value not in (None, [], False)}
    response = admin_client.post(url('settings_mapping'), {**data, 'sync_switch_stacks': 'on'})
    assert response.status_code == 302, response.context['form'].errors
    assert PluginSettings.load().sync_switch_stacks is True


def test_an_empty_role_name_is_refused_next_to_its_field(admin_client):
    data = dict(admin_client.get(url('settings_mapping')).context['form'].initial)
    data = {key: value for key, value in data.items() if value not in (None, [], False)}
    data['role_camera'] = ''
    response = admin_client.post(url('settings_mapping'), data)
    assert response.status_code == 200
    assert response.context['form'].errors['role_camera']
    assert 'id="id_role_camera_errors"' in response.content.decode()
    assert PluginSettings.load().role_names['camera'] == 'Camera'


def test_site_name_rules_are_saved_in_order_and_a_broken_rule_is_refused_on_its_row(admin_client):
    response = admin_client.post(url('settings_rules'), rules_data(
        (r'^(?P<city>\w+)-', '{city} office'), ('', ''), ('.*', '{name}'),
    ))
    assert response.status_code == 302
    assert PluginSettings.load().site_name_rules == [
        {'regex': r'^(?P<city>\w+)-', 'template': '{city} office'}, {'regex': '.*', 'template': '{name}'},
    ]

    response = admin_client.post(url('settings_rules'), rules_data(
        ('^ok$', '{name}'), ('^(?P<city>\\w+', '{city}'),
    ))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'the regex does not compile' in page
    assert response.context['form'].rules.forms[1].errors['regex']
    response = admin_client.post(url('settings_rules'), rules_data(('^(?P<city>\\w+)', '{town}')))
    assert 'which is neither a named group' in response.context['form'].rules.forms[0].errors['template'][0]
    assert len(PluginSettings.load().site_name_rules) == 2


def test_interface_name_rules_are_saved_in_order_and_a_broken_rule_is_refused_on_its_row(admin_client):
    response = admin_client.post(url('settings_rules'), rules_data(interface_rules=(
        ('^MS2[25]0', r'(?P<port>\d+)', 'GigabitEthernet1/0/{port}'), ('', '', ''), ('', r'\d+', 'Port {name}'),
    )))
    assert response.status_code == 302
    saved = [
        {'models': '^MS2[25]0', 'regex': r'(?P<port>\d+)', 'template': 'GigabitEthernet1/0/{port}'},
        {'models': '', 'regex': r'\d+', 'template': 'Port {name}'},
    ]
    assert PluginSettings.load().interface_name_rules == saved
    page = admin_client.get(url('settings_rules')).content.decode()
    assert 'value="GigabitEthernet1/0/{port}"' in page and 'value="^MS2[25]0"' in page

    cases = [
        (('(MS', r'\d+', 'x'), 'models', 'the models regex does not compile'),
        (('', r'(\d+', 'x'), 'regex', 'the regex does not compile'),
        (('', r'(?P<port>\d+)', 'Port {number}'), 'template', 'the template uses {number}, which is neither'),
        (('', r'\d+', 'x' * 65), 'template', 'the template gives names longer than 64 characters'),
        (('MS120', '', 'Port {name}'), 'regex', 'give a non-empty "regex"'),
    ]
    for rule, field, reason in cases:
        response = admin_client.post(url('settings_rules'), rules_data(interface_rules=(('', r'\d+', '{name}'), rule)))
        assert response.status_code == 200, rule
        form = response.context['form']
        assert not form.interface_rules.forms[0].errors
        assert reason in form.interface_rules.forms[1].errors[field][0], form.interface_rules.forms[1].errors
        page = response.content.decode()
        assert 'An interface-name rule cannot work: see the rule marked below.' in page
        assert reason.replace('"', '&quot;') in page
    assert PluginSettings.load().interface_name_rules == saved


def test_a_rules_post_without_interface_rows_leaves_the_interface_rules_as_they_are(admin_client):
    # What an older page (or a script posting only the site-name rows) sends must not erase the interface rules.
    settings = PluginSettings.load()
    settings.interface_name_rules = [{'models': '', 'regex': r'\d+', 'template': 'Port {name}'}]
    settings.save()
    data = rules_data(('^HQ', 'Headquarters'))
    del data['interface_rule-TOTAL_FORMS'], data['interface_rule-INITIAL_FORMS']
    assert admin_client.post(url('settings_rules'), data).status_code == 302
    settings = PluginSettings.load()
    assert settings.site_name_rules == [{'regex': '^HQ', 'template': 'Headquarters'}]
    assert settings.interface_name_rules == [{'models': '', 'regex': r'\d+', 'template': 'Port {name}'}]
    # Rows whose count cannot be read are refused rather than read as no rules.
    response = admin_client.post(url('settings_rules'), {**data, 'interface_rule-TOTAL_FORMS': 'two'})
    assert response.status_code == 200
    assert 'The rules could not be read' in response.content.decode()
    assert len(PluginSettings.load().interface_name_rules) == 1


def test_prefix_filters_refuse_what_is_not_a_cidr_and_bounds_the_wrong_way_round(admin_client):
    response = admin_client.post(url('settings_rules'), rules_data(
        prefix_include='10.0.0.0/8\n172.16.0.0/12', prefix_exclude='10.99.0.0/16', prefix_min_length='16',
        prefix_max_length='29',
    ))
    assert response.status_code == 302
    assert PluginSettings.load().prefix_filters == {
        'include': ['10.0.0.0/8', '172.16.0.0/12'], 'exclude': ['10.99.0.0/16'], 'min_length': 16, 'max_length': 29,
    }
    response = admin_client.post(url('settings_rules'), rules_data(prefix_include='10.0.0.0/8\nbranch-lan'))
    assert 'branch-lan is not a CIDR' in response.context['form'].errors['prefix_include'][0]
    response = admin_client.post(url('settings_rules'), rules_data(prefix_min_length='28', prefix_max_length='24'))
    assert response.context['form'].errors['prefix_min_length'] == ['"min_length" cannot be greater than "max_length".']
    assert PluginSettings.load().prefix_filters['min_length'] == 16


def test_the_site_name_preview_uses_the_rules_as_typed(admin_client):
    preview = url('settings_preview_site_name')
    page = admin_client.post(preview, rules_data(
        (r'^(?P<city>[A-Z]{3})-(?P<number>\d+)', '{city} branch {number}'), ('^HQ', 'Headquarters'),
        test_network_name='NYC-042',
    )).content.decode()
    assert 'NYC branch 042' in page and 'Rule 1 matches.' in page
    page = admin_client.post(preview, rules_data(('^HQ', 'Headquarters'), test_network_name='Lab')).content.decode()
    assert 'Lab' in page and 'No rule matches' in page
    page = admin_client.post(preview, rules_data(('(', 'x'), test_network_name='Lab')).content.decode()
    assert 'does not compile' in page
    assert not PluginSettings.load().site_name_rules


def test_the_site_name_preview_fills_in_the_organization_typed(admin_client):
    page = admin_client.post(url('settings_preview_site_name'), rules_data(
        ('.*', '{organization} {name}'), test_network_name='Main Office', test_organization_name='Globex',
    )).content.decode()
    assert 'Globex Main Office' in page and 'Rule 1 matches.' in page


def test_the_interface_name_preview_uses_the_rules_as_typed(admin_client):
    preview = url('settings_preview_interface_name')
    rules = (('^MS2[25]0', r'(?P<port>\d+)', 'GigabitEthernet1/0/{port}'), ('', r'\d+', 'Port {name}'))

    def check(port, model='', interface_rules=rules):
        return admin_client.post(preview, rules_data(
            interface_rules=interface_rules, test_port_name=port, test_device_model=model,
        )).content.decode()

    page = check('12', 'MS250-48FP')
    assert 'GigabitEthernet1/0/12' in page and 'Rule 1 matches.' in page
    page = check('12', 'MS120-8')
    assert 'Port 12' in page and 'Rule 2 matches.' in page
    page = check('1_MA-MOD-4X10G_1', 'MS250-48FP')
    assert '1_MA-MOD-4X10G_1' in page and 'No rule matches' in page
    assert 'Type a Meraki port name' in check('')
    assert 'Rule 1: the template uses {number}' in check('1', interface_rules=[('', r'\d+', '{number}')])
    assert not PluginSettings.load().interface_name_rules
    with disable_warnings('django.request'):
        assert admin_client.get(preview).status_code == 405


def test_the_prefix_preview_says_whether_and_why_a_subnet_is_synced(admin_client):
    preview = url('settings_preview_prefix')

    def check(cidr, **filters):
        return admin_client.post(preview, rules_data(test_prefix=cidr, **filters)).content.decode()

    assert '10.1.0.0/24 is synced.' in check('10.1.0.0/24', prefix_include='10.0.0.0/8')
    assert 'inside none of the included' in check('192.168.1.0/24', prefix_include='10.0.0.0/8')
    assert 'inside the excluded 10.9.0.0/16' in check('10.9.1.0/24', prefix_exclude='10.9.0.0/16')
    assert 'shorter than the shortest' in check('10.0.0.0/8', prefix_min_length='16')
    assert 'longer than the longest' in check('10.0.0.0/30', prefix_max_length='29')
    assert 'is not a CIDR' in check('not-a-subnet')
    with disable_warnings('django.request'):
        assert admin_client.get(preview).status_code == 405


def test_cleanup_is_one_policy_per_kind(admin_client):
    site_policy = PluginSettings.load().policy_for('site')
    data = dict(admin_client.get(url('settings_cleanup')).context['form'].initial)
    assert data['policy_sitegroup'] == 'delete'
    data.update({
        'policy_device': 'keep', 'policy_cable': 'keep', 'policy_sitegroup': 'keep', 'deletion_threshold': '40',
    })
    assert admin_client.post(url('settings_cleanup'), data).status_code == 302
    settings = PluginSettings.load()
    assert settings.delete_policy['device'] == 'keep' and settings.delete_policy['cable'] == 'keep'
    assert settings.delete_policy['sitegroup'] == 'keep'
    # A kind left as it was keeps its policy.
    assert settings.delete_policy['site'] == site_policy
    assert settings.deletion_threshold == 40
    data['deletion_threshold'] = '140'
    response = admin_client.post(url('settings_cleanup'), data)
    assert response.context['form'].errors['deletion_threshold']
    assert PluginSettings.load().deletion_threshold == 40


def test_scheduling_is_validated_and_shows_its_state_and_setup_commands(admin_client):
    page = admin_client.get(url('settings_scheduling')).content.decode()
    assert 'min="5"' in page and 'step="5"' in page
    assert 'Disabled' in page
    assert 'schedule_meraki_sync --continuous' in page and 'manage.py schedule_meraki_sync' in page

    response = admin_client.post(url('settings_scheduling'), {
        'enable_scheduled_sync': 'on', 'sync_interval_minutes': '3', 'scheduled_sync_mode': 'auto',
        'full_read_hours': '24',
    })
    assert response.context['form'].errors['sync_interval_minutes']
    assert PluginSettings.load().enable_scheduled_sync is False

    response = admin_client.post(url('settings_scheduling'), {
        'enable_scheduled_sync': 'on', 'sync_interval_minutes': '15', 'scheduled_sync_mode': 'auto',
        'full_read_hours': '24',
    })
    assert response.status_code == 302
    settings = PluginSettings.load()
    assert (settings.enable_scheduled_sync, settings.sync_interval_minutes, settings.scheduled_sync_mode) == (
        True, 15, 'auto',
    )
    status = admin_client.get(url('settings_schedule_status')).content.decode()
    assert 'Enabled' in status and 'every 15 minutes' in status
    assert 'hx-trigger="every 15s"' in status


def test_the_full_read_interval_is_saved_on_the_scheduling_tab_and_bounded(admin_client):
    page = admin_client.get(url('settings_scheduling')).content.decode()
    assert 'name="full_read_hours"' in page and '0: every sync reads every network.' in page
    data = {'sync_interval_minutes': '60', 'scheduled_sync_mode': 'review'}

    response = admin_client.post(url('settings_scheduling'), {**data, 'full_read_hours': '721'})
    assert 'less than or equal to 720' in ' '.join(response.context['form'].errors['full_read_hours'])
    assert PluginSettings.load().full_read_hours == 24

    response = admin_client.post(url('settings_scheduling'), {**data, 'full_read_hours': '0'})
    assert response.status_code == 302
    settings = PluginSettings.load()
    assert settings.full_read_hours == 0
    change = ObjectChange.objects.filter(changed_object_id=settings.pk).latest('time')
    assert (change.prechange_data['full_read_hours'], change.postchange_data['full_read_hours']) == (24, 0)
