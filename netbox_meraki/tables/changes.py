from urllib.parse import quote

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from netbox.tables import NetBoxTable, columns
from utilities.views import get_viewname

from ..choices import ChangeActionChoices, ChangeStateChoices
from ..kinds import KINDS
from ..models import Change
from .display import EMPTY, render_field_changes

__all__ = ('ChangeTable', 'object_url')

# States in which a person can still approve or reject a change.
UNDECIDED = (ChangeStateChoices.PENDING, ChangeStateChoices.HELD)


def object_url(change):
    """The NetBox page of the object a change is about, while that object exists."""
    spec = KINDS.get(change.kind)
    if not change.object_id or spec is None:
        return None
    if change.action == ChangeActionChoices.DELETE and change.state == ChangeStateChoices.APPLIED:
        return None
    try:
        return reverse(get_viewname(spec.model), kwargs={'pk': change.object_id})
    except NoReverseMatch:
        return None


class DecisionColumn(tables.Column):
    """Approve and reject buttons for one change, inside the table's form; shown while the run awaits review."""

    attrs = {'td': {'class': 'text-end text-nowrap noprint p-1'}}
    empty_values = ()

    def header(self):
        return ''

    def render(self, record, table):
        if not getattr(table, 'reviewable', False) or record.state not in UNDECIDED:
            return ''
        suffix = ''
        if request := getattr(table, 'context', {}).get('request'):
            suffix = f'?return_url={quote(request.get_full_path())}'
        return format_html(
            '<button type="submit" class="btn btn-sm btn-green" formaction="{}" name="change" value="{}" '
            'title="{}" aria-label="{}"><i class="mdi mdi-check"></i></button> '
            '<button type="submit" class="btn btn-sm btn-red" formaction="{}" name="change" value="{}" '
            'title="{}" aria-label="{}"><i class="mdi mdi-close"></i></button>',
            reverse('plugins:netbox_meraki:change_bulk_approve') + suffix, record.pk, _('Approve'), _('Approve'),
            reverse('plugins:netbox_meraki:change_bulk_reject') + suffix, record.pk, _('Reject'), _('Reject'),
        )


class ChangeTable(NetBoxTable):
    id = tables.Column(verbose_name=_('ID'), linkify=True)
    run = tables.Column(verbose_name=_('Run'), linkify=True)
    sequence = tables.Column(verbose_name=_('Order'))
    action = columns.ChoiceFieldColumn(verbose_name=_('Action'))
    kind = tables.Column(verbose_name=_('Object type'))
    object_repr = tables.Column(verbose_name=_('Object'))
    meraki_id = tables.Column(verbose_name=_('Meraki identity'))
    scope = tables.Column(verbose_name=_('Network'))
    fields = tables.Column(verbose_name=_('Before → after'), accessor='pk', orderable=False)
    state = columns.ChoiceFieldColumn(verbose_name=_('State'))
    reason = tables.Column(verbose_name=_('Reason'))
    actions = DecisionColumn()

    class Meta(NetBoxTable.Meta):
        model = Change
        fields = (
            'pk', 'id', 'run', 'sequence', 'action', 'kind', 'object_repr', 'meraki_id', 'scope', 'fields', 'state',
            'reason',
        )
        default_columns = ('id', 'action', 'kind', 'object_repr', 'meraki_id', 'fields', 'state', 'reason')
        row_attrs = {'id': lambda record: f'change-{record.pk}'}

    def render_object_repr(self, value, record):
        if url := object_url(record):
            return format_html('<a href="{}">{}</a>', url, value)
        return value

    def render_fields(self, record):
        return render_field_changes(record) or EMPTY

    def value_fields(self, record):
        return '; '.join(
            f'{name}: {record.before.get(name)!r} -> {record.after.get(name)!r}' for name in record.fields
        )

    def render_reason(self, value, record):
        css = 'text-danger' if record.state in (ChangeStateChoices.FAILED, ChangeStateChoices.CONFLICT) else ''
        return format_html('<span class="{}">{}</span>', css, value)
