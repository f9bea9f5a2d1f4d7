"""A device's firmware as its NetBox platform, and the Dashboard pages of sites and devices (issue #15)."""

import pytest

from dcim.models import Device, Manufacturer, Platform, Site

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices
from netbox_meraki.mapping import Ref, map_snapshot
from netbox_meraki.models import SyncedObject

from .test_mapping import OPTIONS, device, network, snapshot
from .test_sync import owned, sync

pytestmark = pytest.mark.django_db


def site_of(network_id):
    return Site.objects.get(pk=SyncedObject.objects.get(kind='site', meraki_id=network_id).object_id)


def test_firmware_maps_to_one_platform_per_value_and_only_web_addresses_are_links():
    records, _ = map_snapshot(snapshot(
        networks=[network(url='https://n1.meraki.com/Branch-1/n/abc/manage/usage/list')],
        devices=[device(firmware='MX 18.107.2', url='javascript:alert(1)'),
                 device(serial='Q2AA-AAAA-AAAB', firmware=' MX 18.107.2 '),
                 device(serial='Q2AA-AAAA-AAAC', firmware=''),
                 device(serial='Q2AA-AAAA-AAAD', firmware='Not running configured version')],
    ), OPTIONS)
    assert list(records['platform']) == ['MX 18.107.2']
    assert records['platform']['MX 18.107.2'].values == {
        'manufacturer': Ref('manufacturer', 'meraki'), 'name': 'MX 18.107.2', 'slug': 'mx-18-107-2'}
    platforms = {serial: record.values['platform'] for serial, record in records['device'].items()}
    assert platforms == {'Q2AA-AAAA-AAAA': Ref('platform', 'MX 18.107.2'),
                         'Q2AA-AAAA-AAAB': Ref('platform', 'MX 18.107.2'), 'Q2AA-AAAA-AAAC': None,
                         'Q2AA-AAAA-AAAD': None}
    assert records['device']['Q2AA-AAAA-AAAA'].values['cf_meraki_url'] is None
    assert records['site']['N_1'].values['cf_meraki_url'] == 'https://n1.meraki.com/Branch-1/n/abc/manage/usage/list'


def test_first_sync_gives_devices_their_firmware_as_platform_and_dashboard_links(
    meraki_config, simulator, org_id, meraki_view,
):
    serials = sorted(meraki_view.read().devices)
    simulator.edit_device(serials[0], firmware='')
    simulator.edit_device(serials[1], firmware=None)
    view = meraki_view.read()

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    manufacturer = Manufacturer.objects.get(name='Cisco Meraki')
    devices = {device.serial: device for device in owned(Device).select_related('platform')}
    assert set(devices) == set(view.devices)
    for serial, meraki_device in view.devices.items():
        device = devices[serial]
        if meraki_device['firmware']:
            assert device.platform.name == meraki_device['firmware']
            assert device.platform.manufacturer == manufacturer
        else:
            assert device.platform is None
        assert device.custom_field_data['meraki_url'] == meraki_device['url']
    assert devices[serials[0]].platform is None and devices[serials[1]].platform is None
    firmwares = {device['firmware'] for device in view.devices.values() if device['firmware']}
    assert len(firmwares) > 1
    assert sorted(Platform.objects.values_list('name', flat=True)) == sorted(firmwares)
    # Shared like device types: looked up by name, never owned.
    assert not SyncedObject.objects.filter(kind='platform').exists()
    for network_id, meraki_network in view.networks.items():
        assert meraki_network['url'].startswith('https://')
        assert site_of(network_id).custom_field_data['meraki_url'] == meraki_network['url']

    second = sync(org_id)
    assert second.status == RunStatusChoices.COMPLETED
    assert second.changes.count() == 0


def test_a_firmware_upgrade_changes_the_platform_and_keeps_the_old_one(meraki_config, simulator, org_id, meraki_view):
    sync(org_id)
    view = meraki_view.read()
    serial = sorted(view.devices)[0]
    old = view.devices[serial]['firmware']
    old_platform = Device.objects.get(serial=serial).platform
    assert old_platform.name == old

    simulator.edit_device(serial, firmware='firmware-upgrade-1-2')
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    update = run.changes.get(kind='device', meraki_id=serial)
    assert update.action == ChangeActionChoices.UPDATE and update.state == ChangeStateChoices.APPLIED
    assert update.before['platform'] == {'ref': 'platform', 'id': old}
    assert update.after['platform'] == {'ref': 'platform', 'id': 'firmware-upgrade-1-2'}
    assert run.changes.get(kind='platform').action == ChangeActionChoices.CREATE
    device = Device.objects.get(serial=serial)
    assert device.platform.name == 'firmware-upgrade-1-2'
    assert device.custom_field_data['meraki_firmware'] == 'firmware-upgrade-1-2'
    assert Platform.objects.filter(pk=old_platform.pk, name=old).exists()


def test_a_platform_made_by_hand_with_the_firmware_name_is_used_not_duplicated(
    meraki_config, simulator, org_id, meraki_view,
):
    sync(org_id)
    serial = sorted(meraki_view.read().devices)[0]
    hand_made = Platform.objects.create(name='Hand firmware 7.1', slug='hand-firmware-7-1')
    simulator.edit_device(serial, firmware='Hand firmware 7.1')

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert not run.changes.filter(kind='platform').exists()
    assert Device.objects.get(serial=serial).platform == hand_made
    assert Platform.objects.filter(name='Hand firmware 7.1').count() == 1
    hand_made.refresh_from_db()
    assert hand_made.manufacturer is None  # a shared object: used, never changed
    assert not SyncedObject.objects.filter(kind='platform').exists()
    assert sync(org_id).changes.count() == 0


def test_a_platform_set_by_hand_is_put_back_to_the_firmware(meraki_config, org_id, meraki_view):
    sync(org_id)
    serial = sorted(meraki_view.read().devices)[0]
    device = Device.objects.get(serial=serial)
    firmware = device.platform.name
    device.snapshot()
    device.platform = Platform.objects.create(name='Set by a person', slug='set-by-a-person')
    device.save()

    run = sync(org_id)

    change = run.changes.get(kind='device', meraki_id=serial)
    assert change.after == {'platform': {'ref': 'platform', 'id': firmware}}
    assert Device.objects.get(serial=serial).platform.name == firmware


def test_a_new_dashboard_url_updates_the_custom_field(meraki_config, simulator, org_id, meraki_view):
    sync(org_id)
    view = meraki_view.read()
    serial, network_id = sorted(view.devices)[0], sorted(view.networks)[0]
    device_url = 'https://n99.meraki.com/Moved/n/abcdefgh/manage/nodes/new_list/42'
    network_url = 'https://n99.meraki.com/Moved/n/abcdefgh/manage/usage/list'
    simulator.edit_device(serial, url=device_url)
    simulator.edit_network(network_id, url=network_url)

    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, run.log
    assert run.changes.get(kind='device', meraki_id=serial).after == {'cf_meraki_url': device_url}
    assert run.changes.get(kind='site', meraki_id=network_id).after == {'cf_meraki_url': network_url}
    assert Device.objects.get(serial=serial).custom_field_data['meraki_url'] == device_url
    assert site_of(network_id).custom_field_data['meraki_url'] == network_url
    # NetBox filters on it, as on any custom field.
    assert list(Device.objects.filter(custom_field_data__meraki_url=device_url).values_list('serial', flat=True)) == [
        serial]


def test_the_meraki_panel_links_to_the_dashboard(client, django_user_model, meraki_config, org_id, meraki_view):
    client.force_login(django_user_model.objects.create_superuser(username='admin', password=None))
    sync(org_id)
    view = meraki_view.read()
    serial = sorted(view.devices)[0]
    device = Device.objects.get(serial=serial)
    site = device.site
    network_url = view.networks[view.devices[serial]['networkId']]['url']

    for obj, url in ((device, view.devices[serial]['url']), (site, network_url)):
        page = client.get(obj.get_absolute_url()).content.decode()
        assert f'<a href="{url}" target="_blank" rel="noopener noreferrer" class="btn btn-outline-primary" ' \
               f'id="meraki-dashboard-button">' in page
        assert page.count('Open in Meraki Dashboard') == 1
