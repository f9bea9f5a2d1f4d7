from django import forms
from django.utils.translation import gettext_lazy as _

from utilities.forms.rendering import FieldSet

from ..choices import SyncModeChoices
from .fields import IdListField

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
    network_ids = IdListField(
        label=_('Networks'),
        help_text=_('Meraki network ids, one per line, to sync only those networks. Empty: the configured '
                    'networks, else every network of the organizations.'),
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
