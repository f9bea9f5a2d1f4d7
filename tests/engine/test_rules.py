"""
Site-name and interface-name rules, prefix filters, name transforms and VLAN lists: the pure rules, and their refusal
at save.
"""

import pytest
from django.core.exceptions import ValidationError

from netbox_meraki.mapping_network import parse_vlan_list, vlan_id
from netbox_meraki.models import PluginSettings
from netbox_meraki.rules import (
    apply_interface_name_rules,
    apply_site_name_rules,
    interface_name_rule,
    prefix_allowed,
    transform_name,
    validate_interface_name_rules,
    validate_prefix_filters,
    validate_site_name_rules,
)

RULES = [
    {'regex': r'^(?P<city>[A-Za-z]+) Branch (?P<number>\d+)$', 'template': '{city}-BR{number}'},
    {'regex': r'Branch', 'template': 'Other branch: {name}'},
]


def test_site_name_rule_without_a_match_keeps_the_network_name():
    assert apply_site_name_rules('Head Office', RULES) == 'Head Office'
    assert apply_site_name_rules('Head Office', []) == 'Head Office'


def test_the_first_matching_rule_wins_when_several_match():
    assert apply_site_name_rules('Berlin Branch 7', RULES) == 'Berlin-BR7'
    assert apply_site_name_rules('Old Branch Office', RULES) == 'Other branch: Old Branch Office'


def test_optional_groups_that_did_not_match_become_empty():
    rules = [{'regex': r'^(?P<city>\w+)(?: (?P<suffix>\d+))?$', 'template': '{city}{suffix}'}]
    assert apply_site_name_rules('Paris', rules) == 'Paris'


def test_organization_names_sites_apart_when_networks_share_a_name():
    rules = [{'regex': '.*', 'template': '{organization} - {name}'}]
    assert apply_site_name_rules('Main Office', rules, organization='Acme') == 'Acme - Main Office'
    assert apply_site_name_rules('Main Office', rules, organization='Globex') == 'Globex - Main Office'
    # Without an organization (the two-argument call of before), the template's other text still names the site.
    assert apply_site_name_rules('Main Office', rules) == '- Main Office'
    validate_site_name_rules(rules)


@pytest.mark.parametrize('rules, message', [
    ([{'regex': '(unclosed', 'template': '{name}'}], 'Rule 1: the regex does not compile'),
    ([{'regex': '^x', 'template': '{city}'}], 'Rule 1: the template uses {city}'),
    ([RULES[0], {'regex': '', 'template': 'x'}], 'Rule 2: give exactly a non-empty'),
    ([{'regex': 'x', 'template': '{'}], 'Rule 1: the template is not valid'),
    ([{'regex': 'x', 'template': '{name:d}'}], "Rule 1: the template is not valid: Unknown format code 'd'"),
    ([{'regex': 5, 'template': 'x'}], 'Rule 1: give exactly a non-empty'),
    ([{'regex': 'x', 'template': 'x', 'models': 'MS'}], 'Rule 1: give exactly a non-empty'),
    ('not a list', 'must be a list'),
])
def test_bad_site_name_rules_are_refused_with_the_reason(rules, message):
    with pytest.raises(ValidationError, match=message.replace('{', r'\{').replace('}', r'\}')):
        validate_site_name_rules(rules)


INTERFACE_RULES = [
    {'models': '^MS2[25]0', 'regex': r'(?P<port>\d+)', 'template': 'GigabitEthernet1/0/{port}'},
    {'models': '', 'regex': r'\d+', 'template': 'Port {name}'},
]


def test_interface_name_rules_map_meraki_port_numbers_to_the_device_types_names():
    assert apply_interface_name_rules('1', 'MS250-48FP', INTERFACE_RULES) == 'GigabitEthernet1/0/1'
    # Another model skips the first rule; an empty "models" (or none) matches every model.
    assert apply_interface_name_rules('1', 'MS120-8', INTERFACE_RULES) == 'Port 1'
    assert apply_interface_name_rules('7', None, [{'regex': r'\d+', 'template': 'Port {name}'}]) == 'Port 7'
    assert interface_name_rule('1', 'MS120-8', INTERFACE_RULES) == (2, 'Port 1')


def test_a_port_no_rule_matches_keeps_its_meraki_name():
    # The regex must match the whole port name: a module port is not a number.
    assert interface_name_rule('1_MA-MOD-4X10G_1', 'MS250-48', INTERFACE_RULES) == (None, '1_MA-MOD-4X10G_1')
    assert apply_interface_name_rules('12', 'MS120-8', []) == '12'
    assert apply_interface_name_rules('12', 'MS120-8', None) == '12'


def test_an_interface_name_the_template_leaves_empty_or_too_long_falls_back_to_the_port_name():
    empty = [{'regex': r'(?P<slot>\d+_)?\d+', 'template': '{slot}'}]
    assert apply_interface_name_rules('3', 'MS120', empty) == '3'
    long = [{'regex': r'(?P<port>.+)', 'template': '{port}{port}'}]
    assert apply_interface_name_rules('x' * 40, 'MS120', long) == 'x' * 40


@pytest.mark.parametrize('rules, message', [
    ('not a list', 'Interface-name rules must be a list'),
    ([{'regex': r'\d+', 'template': 'Port {name}', 'model': 'MS'}], 'Rule 1: give a non-empty "regex"'),
    ([INTERFACE_RULES[0], {'regex': '', 'template': 'x'}], 'Rule 2: give a non-empty "regex"'),
    ([{'regex': r'\d+', 'template': ''}], 'Rule 1: give a non-empty "regex"'),
    ([{'models': ['MS120'], 'regex': r'\d+', 'template': 'x'}], 'Rule 1: give a non-empty "regex"'),
    ([{'models': '(MS', 'regex': r'\d+', 'template': 'x'}], 'Rule 1: the models regex does not compile'),
    ([{'regex': r'(\d+', 'template': 'x'}], 'Rule 1: the regex does not compile'),
    ([{'regex': r'(?P<port>\d+)', 'template': 'Port {number}'}], 'Rule 1: the template uses {number}'),
    ([{'regex': r'\d+', 'template': '{organization} {name}'}], 'Rule 1: the template uses {organization}'),
    ([{'regex': r'\d+', 'template': 'Port {name'}], 'Rule 1: the template is not valid'),
    ([{'regex': r'\d+', 'template': 'Port ' + 'x' * 60 + '{name}'}], 'Rule 1: the template gives names longer than 64'),
])
def test_bad_interface_name_rules_are_refused_with_the_rule_and_the_reason(rules, message):
    with pytest.raises(ValidationError, match=message.replace('{', r'\{').replace('}', r'\}')):
        validate_interface_name_rules(rules)


def test_good_interface_name_rules_pass():
    validate_interface_name_rules(INTERFACE_RULES)
    validate_interface_name_rules([{'regex': r'\d+', 'template': 'Port {name}'}])
    validate_interface_name_rules([])


def test_prefix_filters_include_exclude_and_length_bounds():
    filters = {'include': ['10.0.0.0/8', '192.168.0.0/16'], 'exclude': ['10.99.0.0/16'], 'min_length': 16,
               'max_length': 28}
    assert prefix_allowed('10.1.2.0/24', filters)
    assert not prefix_allowed('172.16.0.0/24', filters)  # in no include
    assert not prefix_allowed('10.99.1.0/24', filters)  # excluded, though included
    assert not prefix_allowed('10.0.0.0/8', filters)  # shorter than 16
    assert not prefix_allowed('10.1.2.0/30', filters)  # longer than 28
    assert prefix_allowed('192.168.1.0/24', filters)
    assert not prefix_allowed('not-a-cidr', filters)
    assert prefix_allowed('2001:db8::/64', {})
    assert not prefix_allowed('2001:db8::/64', {'include': ['10.0.0.0/8']})


@pytest.mark.parametrize('filters, message', [
    ({'include': ['10.0.0.0/33']}, "is not a CIDR"),
    ({'exclude': 'x'}, 'must be a list'),
    ({'min_length': 24, 'max_length': 16}, 'cannot be greater'),
    ({'min_length': 200}, 'from 0 to 128'),
    ({'bogus': 1}, 'take "include"'),
])
def test_bad_prefix_filters_are_refused_with_the_reason(filters, message):
    with pytest.raises(ValidationError, match=message):
        validate_prefix_filters(filters)


def test_name_transforms():
    assert transform_name('Main Office', 'keep') == 'Main Office'
    assert transform_name('Main Office', 'upper') == 'MAIN OFFICE'
    assert transform_name('Main Office', 'lower') == 'main office'
    assert transform_name('main office', 'title') == 'Main Office'
    assert transform_name('Main Office', None) == 'Main Office'


def test_allowed_vlan_lists():
    assert parse_vlan_list('1,3,5-7') == [1, 3, 5, 6, 7]
    assert parse_vlan_list(' 10 , 20 ') == [10, 20]
    assert parse_vlan_list('all') == 'all'
    assert parse_vlan_list('') == []
    for bad in ('0', '4095', '5-3', 'ten', '1-'):
        with pytest.raises(ValueError):
            parse_vlan_list(bad)


def test_vlan_ids_as_strings_or_integers():
    assert vlan_id('10') == 10 and vlan_id(10) == 10
    assert vlan_id(0) is None and vlan_id(4095) is None and vlan_id('x') is None and vlan_id(None) is None


@pytest.mark.django_db
@pytest.mark.parametrize('field, value', [
    ('site_name_rules', [{'regex': '(', 'template': 'x'}]),
    ('interface_name_rules', [{'regex': r'\d+', 'template': 'Port {number}'}]),
    ('interface_name_rules', {'regex': r'\d+'}),
    ('prefix_filters', {'include': ['nonsense']}),
    ('name_transforms', {'site': 'shout'}),
    ('extra_tags', {'device': 'not-a-list'}),
    ('delete_policy', {'device': 'shred'}),
    ('status_map', {'online': 'flying'}),
    ('role_names', []),
])
def test_settings_refuse_bad_rules_at_save_naming_the_field(field, value):
    settings = PluginSettings.load()
    setattr(settings, field, value)
    with pytest.raises(ValidationError) as error:
        settings.full_clean()
    assert field in error.value.message_dict
