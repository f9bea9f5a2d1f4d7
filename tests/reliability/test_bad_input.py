"""
Bad input. Every configuration field refuses an invalid value with the reason next to that field; an organization id
nobody can read fails its sync with a message naming it; Meraki data with odd values syncs what NetBox can hold and
reports the rest object by object, without failing the run.
"""

import pytest
from django import forms as django_forms

from dcim.models import Device, Site
from ipam.models import VLAN, Prefix

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.forms import SyncNowForm
from netbox_meraki.forms.settings import (
    CleanupSettingsForm,
    MappingSettingsForm,
    OrganizationSettingsForm,
    RulesSettingsForm,
    SchedulingSettingsForm,
)
from netbox_meraki.models import PluginSettings, SyncedObject

from .conftest import differences, sync

pytestmark = pytest.mark.django_db


def valid_data(form_class, rules=()):
    """What the tab posts when nothing is changed: its fields' current values, as a browser sends them."""
    form = form_class(instance=PluginSettings.load())
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, django_forms.BooleanField):
            if value:
                data[name] = 'on'
        elif value is None:
            data[name] = ''
        else:
            data[name] = value
    if form_class is RulesSettingsForm:
        data.update({'rule-TOTAL_FORMS': len(rules), 'rule-INITIAL_FORMS': 0})
        for number, (regex, template) in enumerate(rules):
            data.update({f'rule-{number}-regex': regex, f'rule-{number}-template': template})
    return data


# (tab, the values typed, the field the reason must be next to, words of the reason)
FIELD_CASES = [
    (OrganizationSettingsForm, {'default_sync_mode': 'sometimes'}, 'default_sync_mode', 'Select a valid choice'),
    (MappingSettingsForm, {'manufacturer_name': ''}, 'manufacturer_name', 'required'),
    (MappingSettingsForm, {'manufacturer_name': 'x' * 101}, 'manufacturer_name', 'at most 100 characters'),
    (MappingSettingsForm, {'role_switch': '  '}, 'role_switch', 'required'),
    (MappingSettingsForm, {'status_online': 'exploded'}, 'status_online', 'Select a valid choice'),
    (MappingSettingsForm, {'transform_site': 'shout'}, 'transform_site', 'Select a valid choice'),
    (MappingSettingsForm, {'tags_device': ['no-such-tag']}, 'tags_device', 'Select a valid choice'),
    (MappingSettingsForm, {'inventory_site_name': 'x' * 101}, 'inventory_site_name', 'at most 100 characters'),
    (RulesSettingsForm, {'prefix_include': '10.0.0.0/8\n10.0.0.300/24'}, 'prefix_include', 'is not a CIDR'),
    (RulesSettingsForm, {'prefix_exclude': 'somewhere'}, 'prefix_exclude', 'is not a CIDR'),
    (RulesSettingsForm, {'prefix_min_length': '129'}, 'prefix_min_length', 'less than or equal to 128'),
    (RulesSettingsForm, {'prefix_max_length': '-1'}, 'prefix_max_length', 'greater than or equal to 0'),
    (RulesSettingsForm, {'prefix_min_length': '24', 'prefix_max_length': '16'}, 'prefix_min_length',
     'cannot be greater than'),
    (CleanupSettingsForm, {'deletion_threshold': '101'}, 'deletion_threshold', 'less than or equal to 100'),
    (CleanupSettingsForm, {'deletion_threshold': '-5'}, 'deletion_threshold', 'greater than or equal to 0'),
    (CleanupSettingsForm, {'policy_device': 'shred'}, 'policy_device', 'Select a valid choice'),
    (SchedulingSettingsForm, {'sync_interval_minutes': '4'}, 'sync_interval_minutes', 'greater than or equal to 5'),
    (SchedulingSettingsForm, {'sync_interval_minutes': 'hourly'}, 'sync_interval_minutes', 'Enter a whole number'),
    (SchedulingSettingsForm, {'scheduled_sync_mode': 'sometimes'}, 'scheduled_sync_mode', 'Select a valid choice'),
]


@pytest.mark.parametrize('form_class,typed,field,reason', FIELD_CASES,
                         ids=[f'{case[0].__name__}-{case[2]}-{number}' for number, case in enumerate(FIELD_CASES)])
def test_a_settings_field_refuses_an_invalid_value_with_the_reason_next_to_it(form_class, typed, field, reason):
    before = PluginSettings.load()
    form = form_class({**valid_data(form_class), **typed}, instance=PluginSettings.load())
    assert not form.is_valid()
    assert reason in ' '.join(form.errors.get(field, [])), form.errors
    assert set(form.errors) - {'__all__'} == {field}, form.errors
    assert PluginSettings.load().__dict__.keys() == before.__dict__.keys()
    assert PluginSettings.objects.get().last_updated == before.last_updated


@pytest.mark.parametrize('regex,template,field,reason', [
    ('(?P<city>[A-Z]{3}', '{city}', 'regex', 'the regex does not compile'),
    ('[', 'x', 'regex', 'the regex does not compile'),
    ('^(?P<city>[A-Z]{3})-', '{town} branch', 'template', 'the template uses {town}'),
    ('^(?P<city>[A-Z]{3})-', '{city', 'template', 'the template is not valid'),
    ('^x', '', 'regex', 'give exactly a non-empty "regex" and a non-empty "template"'),
])
def test_a_site_name_rule_that_cannot_work_is_refused_on_its_row(regex, template, field, reason):
    data = valid_data(RulesSettingsForm, rules=[('^(?P<name>.*)$', '{name}'), (regex, template)])
    form = RulesSettingsForm(data, instance=PluginSettings.load())
    assert not form.is_valid()
    first, second = form.rules.forms
    assert not first.errors
    messages = ' '.join(second.errors.get(field, [])) or ' '.join(form.non_field_errors())
    assert reason in messages, (second.errors, form.errors)
    assert PluginSettings.load().site_name_rules == []


def test_every_settings_tab_saves_its_own_values_unchanged():
    # The cases above differ from a valid post by the one value typed: each tab, posted as it is, is valid.
    for form_class in (OrganizationSettingsForm, MappingSettingsForm, RulesSettingsForm, CleanupSettingsForm,
                       SchedulingSettingsForm):
        form = form_class(valid_data(form_class), instance=PluginSettings.load())
        assert form.is_valid(), (form_class.__name__, form.errors)


def test_sync_now_refuses_an_organization_the_key_does_not_see(meraki_config, org_id):
    form = SyncNowForm({'mode': 'auto', 'organization_ids': ['999999']}, organizations=[(org_id, 'Acme')])
    assert not form.is_valid()
    assert '999999 is not one of the available choices' in ' '.join(form.errors['organization_ids'])


@pytest.mark.parametrize('mode', [SyncModeChoices.AUTO, SyncModeChoices.REVIEW, SyncModeChoices.DRY_RUN])
def test_a_sync_of_an_unknown_organization_fails_naming_it(meraki_config, mode):
    run = sync('999999', mode)
    assert run.status == RunStatusChoices.FAILED
    assert run.error.startswith('Organization 999999 could not be read: getOrganization failed: HTTP 404')
    assert 'that the API key can see this organization' in run.error
    assert not run.changes.exists()


# Meraki data with odd values.


def odd_organization(sim, org_id):
    """Put what a real Dashboard may hold into the simulator; returns what each odd object is."""
    org = sim.dashboard.orgs[org_id]
    networks = sorted(org.networks)
    vlan_network = sorted(org.vlans)[0]
    in_vlan_network = sorted(s for s, d in org.devices.items() if d['networkId'] == vlan_network)
    others = sorted(set(org.devices) - set(in_vlan_network))
    odd = {
        'unnamed': others[0], 'blank': others[1], 'unknown_model': others[2], 'no_model': others[3],
        'long': others[4], 'unicode': others[5], 'duplicate': in_vlan_network[:2],
        'unicode_network': networks[0], 'long_network': networks[1], 'vlan_network': vlan_network,
    }
    sim.edit_device(odd['unnamed'], name=None)
    sim.edit_device(odd['blank'], name='   ')
    sim.edit_device(odd['unknown_model'], model='ZZ-UNKNOWN-9000')
    sim.edit_device(odd['no_model'], model='')
    sim.edit_device(odd['long'], name='L' * 255)
    sim.edit_device(odd['unicode'], name='Zürich Büro — 東京 ✓')
    for serial in odd['duplicate']:
        sim.edit_device(serial, name='same-name')
    sim.edit_network(odd['unicode_network'], name='São Paulo — 東京 Ünïcødé')
    sim.edit_network(odd['long_network'], name='N' * 255)
    vlans = org.vlans[vlan_network]
    taken = vlans[0]['subnet']
    sim.add_vlan(vlan_network, 0, 'Zero', '10.90.0.0/24')
    sim.add_vlan(vlan_network, 4095, 'Reserved', '10.91.0.0/24')
    sim.add_vlan(vlan_network, 3001, 'Not a subnet', '10.0.0.300/24')
    sim.add_vlan(vlan_network, 3002, 'Overlapping', taken, appliance_ip=vlans[0]['applianceIp'])
    sim.add_vlan(vlan_network, 3003, 'V' * 255, '10.93.0.0/24')
    return odd


def test_odd_meraki_data_syncs_what_is_valid_and_reports_the_rest_per_object(simulator, meraki_config, org_id):
    odd = odd_organization(simulator, org_id)

    run = sync(org_id)

    assert run.status == RunStatusChoices.PARTIAL, (run.error, run.log[-5:])
    log = ' '.join(line['message'] for line in run.log)
    devices = {device.serial: device for device in Device.objects.all()}
    # Unnamed devices take their serial; unknown models get a device type; long names are cut to NetBox's 64.
    assert devices[odd['unnamed']].name == odd['unnamed']
    assert devices[odd['blank']].name == odd['blank']
    assert Device.objects.get(device_type__model='ZZ-UNKNOWN-9000').serial == odd['unknown_model']
    assert devices[odd['long']].name == 'L' * 64
    assert devices[odd['unicode']].name == 'Zürich Büro — 東京 ✓'
    # A device without a model is reported, not synced.
    assert odd['no_model'] not in devices
    assert f'device {odd["no_model"]}: no model' in log
    # Two devices of one site with one name: NetBox takes one and refuses the other, with its reason.
    first, second = (run.changes.get(kind='device', meraki_id=serial) for serial in odd['duplicate'])
    assert {first.state, second.state} == {ChangeStateChoices.APPLIED, ChangeStateChoices.FAILED}
    refused = first if first.state == ChangeStateChoices.FAILED else second
    assert 'unique' in refused.reason.lower()
    # Sites with non-ASCII and 255-character names.
    sites = {row.meraki_id: Site.objects.get(pk=row.object_id) for row in SyncedObject.objects.filter(kind='site')}
    assert sites[odd['unicode_network']].name == 'São Paulo — 東京 Ünïcødé'
    assert sites[odd['unicode_network']].slug.isascii()
    assert sites[odd['long_network']].name == 'N' * 100
    # VLAN ids outside 1-4094 and subnets that do not parse are reported; the VLAN of the bad subnet is kept.
    network = odd['vlan_network']
    vids = set(VLAN.objects.filter(pk__in=SyncedObject.objects.filter(
        kind='vlan', network_id=network).values('object_id')).values_list('vid', flat=True))
    assert {0, 4095}.isdisjoint(vids) and {3001, 3002, 3003} <= vids
    assert f'network {network}: VLAN id 0 is not 1-4094' in log
    assert f'network {network}: VLAN id 4095 is not 1-4094' in log
    assert "invalid subnet '10.0.0.300/24'" in log
    assert VLAN.objects.get(vid=3003, group__scope_id=sites[network].pk).name == 'V' * 64
    # A subnet that overlaps another of the same network (same VRF) is refused by NetBox, with the reason.
    overlapping = run.changes.get(kind='prefix', meraki_id=f'{network}:3002')
    assert overlapping.state == ChangeStateChoices.FAILED and 'Duplicate prefix' in overlapping.reason
    assert Prefix.objects.filter(vlan__vid=3003).exists()

    # The next sync retries only what NetBox refused; everything else is where Meraki has it.
    again = sync(org_id)
    assert again.status == RunStatusChoices.PARTIAL
    retried = set(again.changes.values_list('kind', 'meraki_id'))
    assert ('device', refused.meraki_id) in retried and ('prefix', f'{network}:3002') in retried
    assert all(state == ChangeStateChoices.FAILED or kind != 'device'
               for kind, state in again.changes.values_list('kind', 'state'))
    left = [problem for problem in differences(org_id) if refused.meraki_id not in problem and ':3002' not in problem]
    assert not left, left
