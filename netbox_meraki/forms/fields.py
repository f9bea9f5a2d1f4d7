import re

from django import forms
from django.utils.translation import gettext_lazy as _

from extras.models import Tag

__all__ = ('IdListField', 'TagSlugsField')


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
