"""
What the plan and apply steps need to know about each kind of NetBox object: its model, the fields the
sync owns, which of them refer to other kinds, and how an object is matched, marked and displayed.
"""

from dataclasses import dataclass, field
from functools import cache

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dcim.models import (
    Cable,
    Device,
    DeviceRole,
    DeviceType,
    Interface,
    MACAddress,
    Manufacturer,
    Platform,
    Site,
    SiteGroup,
    VirtualChassis,
)
from ipam.models import VLAN, VRF, IPAddress, Prefix, VLANGroup
from tenancy.models import Tenant
from wireless.models import WirelessLAN, WirelessLANGroup

from .mapping import Ref

__all__ = ('KINDS', 'KindSpec', 'UPDATE_KINDS', 'from_json', 'kind_in_text', 'kind_name', 'references', 'to_json')


@dataclass(frozen=True)
class KindSpec:
    model: type
    fields: tuple
    # field -> kind it refers to (a foreign key, a generic foreign key or a many-to-many field)
    refs: dict = field(default_factory=dict)
    # Generic foreign keys (`<name>_type` + `<name>_id`) and many-to-many fields among the refs.
    generic: tuple = ()
    many: tuple = ()
    # Field values that mark an object Meraki no longer has (delete policy "mark").
    mark: dict = field(default_factory=dict)
    # Fields set when the object is created and then left to people (a slug, a site's address).
    create_only: tuple = ()
    # The kind whose delete policy applies, when not the kind itself.
    policy: str = ''
    # References that do not hold their object back: one whose object is not in NetBox (a site group a review rejected)
    # is left as it is, and the next sync sets it.
    optional: tuple = ()


KINDS = {
    'manufacturer': KindSpec(Manufacturer, ('name', 'slug')),
    'devicetype': KindSpec(
        DeviceType, ('manufacturer', 'model', 'slug', 'part_number', 'u_height'), refs={'manufacturer': 'manufacturer'},
    ),
    'role': KindSpec(DeviceRole, ('name', 'slug', 'color')),
    'platform': KindSpec(Platform, ('manufacturer', 'name', 'slug'), refs={'manufacturer': 'manufacturer'}),
    'tenant': KindSpec(Tenant, ('name', 'slug')),
    'vrf': KindSpec(VRF, ('name', 'description', 'tenant'), refs={'tenant': 'tenant'}, create_only=('name',),
                    policy='site'),
    # A configuration template: a group of the sites of the networks bound to it.
    'sitegroup': KindSpec(SiteGroup, ('name', 'slug', 'description'), create_only=('slug',)),
    'site': KindSpec(
        Site,
        ('name', 'slug', 'status', 'group', 'time_zone', 'physical_address', 'latitude', 'longitude', 'description',
         'tenant', 'cf_meraki_url'),
        refs={'group': 'sitegroup', 'tenant': 'tenant'},
        optional=('group',),
        mark={'status': 'retired'},
        # Meraki has no site address: the one the devices share is a starting point, not a source of truth.
        create_only=('slug', 'physical_address', 'latitude', 'longitude'),
    ),
    'vlangroup': KindSpec(
        VLANGroup, ('name', 'slug', 'scope', 'tenant'), refs={'scope': 'site', 'tenant': 'tenant'}, generic=('scope',),
        create_only=('slug',), policy='site',
    ),
    'wlangroup': KindSpec(WirelessLANGroup, ('name', 'slug'), create_only=('slug',), policy='site'),
    # A Meraki switch stack. NetBox's virtual chassis has no site: the stack's network is kept on its ownership record.
    'virtualchassis': KindSpec(VirtualChassis, ('name',)),
    # The platform is synced, not set at creation only: it is the firmware the device runs, and an upgrade in Meraki
    # must show in NetBox. A platform set by hand is overwritten, as every field the sync owns on a device it owns.
    'device': KindSpec(
        Device,
        ('name', 'site', 'device_type', 'role', 'platform', 'serial', 'status', 'latitude', 'longitude', 'tenant',
         'cf_meraki_firmware', 'cf_meraki_mac', 'cf_meraki_url'),
        refs={'site': 'site', 'device_type': 'devicetype', 'role': 'role', 'platform': 'platform', 'tenant': 'tenant'},
        mark={'status': 'decommissioning'},
    ),
    'vlan': KindSpec(
        VLAN, ('group', 'vid', 'name', 'status', 'tenant'), refs={'group': 'vlangroup', 'tenant': 'tenant'},
        mark={'status': 'deprecated'},
    ),
    'prefix': KindSpec(
        Prefix, ('prefix', 'scope', 'vlan', 'vrf', 'status', 'description', 'tenant'),
        refs={'scope': 'site', 'vlan': 'vlan', 'vrf': 'vrf', 'tenant': 'tenant'}, generic=('scope',),
        mark={'status': 'deprecated'},
    ),
    'wirelesslan': KindSpec(
        WirelessLAN, ('ssid', 'group', 'status', 'auth_type', 'auth_cipher', 'vlan', 'scope', 'tenant'),
        refs={'group': 'wlangroup', 'vlan': 'vlan', 'scope': 'site', 'tenant': 'tenant'}, generic=('scope',),
        mark={'status': 'deprecated'},
    ),
    'interface': KindSpec(
        Interface,
        ('device', 'name', 'type', 'enabled', 'mgmt_only', 'description', 'mode', 'untagged_vlan', 'tagged_vlans',
         'poe_mode', 'wireless_lans'),
        refs={'device': 'device', 'untagged_vlan': 'vlan', 'tagged_vlans': 'vlan', 'wireless_lans': 'wirelesslan'},
        many=('tagged_vlans', 'wireless_lans'),
        mark={'enabled': False},
    ),
    'ipaddress': KindSpec(
        IPAddress, ('address', 'vrf', 'status', 'assigned_object', 'description', 'tenant'),
        refs={'assigned_object': 'interface', 'vrf': 'vrf', 'tenant': 'tenant'}, generic=('assigned_object',),
        mark={'status': 'deprecated'},
    ),
    # No status to mark: "mark" keeps it.
    'macaddress': KindSpec(
        MACAddress, ('mac_address', 'assigned_object', 'description'), refs={'assigned_object': 'interface'},
        generic=('assigned_object',),
    ),
    # The device's primary IP is set once its addresses exist: an update of the device, never created alone.
    'primaryip': KindSpec(
        Device, ('primary_ip4', 'primary_ip6'), refs={'primary_ip4': 'ipaddress', 'primary_ip6': 'ipaddress'},
    ),
    # A switch's place in a stack, once the device and the virtual chassis exist: an update of the device.
    'vcmember': KindSpec(
        Device, ('virtual_chassis', 'vc_position'), refs={'virtual_chassis': 'virtualchassis'},
    ),
    # A virtual chassis's master must be one of its members (NetBox checks): set once the members are.
    'vcmaster': KindSpec(VirtualChassis, ('master',), refs={'master': 'device'}),
    # Likewise an interface's primary MAC: NetBox takes only a MAC address already assigned to the interface.
    'primarymac': KindSpec(Interface, ('primary_mac_address',), refs={'primary_mac_address': 'macaddress'}),
    # A cable's ends are its identity: a moved link is a new cable, so they are never updated.
    'cable': KindSpec(
        Cable, ('a', 'b', 'status', 'tenant'), refs={'a': 'interface', 'b': 'interface', 'tenant': 'tenant'},
        create_only=('a', 'b'),
    ),
}


# Kinds that only update objects of another kind (the one given), once what they refer to exists: never created,
# owned or removed on their own.
UPDATE_KINDS = {'primaryip': 'device', 'primarymac': 'interface', 'vcmember': 'device', 'vcmaster': 'virtualchassis'}

# Update kinds (a device's primary IPs, its place in a stack, ...) are named for the part they set, not for the model.
KIND_NAMES = {
    'primaryip': _('Primary IP'), 'primarymac': _('Primary MAC address'), 'vcmember': _('Virtual chassis member'),
    'vcmaster': _('Virtual chassis master'),
}


def kind_name(kind):
    """A kind as NetBox names its objects, in the singular: 'IP address', 'Device type', 'Primary IP'."""
    return translated_kind_name(kind, get_language())


# A list of changes names a kind on each row: translated once per kind and language.
@cache
def translated_kind_name(kind, language):
    if kind in KIND_NAMES:
        return str(KIND_NAMES[kind])
    if spec := KINDS.get(kind):
        name = str(spec.model._meta.verbose_name)
        return name[:1].upper() + name[1:]
    return kind


def kind_in_text(kind):
    """A kind's name inside a sentence: 'site', 'device type', but 'IP address' and 'VLAN' as they are."""
    name = kind_name(kind)
    return name if name[1:2].isupper() else name[:1].lower() + name[1:]


def to_json(value):
    """The stored form of a field value: what before/after hold and what the diff compares."""
    if isinstance(value, Ref):
        return {'ref': value.kind, 'id': value.meraki_id}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def references(values, skip=()):
    """(kind, Meraki identity) of each object stored values (a change's before or after) refer to, but in `skip`."""
    found = set()
    for name, value in values.items():
        if name in skip:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and item.get('ref') and item.get('id') is not None:
                found.add((item['ref'], item['id']))
    return found


def from_json(value):
    if isinstance(value, dict) and 'ref' in value:
        return Ref(value['ref'], value['id'])
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value
