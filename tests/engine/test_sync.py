"""The sync engine against a real NetBox and the Meraki simulator, through the SDK over a socket."""

import pytest
from django.contrib.contenttypes.models import ContentType

from core.models import ObjectChange
from dcim.models import Device, DeviceRole, DeviceType, Interface, Manufacturer, Site
from ipam.models import IPAddress

from netbox_meraki.choices import (
    ChangeActionChoices,
    ChangeStateChoices,
    RunStatusChoices,
    SyncModeChoices,
)
from netbox_meraki.models import PluginSettings, SyncedObject
from netbox_meraki.sync import MerakiSyncService, apply_review, approve_changes

pytestmark = pytest.mark.django_db

STATUS = {'online': 'active', 'alerting': 'active', 'offline': 'offline', 'dormant': 'offline'}
TOUCHED_MODELS = (Site, Device, DeviceType, DeviceRole, Manufacturer, Interface, IPAddress, ObjectChange)


def sync(org_id, mode=SyncModeChoices.AUTO, **kwargs):
    (run,) = MerakiSyncService().sync_all(mode=mode, organization_ids=[org_id], background=False, **kwargs)
    return run


def owned(model):
    object_type = ContentType.objects.get_for_model(model)
    return model.objects.filter(
        pk__in=SyncedObject.objects.filter(object_type=object_type).values('object_id')
    )


def table_counts():
    return {model.__name__: model.objects.count() for model in TOUCHED_MODELS}


def expected_interfaces(view):
    return {f'{serial}:{u["interface"]}' for serial, uplinks in view.uplinks.items() for u in uplinks}


def expected_addresses(view):
    return {
        f'{serial}:{u["interface"]}:{a["protocol"]}'
        for serial, uplinks in view.uplinks.items() for u in uplinks for a in u.get('addresses') or []
    }


def test_first_auto_sync_creates_exactly_what_meraki_holds(meraki_config, org_id, meraki_view):
    view = meraki_view.read()
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.api_calls >= 5
    assert owned(Site).count() == len(view.networks)
    for network in view.networks.values():
        site = Site.objects.get(pk=SyncedObject.objects.get(kind='site', meraki_id=network['id']).object_id)
        assert site.name == network['name']
        assert str(site.time_zone) == network['timeZone']

    devices = {device.serial: device for device in owned(Device).select_related('site', 'device_type', 'role')}
    assert set(devices) == set(view.devices)
    for serial, meraki_device in view.devices.items():
        device = devices[serial]
        assert device.name == (meraki_device.get('name') or serial)
        assert device.device_type.model == meraki_device['model']
        assert device.device_type.manufacturer.name == 'Cisco Meraki'
        assert device.role.name == PluginSettings.load().role_name(meraki_device['productType'])
        assert device.status == STATUS[view.statuses[serial]]
        assert device.custom_field_data['meraki_firmware'] == meraki_device['firmware']
        assert device.custom_field_data['meraki_mac'] == meraki_device['mac'].lower()
        site_id = SyncedObject.objects.get(kind='site', meraki_id=meraki_device['networkId']).object_id
        assert device.site_id == site_id
        assert device.tags.filter(slug='meraki').exists()

    # Uplinks (switch ports, SVIs and radios are checked in test_coverage.py; management interfaces of LAN IPs no uplink
    # carries in test_network_model.py).
    interfaces = set(SyncedObject.objects.filter(kind='interface').values_list('meraki_id', flat=True))
    assert {i for i in interfaces if '/' not in i and not i.endswith(('radio0', ':lan', ':management'))
            and ':vlan' not in i} == expected_interfaces(view)
    addresses = set(SyncedObject.objects.filter(kind='ipaddress').values_list('meraki_id', flat=True))
    assert {a for a in addresses if not a.endswith((':appliance', ':management:ipv4'))} == expected_addresses(view)
    with_lan_ip = [serial for serial, uplinks in view.uplinks.items()
                   if any(a['protocol'] == 'ipv4' for u in uplinks for a in u.get('addresses') or [])]
    assert with_lan_ip
    for serial in with_lan_ip:
        assert devices[serial].primary_ip4_id is not None
        assert devices[serial].primary_ip4.assigned_object.device_id == devices[serial].pk

    # Every write is in the changelog, under the sync user and the run's request id.
    entries = ObjectChange.objects.filter(request_id=run.request_id)
    assert entries.filter(changed_object_type=ContentType.objects.get_for_model(Device)).count() >= len(devices)
    assert set(entries.values_list('user_name', flat=True)) == {'meraki-sync'}
    # The log ends with what became of the changes.
    applied = run.changes.filter(state=ChangeStateChoices.APPLIED).count()
    assert applied == run.changes.count() > 0
    assert run.log[-1]['message'] == f'Applied {applied}, failed 0, conflict 0, skipped 0, held 0.'


def test_resync_without_changes_writes_nothing(meraki_config, org_id):
    first = sync(org_id)
    assert first.status == RunStatusChoices.COMPLETED
    before = table_counts()
    second = sync(org_id)
    assert second.status == RunStatusChoices.COMPLETED
    assert second.changes.count() == 0
    assert second.counts == {}
    assert table_counts() == before
    assert not ObjectChange.objects.filter(request_id=second.request_id).exists()


def test_meraki_changes_become_the_right_updates_and_deletions(meraki_config, simulator, org_id, meraki_view):
    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, 'device': 'delete'}
    settings.save()
    sync(org_id)
    view = meraki_view.read()
    serials = sorted(view.devices)
    renamed, moved, removed = serials[0], serials[1], serials[2]
    old_network = view.devices[moved]['networkId']
    target = next(n for n in sorted(view.networks) if n != old_network)
    simulator.rename_device(renamed, 'renamed-by-meraki')
    simulator.move_device(moved, target)
    simulator.remove_device(removed)
    added = simulator.add_device(target, model='MS120-8LP', name='new-switch')
    network_id = sorted(view.networks)[0]
    simulator.rename_network(network_id, 'Renamed Branch')

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, [
        (c.kind, c.meraki_id, c.reason) for c in run.changes.exclude(state='applied')]
    changes = {(c.kind, c.action, c.meraki_id): c for c in run.changes.all()}
    assert changes[('device', 'update', renamed)].after == {'name': 'renamed-by-meraki'}
    assert changes[('device', 'update', moved)].after['site'] == {'ref': 'site', 'id': target}
    assert ('device', 'delete', removed) in changes
    assert ('device', 'create', added) in changes
    assert changes[('site', 'update', network_id)].after == {'name': 'Renamed Branch'}
    assert all(c.state == ChangeStateChoices.APPLIED for c in changes.values())

    assert Device.objects.get(serial=renamed).name == 'renamed-by-meraki'
    site = Site.objects.get(pk=SyncedObject.objects.get(kind='site', meraki_id=target).object_id)
    assert Device.objects.get(serial=moved).site == site
    assert not Device.objects.filter(serial=removed).exists()
    assert not SyncedObject.objects.filter(kind='device', meraki_id=removed).exists()
    assert Device.objects.get(serial=added).name == 'new-switch'
    device_type = ContentType.objects.get_for_model(Device)
    logged = ObjectChange.objects.filter(request_id=run.request_id, changed_object_type=device_type)
    assert set(logged.values_list('action', flat=True)) == {'create', 'update', 'delete'}


def test_mark_policy_marks_instead_of_deleting(meraki_config, simulator, org_id, meraki_view):
    settings = PluginSettings.load()
    settings.delete_policy = {**settings.delete_policy, 'device': 'mark'}
    settings.save()
    sync(org_id)
    serial = sorted(meraki_view.read().devices)[0]
    simulator.remove_device(serial)

    run = sync(org_id)

    change = run.changes.get(kind='device', meraki_id=serial)
    assert change.action == ChangeActionChoices.MARK
    assert Device.objects.get(serial=serial).status == 'decommissioning'
    assert sync(org_id).changes.filter(kind='device').count() == 0  # marked once, not again


def test_dry_run_changes_nothing_in_netbox(meraki_config, org_id):
    before = table_counts()
    run = sync(org_id, mode=SyncModeChoices.DRY_RUN)
    assert run.status == RunStatusChoices.COMPLETED
    assert run.changes.filter(action=ChangeActionChoices.CREATE).count() > 0
    assert table_counts() == before
    planned = run.changes.filter(state=ChangeStateChoices.PLANNED).count()
    assert planned == run.changes.count()  # planned only: none waits for a decision
    assert run.log[-1]['message'] == (
        f'Applied 0, failed 0, conflict 0, skipped 0, held 0, planned only {planned}.')
    assert not SyncedObject.objects.exists()


def test_review_applies_exactly_the_approved_changes(meraki_config, org_id):
    before = table_counts()
    run = sync(org_id, mode=SyncModeChoices.REVIEW)
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert table_counts() == before

    # Sites and devices with what they refer to (a site its group, a device its type, role and platform).
    wanted = list(run.changes.filter(kind__in=('manufacturer', 'devicetype', 'role', 'platform', 'sitegroup', 'site')))
    some_devices = list(run.changes.filter(kind='device').order_by('meraki_id')[:3])
    approve_changes(run, [change.pk for change in wanted + some_devices])
    run = apply_review(run, background=False)

    assert run.status == RunStatusChoices.AWAITING_REVIEW  # the rest still waits
    assert set(owned(Device).values_list('serial', flat=True)) == {change.meraki_id for change in some_devices}
    assert owned(Site).count() == sum(1 for change in wanted if change.kind == 'site')
    assert owned(Interface).count() == 0
    assert run.changes.filter(state=ChangeStateChoices.APPLIED).count() == len(wanted) + len(some_devices)
    pending = run.changes.filter(state=ChangeStateChoices.PENDING).count()
    assert pending > 0
    applied = len(wanted) + len(some_devices)
    assert run.log[-1]['message'] == (
        f'Applied {applied}, failed 0, conflict 0, skipped 0, held 0, awaiting decision {pending}.')


def test_an_object_edited_since_the_plan_is_a_conflict(meraki_config, simulator, org_id, meraki_view):
    sync(org_id)
    serial = sorted(meraki_view.read().devices)[0]
    simulator.rename_device(serial, 'meraki-name')
    run = sync(org_id, mode=SyncModeChoices.REVIEW)
    device = Device.objects.get(serial=serial)
    device.snapshot()
    device.name = 'edited-by-a-person'
    device.save()

    approve_changes(run)
    run = apply_review(run, background=False)

    change = run.changes.get(kind='device', meraki_id=serial)
    assert change.state == ChangeStateChoices.CONFLICT
    assert 'changed in NetBox since the plan' in change.reason
    assert Device.objects.get(serial=serial).name == 'edited-by-a-person'
    assert run.status == RunStatusChoices.PARTIAL


def test_objects_made_by_hand_are_never_changed_or_deleted(meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    network = view.networks[sorted(view.networks)[0]]
    manufacturer = Manufacturer.objects.create(name='Hand', slug='hand')
    device_type = DeviceType.objects.create(manufacturer=manufacturer, model='Box', slug='box')
    role = DeviceRole.objects.create(name='Hand role', slug='hand-role')
    hand_site = Site.objects.create(name=network['name'], slug='hand-made', description='by hand')
    serial = sorted(view.devices)[0]
    namesake = Device.objects.create(
        name=view.devices[serial].get('name') or 'x', site=hand_site, device_type=device_type, role=role,
        serial=serial,
    )
    first = sync(org_id)

    # Adoption is off: the site with the Meraki network's name and the device with a Meraki serial are
    # reported and left alone, and no second device with that serial is created.
    assert first.status == RunStatusChoices.PARTIAL
    site_change = first.changes.get(kind='site', meraki_id=network['id'])
    assert site_change.state == ChangeStateChoices.SKIPPED and 'not owned by the plugin' in site_change.reason
    assert first.changes.get(kind='device', meraki_id=serial).state == ChangeStateChoices.SKIPPED
    assert Device.objects.filter(serial=serial).count() == 1
    hand_site.refresh_from_db()
    namesake.refresh_from_db()
    assert (hand_site.description, hand_site.slug) == ('by hand', 'hand-made')
    assert namesake.site == hand_site and namesake.device_type == device_type
    assert not SyncedObject.objects.filter(object_id__in=[hand_site.pk, namesake.pk], kind__in=['site', 'device'])

    for meraki_serial in view.devices:
        simulator.remove_device(meraki_serial)
    settings = PluginSettings.load()
    settings.deletion_threshold = 100
    settings.save()
    sync(org_id)
    assert Site.objects.filter(pk=hand_site.pk).exists()
    assert Device.objects.filter(pk=namesake.pk).exists()


def test_adoption_takes_over_a_matching_device_through_a_planned_change(meraki_config, org_id, meraki_view):
    view = meraki_view.read()
    settings = PluginSettings.load()
    settings.adopt_existing = True
    settings.save()
    manufacturer = Manufacturer.objects.create(name='Hand', slug='hand')
    device_type = DeviceType.objects.create(manufacturer=manufacturer, model='Box', slug='box')
    role = DeviceRole.objects.create(name='Hand role', slug='hand-role')
    site = Site.objects.create(name='Somewhere', slug='somewhere')
    serial = sorted(view.devices)[0]
    device = Device.objects.create(name='hand-made', site=site, device_type=device_type, role=role, serial=serial)

    run = sync(org_id)

    change = run.changes.get(kind='device', meraki_id=serial)
    assert change.action == ChangeActionChoices.ADOPT and change.state == ChangeStateChoices.APPLIED
    assert change.before['name'] == 'hand-made'
    device.refresh_from_db()
    assert device.device_type.model == view.devices[serial]['model']
    assert SyncedObject.objects.get(kind='device', meraki_id=serial).object_id == device.pk


def test_a_failed_fetch_deletes_nothing(meraki_config, simulator, org_id):
    sync(org_id)
    counts = table_counts()
    simulator.inject('server_error', endpoint='GET /organizations/{organizationId}/devices', status=500)

    run = sync(org_id)

    assert run.status == RunStatusChoices.PARTIAL
    assert 'getOrganizationDevices' in run.error
    assert not run.changes.filter(action__in=('delete', 'mark')).exists()
    assert {k: v for k, v in table_counts().items() if k != 'ObjectChange'} == {
        k: v for k, v in counts.items() if k != 'ObjectChange'}


def test_mass_removal_is_held_for_review_in_auto_mode(meraki_config, simulator, org_id, meraki_view):
    sync(org_id)
    view = meraki_view.read()
    network_id = max(view.networks, key=lambda n: sum(d['networkId'] == n for d in view.devices.values()))
    serials = [s for s, d in view.devices.items() if d['networkId'] == network_id]
    assert len(serials) >= 3
    simulator.inject('empty_list', endpoint='GET /organizations/{organizationId}/devices')
    simulator.inject('empty_list', endpoint='GET /organizations/{organizationId}/devices/availabilities')
    simulator.inject('empty_list', endpoint='GET /organizations/{organizationId}/devices/uplinks/addresses/byDevice')

    run = sync(org_id)

    held = run.changes.filter(kind='device', state=ChangeStateChoices.HELD)
    assert held.count() == len(view.devices)
    assert 'Held for review' in held.first().reason
    assert run.status == RunStatusChoices.AWAITING_REVIEW
    assert owned(Device).count() == len(view.devices)


def test_a_rate_limited_run_completes(meraki_config, simulator, org_id):
    # Meraki allows 2 requests/s here while the plugin may send 10: the SDK waits out each 429's Retry-After.
    simulator.configure(rate_limit=2, burst=0)
    meraki_config['maximum_retries'] = 8
    run = sync(org_id)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.api_rate_limited >= 1
    assert simulator.count_429s() == run.api_rate_limited
    assert Device.objects.count() > 0


def test_a_run_counts_every_request_meraki_received_for_it_the_organization_look_up_included(
    meraki_config, simulator, org_id
):
    # No organization configured: the trigger lists the organizations the key sees, for the run.
    simulator.configure(rate_limit=3, burst=0)
    meraki_config['maximum_retries'] = 8
    simulator.reset_counts()
    (run,) = MerakiSyncService().sync_all(mode=SyncModeChoices.DRY_RUN, background=False)
    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert simulator.counts()['GET /organizations'] == 1
    assert run.api_rate_limited >= 1
    assert (run.api_calls, run.api_rate_limited) == (simulator.total_requests(), simulator.count_429s())


def test_a_wrong_api_key_fails_the_run_without_showing_the_key(meraki_config, settings, org_id):
    bad_key = 'wrong-key-0123456789abcdef0123456789'
    settings.PLUGINS_CONFIG['netbox_meraki']['api_key'] = bad_key
    run = sync(org_id)
    assert run.status == RunStatusChoices.FAILED
    assert '401' in run.error
    assert bad_key not in str(run.log) + run.error


def test_search_indexing_is_deferred_once_per_batch_not_once_per_change(meraki_config, org_id,
                                                                        django_capture_on_commit_callbacks):
    # NetBox defers search indexing to a callback per transaction scope; with a worker running, each callback
    # becomes a background job. A nested atomic block per change would queue one job per object written.
    with django_capture_on_commit_callbacks() as callbacks:
        run = sync(org_id)
    batches = -(-run.changes.filter(state=ChangeStateChoices.APPLIED).count() // 100)
    search_flushes = [c for c in callbacks if hasattr(c, '_netbox_search_flush_batch')]
    assert run.changes.count() > 100
    assert 0 < len(search_flushes) <= batches


def test_meraki_sync_command_prints_one_json_summary_per_organization(meraki_config, org_id, meraki_view):
    import json
    from io import StringIO

    from django.core.management import call_command

    from netbox_meraki.models import SyncRun

    view = meraki_view.read()
    out = StringIO()
    call_command('meraki_sync', '--mode', 'dry_run', '--organization', org_id, '--json', stdout=out)

    summary = json.loads(out.getvalue())
    run = SyncRun.objects.get(pk=summary['run'])
    assert (summary['status'], summary['mode']) == (RunStatusChoices.COMPLETED, SyncModeChoices.DRY_RUN)
    assert summary['api_calls'] == run.api_calls >= 5
    assert summary['duration_s'] > 0
    assert summary['changes']['device'] == {'create': len(view.devices)}
    assert summary['changes']['site'] == {'create': len(view.networks)}
    assert not Device.objects.exists()


def test_meraki_sync_command_refuses_naming_the_running_sync(meraki_config, org_id):
    from django.core.management import CommandError, call_command

    from core.models import Job

    from netbox_meraki.choices import RunTriggerChoices
    from netbox_meraki.models import SyncRun

    job = Job.objects.create(name='Meraki sync', status='pending', job_id='00000000-0000-0000-0000-000000000001')
    queued = SyncRun.objects.create(organization_id=org_id, mode='auto', trigger=RunTriggerChoices.API, job=job)

    with pytest.raises(CommandError, match=rf'already pending: run #{queued.pk} \(rest api'):
        call_command('meraki_sync', '--organization', org_id)
    assert SyncRun.objects.filter(organization_id=org_id).count() == 1
