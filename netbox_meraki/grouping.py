"""
Which site and device a planned change is about, read from the change itself: its network (`scope`) is its site's
Meraki identity, and the identities of a device's parts start with the device's serial (`Q2XX-...:wan1`,
`Q2XX-...:wan1:ipv4`). As SQL, so that a changes list filters, orders and counts by them without a query per change.
"""

from django.db.models import Case, CharField, F, Func, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from .choices import ChangeGroupChoices

__all__ = ('DEVICE_SERIAL', 'GROUP_FIELDS', 'device_serial', 'grouped')

# Kinds whose Meraki identity is the device's serial: the device, its primary IPs, its place in a stack.
SERIAL_KINDS = ('device', 'primaryip', 'vcmember')
# Kinds whose identity starts with the device's serial and a colon: its interfaces and their primary MACs, MAC
# addresses, and a cable, by its first end (always an interface of a Meraki device: see map_cables).
SERIAL_PREFIX_KINDS = ('interface', 'primarymac', 'macaddress', 'cable')

# The annotation a grouped list orders by.
DEVICE_SERIAL = 'device_serial'


def before_colon(expression):
    return Func(expression, Value(':'), Value(1), function='split_part', output_field=CharField())


def device_serial():
    """The Meraki serial of the device a change is about, as an SQL expression; null for a change of no device."""
    return Case(
        When(kind__in=SERIAL_KINDS, then=F('meraki_id')),
        When(kind__in=SERIAL_PREFIX_KINDS, then=before_colon(F('meraki_id'))),
        # An address by its interface: an appliance's VLAN gateway is named for its VLAN, not its device.
        When(kind='ipaddress', then=before_colon(Coalesce(
            KT('after__assigned_object__id'), KT('before__assigned_object__id'),
        ))),
        When(kind='vcmaster', then=Coalesce(KT('after__master__id'), KT('before__master__id'))),
        default=Value(None),
        output_field=CharField(),
    )


# The field of a change that names its group, by grouping.
GROUP_FIELDS = {ChangeGroupChoices.SITE: 'scope', ChangeGroupChoices.DEVICE: DEVICE_SERIAL}


def grouped(queryset, group_by):
    """
    The changes ordered by their site or device, each with its device's serial; those of no site or device first, as
    they are applied first (device types, roles; sites, VLANs), then in apply order within each group.
    """
    field = GROUP_FIELDS[group_by]
    return queryset.annotate(**{DEVICE_SERIAL: device_serial()}).order_by(
        F(field).asc(nulls_first=True), 'run', 'sequence',
    )
