"""
Meraki's own values in NetBox: a device's LAN IP as its management address, IPv6 uplink addresses as primary IPv6,
and SSID security as NetBox's auth type and cipher. Synced from the simulator through the SDK into a real NetBox.
"""

import ipaddress

import pytest
from django.contrib.contenttypes.models import ContentType

from dcim.models import Device
from ipam.models import IPAddress, Prefix
from wireless.models import WirelessLAN

from netbox_meraki.choices import ChangeStateChoices, RunStatusChoices, SyncModeChoices
from netbox_meraki.models import SyncedObject
from netbox_meraki.sync import MerakiSyncService

pytestmark = pytest.mark.django_db


def sync(org_id):
    (run,) = MerakiSyncService().sync_all(mode=SyncModeChoices.AUTO, organization_ids=[org_id], background=False)
    assert run.status == RunStatusChoices.COMPLETED, (run.error, run.log[-5:])
    return run


def owned(model):
    object_type = ContentType.objects.get_for_model(model)
    return model.objects.filter(pk__in=SyncedObject.objects.filter(object_type=object_type).values('object_id'))


def devices():
    return {device.serial: device for device in owned(Device).select_related(
        'primary_ip4__vrf', 'primary_ip6', 'site')}


def uplink_hosts(uplinks, protocol):
    """The addresses of a protocol Meraki lists on a device's uplinks, in order, without link-local ones."""
    hosts = [ipaddress.ip_address(address['address']) for uplink in uplinks for address in uplink['addresses']
             if address['protocol'] == protocol]
    return [host for host in hosts if not host.is_link_local]


def expected_security(ssid):
    """NetBox's (auth type, cipher) for an SSID, as the Dashboard API documents its values."""
    if ssid['authMode'].startswith('open'):
        return 'open', None
    if ssid.get('encryptionMode') == 'wep':
        return 'wep', None
    auth_type = 'wpa-enterprise' if ssid['authMode'].startswith('8021x-') else 'wpa-personal'
    return auth_type, {'WPA1 only': 'tkip', 'WPA1 and WPA2': 'auto'}.get(ssid['wpaEncryptionMode'], 'aes')


def lan_address(vrf, lan_ip):
    """A LAN IP as the sync gives it: with the mask of the smallest of its network's prefixes that holds it."""
    lengths = [prefix.prefix.prefixlen for prefix in Prefix.objects.filter(vrf=vrf, prefix__net_contains=lan_ip)]
    return f'{lan_ip}/{max(lengths, default=32)}'


def set_uplinks(simulator, org_id, serial, change):
    """Change a device's uplinks in the simulator's data, as Meraki would report them from then on."""
    with simulator.dashboard.lock:
        org = simulator.dashboard.orgs[org_id]
        change(org.uplinks[serial])
        org.touch()


def test_first_sync_gives_devices_meraki_s_primary_ips_and_ssids_their_security(
        meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    run = sync(org_id)

    synced = devices()
    with_lan_ip = [serial for serial, device in view.devices.items() if device.get('lanIp')]
    assert with_lan_ip
    for serial in with_lan_ip:
        device, lan_ip = synced[serial], view.devices[serial]['lanIp']
        assert device.primary_ip4 is not None, serial
        assert device.primary_ip4.assigned_object.device_id == device.pk
        ipv4, lan_ip = uplink_hosts(view.uplinks.get(serial, []), 'ipv4'), ipaddress.ip_address(lan_ip)
        # The LAN IP: on the uplink that has it, else on a management interface (a cellular gateway's uplink has the
        # carrier's address).
        assert str(device.primary_ip4.address.ip) == str(lan_ip)
        assert (device.primary_ip4.assigned_object.name == 'Management') == (lan_ip not in ipv4)

    with_ipv6 = {serial: hosts[0] for serial, uplinks in view.uplinks.items()
                 if (hosts := uplink_hosts(uplinks, 'ipv6'))}
    assert with_ipv6, 'the simulator gives some appliances an IPv6 address'
    for serial, device in synced.items():
        if serial in with_ipv6:
            assert str(device.primary_ip6.address) == f'{with_ipv6[serial]}/128'
            assert device.primary_ip6.assigned_object.device_id == device.pk
            assert device.primary_ip6.vrf.name == device.site.name  # 2001:db8::/32 is not global: in the VRF
        else:
            assert device.primary_ip6 is None

    api = simulator.client()
    wlans = {row.meraki_id: WirelessLAN.objects.get(pk=row.object_id)
             for row in SyncedObject.objects.filter(kind='wirelesslan')}
    seen = set()
    for network_id, network in view.networks.items():
        if 'wireless' not in network['productTypes']:
            continue
        for ssid in api.wireless.getNetworkWirelessSsids(network_id):
            if ssid['enabled']:
                wlan = wlans[f'{network_id}:{ssid["number"]}']
                assert (wlan.auth_type, wlan.auth_cipher) == expected_security(ssid), ssid
                seen.add((wlan.auth_type, wlan.auth_cipher))
    # The simulator's spread reaches NetBox: every auth type and cipher NetBox knows.
    assert {auth_type for auth_type, _ in seen} == {'open', 'wep', 'wpa-personal', 'wpa-enterprise'}
    assert {cipher for _, cipher in seen} == {None, 'tkip', 'auto', 'aes'}
    assert not [line for line in run.log if 'not known to this plugin' in str(line)]

    again = MerakiSyncService().sync_all(mode=SyncModeChoices.AUTO, organization_ids=[org_id], background=False)[0]
    assert again.changes.count() == 0, list(again.changes.values('kind', 'meraki_id', 'before', 'after')[:5])


def test_a_device_without_an_uplink_address_is_managed_at_its_lan_ip(meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    switch, ap = (next(serial for serial, device in sorted(view.devices.items())
                       if device['productType'] == product and device.get('lanIp'))
                  for product in ('switch', 'wireless'))
    set_uplinks(simulator, org_id, switch, lambda uplinks: uplinks.clear())  # listed without uplinks
    set_uplinks(simulator, org_id, ap, lambda uplinks: uplinks[0].update(ip=None))  # an uplink without an address

    sync(org_id)

    synced = devices()
    for serial in (switch, ap):
        device = synced[serial]
        interface = device.primary_ip4.assigned_object
        assert (interface.device_id, interface.name, interface.type, interface.mgmt_only) == (
            device.pk, 'Management', 'virtual', True)
        assert str(device.primary_ip4.address) == lan_address(device.primary_ip4.vrf, view.devices[serial]['lanIp'])
        assert device.primary_ip4.vrf.name == device.site.name  # a private address, in the network's VRF
    assert {i.name for i in synced[ap].interfaces.all() if i.ip_addresses.exists()} == {'Management'}

    again = MerakiSyncService().sync_all(mode=SyncModeChoices.AUTO, organization_ids=[org_id], background=False)[0]
    assert again.changes.count() == 0, list(again.changes.values('kind', 'meraki_id', 'before', 'after')[:5])


def test_an_address_back_on_its_uplink_takes_the_management_address_place_in_one_run(
        meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    ap = next(serial for serial, device in sorted(view.devices.items())
              if device['productType'] == 'wireless' and device.get('lanIp') and view.uplinks.get(serial))
    lan_ip = view.devices[ap]['lanIp']
    set_uplinks(simulator, org_id, ap, lambda uplinks: uplinks[0].update(ip=None))
    sync(org_id)
    management = devices()[ap].primary_ip4
    assert management.assigned_object.name == 'Management'

    set_uplinks(simulator, org_id, ap, lambda uplinks: uplinks[0].update(ip=lan_ip))  # the uplink has it again
    run = sync(org_id)

    assert run.status == RunStatusChoices.COMPLETED, list(
        run.changes.exclude(state='applied').values_list('kind', 'reason'))
    device = devices()[ap]
    assert str(device.primary_ip4.address) == lan_address(device.primary_ip4.vrf, lan_ip)
    assert device.primary_ip4.assigned_object.name != 'Management'
    assert not IPAddress.objects.filter(pk=management.pk).exists()
    again = MerakiSyncService().sync_all(mode=SyncModeChoices.AUTO, organization_ids=[org_id], background=False)[0]
    assert again.changes.count() == 0, list(again.changes.values('kind', 'meraki_id', 'before', 'after')[:5])


def test_an_ipv6_address_meraki_adds_updates_only_the_primary_ipv6(meraki_config, simulator, org_id, meraki_view):
    view = meraki_view.read()
    sync(org_id)
    serial, interface = next(
        (serial, uplinks[0]['interface']) for serial, uplinks in sorted(view.uplinks.items())
        if view.devices[serial]['productType'] == 'appliance' and not uplink_hosts(uplinks, 'ipv6')
        and uplink_hosts(uplinks[:1], 'ipv4')
    )
    before = devices()[serial]
    assert before.primary_ip6 is None

    set_uplinks(simulator, org_id, serial, lambda uplinks: uplinks[0].update(
        ipv6={'address': '2001:db8:ffff:1::1', 'gateway': 'fe80::1'}))
    run = sync(org_id)

    changes = {(change.kind, change.action): change for change in run.changes.all()}
    assert set(changes) == {('ipaddress', 'create'), ('primaryip', 'update')}
    assert changes[('primaryip', 'update')].before == {'primary_ip6': None}
    assert changes[('primaryip', 'update')].after == {
        'primary_ip6': {'ref': 'ipaddress', 'id': f'{serial}:{interface}:ipv6'}}
    assert all(change.state == ChangeStateChoices.APPLIED for change in changes.values())
    after = devices()[serial]
    assert str(after.primary_ip6.address) == '2001:db8:ffff:1::1/128'
    assert after.primary_ip6.assigned_object.name == interface
    assert after.primary_ip4_id == before.primary_ip4_id

    again = MerakiSyncService().sync_all(mode=SyncModeChoices.AUTO, organization_ids=[org_id], background=False)[0]
    assert again.changes.count() == 0, list(again.changes.values('kind', 'meraki_id', 'before', 'after')[:5])
