from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry.scalars import ID
from strawberry_django import BaseFilterLookup, DatetimeFilterLookup, FilterLookup, StrFilterLookup

from netbox.graphql.filters import BaseModelFilter, register_filter

from .. import models
from ..filtersets import meraki_ids
from ..grouping import DEVICE_SERIAL, device_serial

if TYPE_CHECKING:
    from netbox.graphql.filter_lookups import IntegerLookup  # noqa: F401
    from users.graphql.filters import UserFilter  # noqa: F401

    from .enums import (  # noqa: F401
        MerakiChangeActionEnum,
        MerakiChangeStateEnum,
        MerakiRunStatusEnum,
        MerakiRunTriggerEnum,
        MerakiSyncModeEnum,
    )

__all__ = (
    'ChangeFilter',
    'SyncRunFilter',
)


@register_filter(models.SyncRun, name='MerakiSyncRunFilter', lookups=True)
class SyncRunFilter(BaseModelFilter):
    organization_id: StrFilterLookup | None = strawberry_django.filter_field()
    organization_name: StrFilterLookup | None = strawberry_django.filter_field()
    mode: (
        BaseFilterLookup[Annotated['MerakiSyncModeEnum', strawberry.lazy('netbox_meraki.graphql.enums')]] | None
    ) = strawberry_django.filter_field()
    status: (
        BaseFilterLookup[Annotated['MerakiRunStatusEnum', strawberry.lazy('netbox_meraki.graphql.enums')]] | None
    ) = strawberry_django.filter_field()
    trigger: (
        BaseFilterLookup[Annotated['MerakiRunTriggerEnum', strawberry.lazy('netbox_meraki.graphql.enums')]] | None
    ) = strawberry_django.filter_field()
    user: Annotated['UserFilter', strawberry.lazy('users.graphql.filters')] | None = strawberry_django.filter_field()
    user_id: ID | None = strawberry_django.filter_field()
    created: DatetimeFilterLookup | None = strawberry_django.filter_field()
    started: DatetimeFilterLookup | None = strawberry_django.filter_field()
    completed: DatetimeFilterLookup | None = strawberry_django.filter_field()
    phase: StrFilterLookup | None = strawberry_django.filter_field()
    api_calls: Annotated['IntegerLookup', strawberry.lazy('netbox.graphql.filter_lookups')] | None = (
        strawberry_django.filter_field()
    )
    error: StrFilterLookup | None = strawberry_django.filter_field()
    cancel_requested: FilterLookup[bool] | None = strawberry_django.filter_field()
    full_read: FilterLookup[bool] | None = strawberry_django.filter_field()


@register_filter(models.Change, name='MerakiChangeFilter', lookups=True)
class ChangeFilter(BaseModelFilter):
    run: Annotated['SyncRunFilter', strawberry.lazy('netbox_meraki.graphql.filters')] | None = (
        strawberry_django.filter_field()
    )
    run_id: ID | None = strawberry_django.filter_field()
    sequence: Annotated['IntegerLookup', strawberry.lazy('netbox.graphql.filter_lookups')] | None = (
        strawberry_django.filter_field()
    )
    action: (
        BaseFilterLookup[Annotated['MerakiChangeActionEnum', strawberry.lazy('netbox_meraki.graphql.enums')]] | None
    ) = strawberry_django.filter_field()
    kind: StrFilterLookup | None = strawberry_django.filter_field()
    meraki_id: StrFilterLookup | None = strawberry_django.filter_field()
    object_id: ID | None = strawberry_django.filter_field()
    object_repr: StrFilterLookup | None = strawberry_django.filter_field()
    scope: StrFilterLookup | None = strawberry_django.filter_field()
    state: (
        BaseFilterLookup[Annotated['MerakiChangeStateEnum', strawberry.lazy('netbox_meraki.graphql.enums')]] | None
    ) = strawberry_django.filter_field()
    reason: StrFilterLookup | None = strawberry_django.filter_field()

    # As ChangeFilterSet: a site is its Meraki network (the change's scope); a device, its serial.
    @strawberry_django.filter_field()
    def site_id(self, value: list[ID], prefix) -> Q:
        return Q(**{f'{prefix}scope__in': meraki_ids('site', value)})

    @strawberry_django.filter_field()
    def device(self, queryset, value: list[str], prefix):
        return self.filter_device(queryset, value, prefix)

    @strawberry_django.filter_field()
    def device_id(self, queryset, value: list[ID], prefix):
        return self.filter_device(queryset, meraki_ids('device', value), prefix)

    def filter_device(self, queryset, serials, prefix):
        """The changes about the devices of these Meraki serials (see grouping.device_serial)."""
        return queryset.alias(**{DEVICE_SERIAL: device_serial()}), Q(**{f'{prefix}{DEVICE_SERIAL}__in': serials})
