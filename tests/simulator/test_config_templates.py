"""Configuration templates: served as Meraki lists them, networks bound to them, and the changes tests make."""

import pytest

from meraki_sim import Simulator
from meraki_sim.generator import PROFILE_LABEL, TEMPLATED_PROFILES

from .test_control_api import control


def networks_by_id(api, org_id):
    return {network['id']: network for network in api.organizations.getOrganizationNetworks(org_id, total_pages='all')}


def test_templates_are_listed_in_one_answer_and_some_networks_are_bound(sim, api, org_id):
    templates = api.organizations.getOrganizationConfigTemplates(org_id)
    assert sorted(template['name'].split()[-3] for template in templates) == sorted(
        PROFILE_LABEL[profile] for profile in TEMPLATED_PROFILES)
    for template in templates:
        assert set(template) == {'id', 'name', 'productTypes', 'timeZone'}
    networks = networks_by_id(api, org_id)
    bound = {n['id']: n['configTemplateId'] for n in networks.values() if n['isBoundToConfigTemplate']}
    unbound = [n for n in networks.values() if not n['isBoundToConfigTemplate']]
    assert bound and unbound
    assert set(bound.values()) <= {template['id'] for template in templates}
    assert all('configTemplateId' not in network for network in unbound)
    only_bound = api.organizations.getOrganizationNetworks(org_id, total_pages='all', isBoundToConfigTemplate=True)
    assert {network['id'] for network in only_bound} == set(bound)


def test_templates_leave_the_rest_of_the_dashboard_as_it_was():
    # Deterministic, and drawn from a stream of their own.
    with Simulator(seed=1, scale='small', rate_limit=0) as one, Simulator(seed=1, scale='small', rate_limit=0) as two:
        org = one.dashboard.orgs[one.org_ids[0]]
        assert org.config_templates == two.dashboard.orgs[two.org_ids[0]].config_templates
        assert sorted(org.devices) == sorted(two.dashboard.orgs[two.org_ids[0]].devices)
        for network in org.networks.values():
            assert network['isBoundToConfigTemplate'] == ('configTemplateId' in network)


def test_bind_unbind_and_rename_are_seen_and_logged(sim, api, org, org_id):
    network_id = next(n for n in sorted(org.networks) if not org.networks[n]['isBoundToConfigTemplate'])
    template_id = sorted(org.config_templates)[0]

    sim.bind_network(network_id, template_id)
    network = networks_by_id(api, org_id)[network_id]
    assert (network['isBoundToConfigTemplate'], network['configTemplateId']) == (True, template_id)
    change = api.organizations.getOrganizationConfigurationChanges(org_id, perPage=3)[0]
    assert (change['networkId'], change['label']) == (network_id, 'Configuration template')

    sim.rename_template(org_id, template_id, 'Renamed template')
    names = {t['id']: t['name'] for t in api.organizations.getOrganizationConfigTemplates(org_id)}
    assert names[template_id] == 'Renamed template'
    change = api.organizations.getOrganizationConfigurationChanges(org_id, perPage=3)[0]
    assert (change['networkId'], change['newValue'], change['networkName']) == (
        template_id, 'Renamed template', 'Renamed template')

    sim.unbind_network(network_id)
    network = networks_by_id(api, org_id)[network_id]
    assert network['isBoundToConfigTemplate'] is False and 'configTemplateId' not in network
    with pytest.raises(ValueError):
        sim.unbind_network(network_id)
    with pytest.raises(LookupError):
        sim.bind_network(network_id, 'L_0')


def test_a_removed_template_unbinds_its_networks(sim, api, org, org_id):
    template_id = next(org.networks[n]['configTemplateId'] for n in sorted(org.networks)
                       if org.networks[n]['isBoundToConfigTemplate'])

    result = sim.remove_template(org_id, template_id)

    assert result['unbound']
    assert template_id not in {t['id'] for t in api.organizations.getOrganizationConfigTemplates(org_id)}
    networks = networks_by_id(api, org_id)
    assert not any(networks[n]['isBoundToConfigTemplate'] for n in result['unbound'])


def test_template_mutations_over_http(sim, api, org, org_id):
    template_id = sorted(org.config_templates)[0]
    response = control(sim, 'POST', '/mutations/rename_template',
                       {'org_id': org_id, 'template_id': template_id, 'name': 'Over HTTP'})
    assert response.json()['result']['name'] == 'Over HTTP'
    assert {t['id']: t['name'] for t in api.organizations.getOrganizationConfigTemplates(org_id)}[template_id] == (
        'Over HTTP')
    assert control(sim, 'POST', '/mutations/remove_template', {'org_id': org_id, 'template_id': 'L_0'}).status_code == (
        404)
