"""Filters of sync runs and planned changes, shared by the REST API and the web UI's lists."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext as _

from dcim.models import Device, Site
from netbox.filtersets import BaseFilterSet
from users.models import User
from utilities.filters import MultiValueCharFilter
from utilities.filtersets import register_filterset

from .choices import ChangeActionChoices, ChangeStateChoices, RunStatusChoices, RunTriggerChoices, SyncModeChoices
from .grouping import DEVICE_SERIAL, device_serial
from .models import Change, SyncedObject, SyncRun

__all__ = (
    'ChangeFilterSet',
    'SyncRunFilterSet',
)


@register_filterset
class SyncRunFilterSet(BaseFilterSet):
    q = django_filters.CharFilter(
        method='search',
        label=_('Search'),
    )
    status = django_filters.MultipleChoiceFilter(
        choices=RunStatusChoices,
        distinct=False,
        null_value=None,
    )
    mode = django_filters.MultipleChoiceFilter(
        choices=SyncModeChoices,
        distinct=False,
        null_value=None,
    )
    trigger = django_filters.MultipleChoiceFilter(
        choices=RunTriggerChoices,
        distinct=False,
        null_value=None,
    )
    user_id = django_filters.ModelMultipleChoiceFilter(
        queryset=User.objects.all(),
        distinct=False,
        label=_('User (ID)'),
    )
    user = django_filters.ModelMultipleChoiceFilter(
        field_name='user__username',
        queryset=User.objects.all(),
        distinct=False,
        to_field_name='username',
        label=_('User name'),
    )
    created__before = django_filters.DateTimeFilter(field_name='created', lookup_expr='lte')
    created__after = django_filters.DateTimeFilter(field_name='created', lookup_expr='gte')

    class Meta:
        model = SyncRun
        fields = (
            'id', 'request_id', 'organization_id', 'organization_name', 'created', 'started', 'completed', 'phase',
            'api_calls', 'api_rate_limited', 'cancel_requested', 'full_read',
        )

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        query = (
            Q(organization_id__icontains=value) |
            Q(organization_name__icontains=value) |
            Q(error__icontains=value)
        )
        if value.isdecimal():
            query |= Q(pk=int(value))
        return queryset.filter(query)


@register_filterset
class ChangeFilterSet(BaseFilterSet):
    q = django_filters.CharFilter(
        method='search',
        label=_('Search'),
    )
    run_id = django_filters.ModelMultipleChoiceFilter(
        queryset=SyncRun.objects.all(),
        distinct=False,
        label=_('Sync run (ID)'),
    )
    action = django_filters.MultipleChoiceFilter(
        choices=ChangeActionChoices,
        distinct=False,
        null_value=None,
    )
    state = django_filters.MultipleChoiceFilter(
        choices=ChangeStateChoices,
        distinct=False,
        null_value=None,
    )
    # A site is its Meraki network (the change's scope); a device, its serial.
    site_id = django_filters.ModelMultipleChoiceFilter(
        queryset=Site.objects.all(),
        method='filter_site',
        label=_('Site (ID)'),
    )
    device = MultiValueCharFilter(
        method='filter_device',
        label=_('Device (Meraki serial)'),
    )
    device_id = django_filters.ModelMultipleChoiceFilter(
        queryset=Device.objects.all(),
        method='filter_device_id',
        label=_('Device (ID)'),
    )

    class Meta:
        model = Change
        fields = ('id', 'sequence', 'kind', 'meraki_id', 'object_id', 'object_repr', 'scope', 'reason')

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(object_repr__icontains=value) |
            Q(meraki_id__icontains=value) |
            Q(kind__iexact=value) |
            Q(scope__icontains=value) |
            Q(reason__icontains=value)
        )

    def filter_site(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(scope__in=meraki_ids('site', [site.pk for site in value]))

    def filter_device(self, queryset, name, value):
        if not value:
            return queryset
        return of_devices(queryset, value)

    def filter_device_id(self, queryset, name, value):
        if not value:
            return queryset
        return of_devices(queryset, meraki_ids('device', [device.pk for device in value]))


def of_devices(queryset, serials):
    """The changes about the devices of these Meraki serials (see grouping.device_serial)."""
    return queryset.alias(**{DEVICE_SERIAL: device_serial()}).filter(**{f'{DEVICE_SERIAL}__in': serials})


def meraki_ids(kind, object_ids):
    """The Meraki identities of the NetBox objects of these IDs that the plugin owns."""
    return list(SyncedObject.objects.filter(kind=kind, object_id__in=object_ids).values_list('meraki_id', flat=True))
