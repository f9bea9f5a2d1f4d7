from django import forms
from django.utils.translation import gettext_lazy as _

from dcim.models import Device, Site
from netbox.forms.mixins import SavedFiltersMixin
from utilities.forms import BOOLEAN_WITH_BLANK_CHOICES, FilterForm
from utilities.forms.fields import DynamicModelMultipleChoiceField
from utilities.forms.rendering import FieldSet

from ..choices import (
    ChangeActionChoices,
    ChangeGroupChoices,
    ChangeStateChoices,
    RunStatusChoices,
    RunTriggerChoices,
    SyncModeChoices,
)
from ..kinds import kind_name
from ..models import Change, SyncRun

__all__ = ('ChangeFilterForm', 'RunChangesFilterForm', 'SyncRunFilterForm', 'known_organizations')


def known_organizations():
    """(id, label) of the organizations that have been synced, by name."""
    names = {}
    pairs = SyncRun.objects.order_by().values_list('organization_id', 'organization_name').distinct()
    for organization_id, name in pairs:
        if name or organization_id not in names:
            names[organization_id] = name
    return [
        (organization_id, f'{name} ({organization_id})' if name else organization_id)
        for organization_id, name in sorted(names.items(), key=lambda item: (item[1] or item[0]).lower())
    ]


class SyncRunFilterForm(SavedFiltersMixin, FilterForm):
    model = SyncRun
    fieldsets = (
        FieldSet('q', 'filter_id'),
        FieldSet('status', 'mode', 'trigger', 'organization_id', 'full_read', name=_('Run')),
    )
    status = forms.MultipleChoiceField(label=_('Status'), choices=RunStatusChoices, required=False)
    mode = forms.MultipleChoiceField(label=_('Mode'), choices=SyncModeChoices, required=False)
    trigger = forms.MultipleChoiceField(label=_('Trigger'), choices=RunTriggerChoices, required=False)
    organization_id = forms.MultipleChoiceField(label=_('Organization'), choices=(), required=False)
    full_read = forms.NullBooleanField(
        label=_('Full read'), required=False, widget=forms.Select(choices=BOOLEAN_WITH_BLANK_CHOICES),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields['organization_id'].choices = known_organizations()


class ChangeFilterForm(SavedFiltersMixin, FilterForm):
    model = Change
    fieldsets = (
        FieldSet('q', 'filter_id'),
        FieldSet('kind', 'action', 'state', name=_('Change')),
        FieldSet('site_id', 'scope', 'device_id', 'device', name=_('Where')),
        FieldSet('group_by', name=_('Display')),
    )
    kind = forms.MultipleChoiceField(label=_('Object type'), choices=(), required=False)
    action = forms.MultipleChoiceField(label=_('Action'), choices=ChangeActionChoices, required=False)
    state = forms.MultipleChoiceField(label=_('State'), choices=ChangeStateChoices, required=False)
    site_id = DynamicModelMultipleChoiceField(queryset=Site.objects.all(), required=False, label=_('Site'))
    scope = forms.CharField(label=_('Network (Meraki ID)'), required=False)
    device_id = DynamicModelMultipleChoiceField(queryset=Device.objects.all(), required=False, label=_('Device'))
    device = forms.CharField(label=_('Device (Meraki serial)'), required=False)
    group_by = forms.ChoiceField(label=_('Group by'), choices=(('', _('None')), *ChangeGroupChoices), required=False)

    def __init__(self, *args, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        if kinds is None:
            kinds = Change.objects.order_by().values_list('kind', flat=True).distinct()
        self.fields['kind'].choices = [(kind, kind_name(kind)) for kind in sorted(set(kinds), key=kind_name)]


class RunChangesFilterForm(forms.Form):
    """
    The filters above a run's changes: object type, action, state, site (its network: `sites` are (network, name)) and
    device (its Meraki serial); and how the list is grouped.
    """

    kind = forms.MultipleChoiceField(label=_('Object type'), choices=(), required=False)
    action = forms.MultipleChoiceField(label=_('Action'), choices=ChangeActionChoices, required=False)
    state = forms.MultipleChoiceField(label=_('State'), choices=ChangeStateChoices, required=False)
    scope = forms.MultipleChoiceField(label=_('Site'), choices=(), required=False)
    device = forms.CharField(label=_('Device (Meraki serial)'), required=False)
    group_by = forms.ChoiceField(label=_('Group by'), choices=(('', _('None')), *ChangeGroupChoices), required=False)

    def __init__(self, *args, kinds=(), sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields['kind'].choices = [(kind, kind_name(kind)) for kind in sorted(set(kinds), key=kind_name)]
        self.fields['scope'].choices = sorted(sites, key=lambda site: site[1].lower())
