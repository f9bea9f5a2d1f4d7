import re

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from extras.models import Tag
from utilities.forms.widgets import APISelectMultiple

from ..networks import known_networks

__all__ = ('IdListField', 'NetworkIdsField', 'TagSlugsField')


class IdListField(forms.CharField):
    """Meraki ids typed one per line (or separated by commas or spaces), cleaned to a list of strings."""

    widget = forms.Textarea(attrs={'rows': 3, 'class': 'font-monospace'})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault('required', False)
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return '\n'.join(str(item) for item in value)
        return value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            return [str(item) for item in value]
        text = super().to_python(value)
        seen = []
        for item in re.split(r'[\s,]+', text or ''):
            if item and item not in seen:
                seen.append(item)
        return seen


class TagSlugsField(forms.ModelMultipleChoiceField):
    """NetBox tags picked by name, cleaned to a list of their slugs."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault('queryset', Tag.objects.all())
        kwargs.setdefault('required', False)
        kwargs.setdefault('to_field_name', 'slug')
        kwargs.setdefault('help_text', _('Tags to add to the objects the sync creates, beside "meraki".'))
        super().__init__(*args, **kwargs)

    def clean(self, value):
        return [tag.slug for tag in super().clean(value)]


class NetworkIdsField(forms.MultipleChoiceField):
    """
    Meraki networks picked by name from those the plugin knows (known_networks()), searched as you type through
    /api/plugins/meraki/networks/ and narrowed to `organizations` (a form field's name, "$organization_ids", or fixed
    ids); cleaned to a list of network ids. Ids in `kept` are accepted too: networks configured before the plugin
    knew them, or since gone, which a save of other settings must not refuse.
    """

    default_error_messages = {
        'invalid_choice': _(
            'Unknown Meraki network: %(value)s. Pick a network the plugin has synced or read (a sync of the whole '
            'organization makes its networks known); the REST API takes any network id.'
        ),
    }

    def __init__(self, *args, organizations=None, **kwargs):
        kwargs.setdefault('required', False)
        super().__init__(*args, widget=APISelectMultiple(), **kwargs)
        self.organizations = organizations

    def offer(self, organization_ids=(), kept=()):
        """Offer the known networks of these organizations (default: all), and the ids in `kept`."""
        self.choices = [(network.id, network.label) for network in known_networks(organization_ids)]
        offered = {network_id for network_id, _label in self.choices}
        self.choices += [(network_id, network_id) for network_id in kept if network_id not in offered]

    def clean(self, value):
        return list(dict.fromkeys(super().clean(value)))

    def get_bound_field(self, form, field_name):
        bound_field = super().get_bound_field(form, field_name)
        widget = self.widget
        widget.attrs['data-url'] = reverse('plugins-api:netbox_meraki-api:networks')
        if self.organizations:
            widget.add_query_params({'organization_id': self.organizations})
        # Render only the chosen networks: the picker asks the API for the others as you type.
        chosen = {str(value) for value in bound_field.value() or ()}
        widget.choices = [(value, label) for value, label in self.choices if value in chosen]
        return bound_field
