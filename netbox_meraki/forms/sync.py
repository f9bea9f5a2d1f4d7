from django import forms
from django.utils.translation import gettext_lazy as _

from utilities.forms.rendering import FieldSet

from ..choices import SyncModeChoices
from ..networks import known_networks
from .fields import NetworkIdsField

__all__ = ('SyncNowForm',)


class SyncNowForm(forms.Form):
    """What to sync now: the mode, the organizations and, optionally, some of their networks."""

    mode = forms.ChoiceField(
        label=_('Mode'),
        choices=SyncModeChoices,
        help_text=_('Auto applies the plan at once, review waits for your approval, dry run only plans.'),
    )
    organization_ids = forms.MultipleChoiceField(
        label=_('Organizations'),
        choices=(),
        required=False,
        help_text=_('Each organization is synced as a run of its own. None selected: the configured organizations, '
                    'else every organization the API key sees.'),
    )
    network_ids = NetworkIdsField(
        label=_('Networks'),
        organizations='$organization_ids',
        help_text=_('Sync only these networks (type to search the networks the plugin has synced or read, of the '
                    'organizations chosen above). Empty: the configured networks, else every network of the '
                    'organizations.'),
    )
    full_read = forms.BooleanField(
        label=_('Full read'),
        required=False,
        help_text=_('Read every network from Meraki, not only those whose configuration changed since they were last '
                    'read. Without it, a sync still does when the last full read is older than the settings allow '
                    '(Scheduling).'),
    )

    fieldsets = (
        FieldSet('mode', 'organization_ids', 'network_ids', 'full_read', name=_('Sync')),
    )

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields['organization_ids'].choices = list(organizations)
        self.fields['network_ids'].offer()

    def clean(self):
        cleaned_data = super().clean()
        organization_ids = cleaned_data.get('organization_ids')
        if organization_ids and cleaned_data.get('network_ids'):
            theirs = {network.id for network in known_networks(organization_ids)}
            if others := [network_id for network_id in cleaned_data['network_ids'] if network_id not in theirs]:
                self.add_error('network_ids', _(
                    'Not a network of the chosen organizations: {networks}. Choose its organization too, or none.'
                ).format(networks=', '.join(others)))
        return cleaned_data
