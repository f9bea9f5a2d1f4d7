"""Meraki configuration templates as NetBox site groups of the sites of their networks (issue #15)."""

import dataclasses

import pytest

from dcim.models import Site, SiteGroup

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.mapping import Ref, map_snapshot
from netbox_meraki.models import PluginSettings, SyncedObject
from netbox_meraki.sync import apply_review, approve_changes

from .test_mapping import OPTIONS, network, snapshot
from .test_sync import owned, sync

pytestmark = pytest.mark.django_db

TEMPLATES = 'GET /organizations/{organizationId}/configTemplates'


def site_of(network_id):
    return Site.objects.get(pk=SyncedObject.objects.get(kind='site', meraki_id=network_id).object_id)


def group_of(template_id):
    return SiteGroup.objects.get(pk=SyncedObject.objects.get(kind='sitegroup', meraki_id=template_id).object_id)


def bound(simulator, org_id):
    """{network id: template id} of the networks bound to a template."""
    networks = simulator.dashboard.orgs[org_id].networks
    return {n: networks[n]['configTemplateId'] for n in sorted(networks) if networks[n]['isBoundToConfigTemplate']}


def unbound_network(simulator, org_id):
    networks = simulator.dashboard.orgs[org_id].networks
    return next(n for n in sorted(networks) if not networks[n]['isBoundToConfigTemplate'])


def set_policy(**policies):
    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, **policies}
    settings.save()


def test_templates_map_to_site_groups_and_bound_networks_to_their_group():
    templates = [{'id': 'L_9', 'name': 'Branch template', 'productTypes': ['switch'], 'timeZone': 'Europe/Berlin'}]
    records, problems = map_snapshot(snapshot(
        networks=[network(isBoundToConfigTemplate=True, configTemplateId='L_9'),
                  network(id='N_2', name='Branch 2', isBoundToConfigTemplate=False),
                  network(id='N_3', name='Branch 3', isBoundToConfigTemplate=True, configTemplateId='L_gone')],
        config_templates=templates,
    ), OPTIONS)

    assert problems == []
    assert records['sitegroup']['L_9'].values == {
        'name': 'Branch template', 'slug': 'branch-template', 'description': 'Meraki configuration template L_9'}
    assert records['site']['N_1'].values['group'] == Ref('sitegroup', 'L_9')
    assert records['site']['N_2'].values['group'] is None
    # Bound to a template Meraki did not list: the group is left as it is.
    assert 'group' not in records['site']['N_3'].values

    # Another organization's group has the name: this one's is told apart by its organization.
    options = dataclasses.replace(OPTIONS, taken_group_names=frozenset({'Branch template'}))
    records, _ = map_snapshot(snapshot(networks=[network()], config_templates=templates), options)
    assert records['sitegroup']['L_9'].values['name'] == 'Branch template (Org)'

    # A person's group holds the slug: this one's takes the template id.
    options = dataclasses.replace(OPTIONS, group_slugs={'branch-template': ''})
    records, _ = map_snapshot(snapshot(networks=[network()], config_templates=templates), options)
    assert records['sitegroup']['L_9'].values['slug'] == 'branch-template-l_9'

    # Templates not read: no groups, and every site's group left as it is.
    records, _ = map_snapshot(snapshot(networks=[network(isBoundToConfigTemplate=True, configTemplateId='L_9')]),
                              OPTIONS)
    assert records['sitegroup'] == {}
    assert 'group' not in records['site']['N_1'].values


def test_first_sync_groups_the_sites_of_bound_networks_and_a_second_changes_nothing(
    meraki_config, simulator, org_id,
):
    templates = simulator.dashboard.orgs[org_id].config_templates
    networks = bound(simulator, org_id)
    assert networks and set(networks.values()) != set(templates)  # a template without networks, too

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert simulator.counts()[TEMPLATES] == 1
    assert owned(SiteGroup).count() == len(templates)
    for template_id, template in templates.items():
        group = group_of(template_id)
        assert group.name == template['name'] and group.parent is None
        assert group.tags.filter(slug='meraki').exists()
    for site in owned(Site).select_related('group'):
        network_id = SyncedObject.objects.get(kind='site', object_id=site.pk).meraki_id
        expected = templates[networks[network_id]]['name'] if network_id in networks else None
        assert (site.group.name if site.group else None) == expected

    second = sync(org_id)
    assert second.status == RunStatusChoices.COMPLETED
    assert second.changes.count() == 0


def test_a_renamed_template_renames_its_group(meraki_config, simulator, org_id):
    sync(org_id)
    template_id = sorted(set(bound(simulator, org_id).values()))[0]
    slug = group_of(template_id).slug

    simulator.rename_template(org_id, template_id, 'Retail template')
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    (change,) = run.changes.all()
    assert (change.kind, change.action, change.after) == ('sitegroup', ChangeActionChoices.UPDATE,
                                                         {'name': 'Retail template'})
    group = group_of(template_id)
    assert (group.name, group.slug) == ('Retail template', slug)
    assert sync(org_id).changes.count() == 0


def test_binding_sets_the_group_and_unbinding_clears_only_the_plugins(meraki_config, simulator, org_id):
    sync(org_id)
    template_id = sorted(simulator.dashboard.orgs[org_id].config_templates)[0]
    network_id = unbound_network(simulator, org_id)
    persons = SiteGroup.objects.create(name='Chosen by a person', slug='chosen-by-a-person')
    site = site_of(network_id)
    site.snapshot()
    site.group = persons
    site.save()

    # Unbound: the group a person gave the site stays.
    assert sync(org_id).changes.count() == 0
    assert site_of(network_id).group == persons

    # Bound: Meraki's template is the site's group.
    simulator.bind_network(network_id, template_id)
    run = sync(org_id)
    assert run.changes.get(kind='site', meraki_id=network_id).after == {
        'group': {'ref': 'sitegroup', 'id': template_id}}
    assert site_of(network_id).group == group_of(template_id)

    # Unbound again: the group the plugin set goes.
    simulator.unbind_network(network_id)
    run = sync(org_id)
    assert run.changes.get(kind='site', meraki_id=network_id).after == {'group': None}
    assert site_of(network_id).group is None
    assert SiteGroup.objects.filter(pk=persons.pk).exists()
    assert sync(org_id).changes.count() == 0


def test_a_removed_template_removes_its_group_after_its_sites_leave_it(meraki_config, simulator, org_id):
    sync(org_id)
    networks = bound(simulator, org_id)
    network_id, template_id = next(iter(networks.items()))

    simulator.remove_template(org_id, template_id)
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    removal = run.changes.get(kind='sitegroup')
    assert (removal.action, removal.state) == (ChangeActionChoices.DELETE, ChangeStateChoices.APPLIED)
    assert [change.after for change in run.changes.filter(kind='site')] == [
        {'group': None} for n in networks if networks[n] == template_id]
    assert not SiteGroup.objects.filter(pk=removal.object_id).exists()
    assert not SyncedObject.objects.filter(kind='sitegroup', meraki_id=template_id).exists()
    assert site_of(network_id).group is None
    assert sync(org_id).changes.count() == 0


def test_a_removed_templates_group_is_kept_by_the_keep_policy_and_for_a_persons_site(
    meraki_config, simulator, org_id,
):
    sync(org_id)
    templates = sorted(simulator.dashboard.orgs[org_id].config_templates)
    unused = next(t for t in templates if t not in bound(simulator, org_id).values())
    group = group_of(unused)
    persons_site = Site.objects.create(name='A person\'s site', slug='a-persons-site', group=group)

    simulator.remove_template(org_id, unused)
    run = sync(org_id)

    change = run.changes.get(kind='sitegroup')
    assert change.state == ChangeStateChoices.SKIPPED
    assert 'A person\'s site' in change.reason and 'kept instead' in change.reason
    persons_site.refresh_from_db()
    assert persons_site.group == group

    persons_site.delete()
    set_policy(sitegroup='keep')
    assert not sync(org_id).changes.filter(kind='sitegroup').exists()
    assert SiteGroup.objects.filter(pk=group.pk).exists()


def test_removing_most_templates_is_held_for_review(meraki_config, simulator, org_id):
    sync(org_id)
    templates = sorted(simulator.dashboard.orgs[org_id].config_templates)
    for template_id in templates[:2]:
        simulator.remove_template(org_id, template_id)

    run = sync(org_id)

    removals = run.changes.filter(kind='sitegroup')
    assert removals.count() == 2
    assert all(change.state == ChangeStateChoices.HELD for change in removals)
    assert 'Held for review' in removals.first().reason
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert owned(SiteGroup).count() == len(templates)


def test_a_failed_templates_call_removes_no_group_and_leaves_sites_grouped(meraki_config, simulator, org_id):
    sync(org_id)
    groups = {site.pk: site.group_id for site in owned(Site)}
    simulator.inject('server_error', endpoint=TEMPLATES, status=500)

    run = sync(org_id)

    assert run.status == RunStatusChoices.PARTIAL
    assert 'getOrganizationConfigTemplates' in run.error
    assert any('No sitegroup removals planned: config_templates' in line['message'] for line in run.log)
    assert run.changes.count() == 0
    assert owned(SiteGroup).count() == len(simulator.dashboard.orgs[org_id].config_templates)
    assert {site.pk: site.group_id for site in owned(Site)} == groups


def test_a_persons_group_of_the_templates_name_is_adopted_or_left_alone(meraki_config, simulator, org_id):
    templates = simulator.dashboard.orgs[org_id].config_templates
    network_id, template_id = next(iter(bound(simulator, org_id).items()))
    persons = SiteGroup.objects.create(name=templates[template_id]['name'], slug='persons-group')

    run = sync(org_id)

    skipped = run.changes.get(kind='sitegroup', meraki_id=template_id)
    assert skipped.state == ChangeStateChoices.SKIPPED and 'adopt existing objects' in skipped.reason
    # The site is made all the same, outside the group.
    assert site_of(network_id).group is None
    assert SiteGroup.objects.filter(name=templates[template_id]['name']).count() == 1

    settings = PluginSettings.load()
    settings.adopt_existing = True
    settings.save()
    run = sync(org_id)

    adoption = run.changes.get(kind='sitegroup', meraki_id=template_id)
    assert (adoption.action, adoption.state) == (ChangeActionChoices.ADOPT, ChangeStateChoices.APPLIED)
    assert group_of(template_id) == persons
    assert site_of(network_id).group == persons
    assert sync(org_id).changes.count() == 0


def test_review_applies_the_groups_with_their_sites(meraki_config, simulator, org_id):
    run = sync(org_id, mode=SyncModeChoices.REVIEW)
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert run.changes.filter(kind='sitegroup').count() == len(simulator.dashboard.orgs[org_id].config_templates)
    assert not SiteGroup.objects.exists()

    approve_changes(run)
    run = apply_review(run, background=False)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    for network_id, template_id in bound(simulator, org_id).items():
        assert site_of(network_id).group == group_of(template_id)

    # A rename waits for review as well.
    template_id = sorted(simulator.dashboard.orgs[org_id].config_templates)[0]
    simulator.rename_template(org_id, template_id, 'Reviewed name')
    run = sync(org_id, mode=SyncModeChoices.REVIEW)
    assert group_of(template_id).name != 'Reviewed name'
    approve_changes(run)
    apply_review(run, background=False)
    assert group_of(template_id).name == 'Reviewed name'
