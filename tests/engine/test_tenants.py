"""The Meraki organization as the NetBox tenant of what its runs own, when the setting is on (issue #15)."""

import dataclasses

import pytest
from django.contrib.contenttypes.models import ContentType

from dcim.models import Device, Site
from tenancy.models import Tenant

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.kinds import KINDS, UPDATE_KINDS
from netbox_meraki.mapping import REFERENCE_KINDS, TENANT_KINDS, Ref, map_snapshot
from netbox_meraki.models import PluginSettings, SyncedObject
from netbox_meraki.sync import apply_review, approve_changes

from .test_mapping import OPTIONS, snapshot
from .test_sync import sync

pytestmark = pytest.mark.django_db


def tenant_on(value=True):
    settings = PluginSettings.load()
    settings.tenant_per_organization = value
    settings.save()


def owned_objects():
    """Every object the plugin owns whose model has a tenant, by kind."""
    objects = {}
    for kind in TENANT_KINDS:
        pks = SyncedObject.objects.filter(kind=kind).values_list('object_id', flat=True)
        objects[kind] = list(KINDS[kind].model.objects.filter(pk__in=pks))
    return objects


def organization_name(simulator, org_id):
    return simulator.dashboard.orgs[org_id].organization['name']


def test_tenant_kinds_are_the_owned_kinds_whose_model_has_a_tenant():
    with_tenant = {kind for kind, spec in KINDS.items() if kind not in (*REFERENCE_KINDS, *UPDATE_KINDS)
                   and any(field.name == 'tenant' for field in spec.model._meta.get_fields())}
    assert set(TENANT_KINDS) == with_tenant
    assert all(KINDS[kind].refs['tenant'] == 'tenant' for kind in TENANT_KINDS)


def test_the_organization_is_the_tenant_of_every_kind_that_has_one_only_when_asked():
    records, _ = map_snapshot(snapshot(), OPTIONS)
    assert records['tenant'] == {}
    assert all('tenant' not in record.values for kind in TENANT_KINDS for record in records[kind].values())

    records, _ = map_snapshot(snapshot(), dataclasses.replace(OPTIONS, tenant_per_organization=True))
    assert records['tenant']['Org'].values == {'name': 'Org', 'slug': 'org'}
    assert records['site']['N_1'].values['tenant'] == Ref('tenant', 'Org')
    assert records['device']['Q2AA-AAAA-AAAA'].values['tenant'] == Ref('tenant', 'Org')
    assert 'tenant' not in records['manufacturer']['meraki'].values


def test_with_the_setting_on_every_owned_object_gets_the_organizations_tenant(meraki_config, simulator, org_id):
    tenant_on()
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    tenant = Tenant.objects.get(name=organization_name(simulator, org_id))
    # Shared, as device types are: looked up by name, never owned.
    assert not SyncedObject.objects.filter(kind='tenant').exists()
    objects = owned_objects()
    assert all(objects[kind] for kind in ('site', 'device', 'vrf', 'vlan', 'prefix', 'ipaddress', 'wirelesslan'))
    for kind, items in objects.items():
        assert all(item.tenant_id == tenant.pk for item in items), kind

    assert sync(org_id).changes.count() == 0


def test_turning_the_setting_on_later_updates_what_the_sync_owns(meraki_config, simulator, org_id):
    sync(org_id)
    people = Tenant.objects.create(name='Set by a person', slug='set-by-a-person')
    site = Site.objects.create(name='A person\'s site', slug='a-persons-site', tenant=people)

    tenant_on()
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    objects = owned_objects()
    updates = run.changes.filter(action=ChangeActionChoices.UPDATE).exclude(kind='tenant')
    assert updates.count() == sum(len(items) for items in objects.values())
    assert {tuple(change.after) for change in updates} == {('tenant',)}
    created = run.changes.get(kind='tenant')
    assert created.action == ChangeActionChoices.CREATE and created.state == ChangeStateChoices.APPLIED
    tenant = Tenant.objects.get(name=organization_name(simulator, org_id))
    assert all(item.tenant_id == tenant.pk for items in objects.values() for item in items)
    site.refresh_from_db()
    assert site.tenant == people  # not the plugin's: never changed
    assert sync(org_id).changes.count() == 0


def test_a_tenant_of_the_organizations_name_is_used_not_duplicated(meraki_config, simulator, org_id):
    existing = Tenant.objects.create(name=organization_name(simulator, org_id), slug='made-by-hand')
    tenant_on()

    run = sync(org_id)

    assert not run.changes.filter(kind='tenant').exists()
    assert Tenant.objects.count() == 1
    assert all(item.tenant_id == existing.pk for items in owned_objects().values() for item in items)


def test_turning_the_setting_off_leaves_tenants_as_they_are(meraki_config, simulator, org_id):
    tenant_on()
    sync(org_id)
    people = Tenant.objects.create(name='Set by a person', slug='set-by-a-person')
    device = Device.objects.filter(pk__in=SyncedObject.objects.filter(kind='device').values('object_id')).first()
    device.snapshot()
    device.tenant = people
    device.save()

    tenant_on(False)
    run = sync(org_id)

    assert run.changes.count() == 0
    device.refresh_from_db()
    assert device.tenant == people
    tenant = Tenant.objects.get(name=organization_name(simulator, org_id))
    assert Site.objects.filter(tenant=tenant).count() == len(simulator.dashboard.orgs[org_id].networks)


def test_a_removed_network_leaves_the_shared_tenant(meraki_config, simulator, org_id):
    tenant_on()
    settings = PluginSettings.load()
    settings.deletion_threshold = 100  # the guard is another test's subject
    settings.save()
    sync(org_id)
    network_id = sorted(simulator.dashboard.orgs[org_id].networks)[0]
    simulator.remove_network(network_id)

    run = sync(org_id)

    removal = run.changes.get(kind='site', meraki_id=network_id)
    assert (removal.action, removal.state) == (ChangeActionChoices.MARK, ChangeStateChoices.APPLIED)
    site = Site.objects.get(pk=removal.object_id)
    assert site.status == 'retired'
    # Shared: never removed with what used it, nor taken from what stays.
    assert not run.changes.filter(kind='tenant').exists()
    assert site.tenant == Tenant.objects.get(name=organization_name(simulator, org_id))


def test_review_mode_waits_for_the_tenant_updates(meraki_config, simulator, org_id):
    sync(org_id)
    tenant_on()

    run = sync(org_id, mode=SyncModeChoices.REVIEW)

    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert not Tenant.objects.exists()
    approve_changes(run)
    run = apply_review(run, background=False)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    tenant = Tenant.objects.get(name=organization_name(simulator, org_id))
    site_type = ContentType.objects.get_for_model(Site)
    sites = SyncedObject.objects.filter(object_type=site_type).values('object_id')
    assert Site.objects.filter(pk__in=sites, tenant=tenant).count() == Site.objects.filter(pk__in=sites).count()
