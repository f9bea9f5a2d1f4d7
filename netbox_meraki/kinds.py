"""
What the plan and apply steps need to know about each kind of NetBox object: its model, the fields the
sync owns, which of them refer to other kinds, and how an object is matched, marked and displayed.
"""

from dataclasses import dataclass, field

from dcim.models import Device, DeviceRole, DeviceType, Interface, Manufacturer, Site
from ipam.models import IPAddress

from .mapping import Ref

__all__ = ('KINDS', 'KindSpec', 'from_json', 'to_json')


@dataclass(frozen=True)
class KindSpec:
    model: type
    fields: tuple
    # field -> kind it refers to
    refs: dict = field(default_factory=dict)
    # Field values that mark an object Meraki no longer has (delete policy "mark").
    mark: dict = field(default_factory=dict)
    # Fields set when the object is created and then left to people (a slug, a site's address).
    create_only: tuple = ()


KINDS = {
    'manufacturer': KindSpec(Manufacturer, ('name', 'slug')),
    'devicetype': KindSpec(
        DeviceType, ('manufacturer', 'model', 'slug', 'part_number', 'u_height'), refs={'manufacturer': 'manufacturer'},
    ),
    'role': KindSpec(DeviceRole, ('name', 'slug', 'color')),
    'site': KindSpec(
        Site,
        ('name', 'slug', 'status', 'time_zone', 'physical_address', 'latitude', 'longitude', 'description'),
        mark={'status': 'retired'},
        # Meraki has no site address: the one the devices share is a starting point, not a source of truth.
        create_only=('slug', 'physical_address', 'latitude', 'longitude'),
    ),
    'device': KindSpec(
        Device,
        ('name', 'site', 'device_type', 'role', 'serial', 'status', 'latitude', 'longitude',
         'cf_meraki_firmware', 'cf_meraki_mac'),
        refs={'site': 'site', 'device_type': 'devicetype', 'role': 'role'},
        mark={'status': 'decommissioning'},
    ),
    'interface': KindSpec(
        Interface, ('device', 'name', 'type', 'enabled'), refs={'device': 'device'}, mark={'enabled': False},
    ),
    'ipaddress': KindSpec(
        IPAddress, ('address', 'status', 'assigned_object', 'description'), refs={'assigned_object': 'interface'},
        mark={'status': 'deprecated'},
    ),
    # The device's primary IP is set once its addresses exist: an update of the device, never created alone.
    'primaryip': KindSpec(Device, ('primary_ip4',), refs={'primary_ip4': 'ipaddress'}),
}


def to_json(value):
    """The stored form of a field value: what before/after hold and what the diff compares."""
    if isinstance(value, Ref):
        return {'ref': value.kind, 'id': value.meraki_id}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def from_json(value):
    if isinstance(value, dict) and 'ref' in value:
        return Ref(value['ref'], value['id'])
    return value
