"""A changes list grouped by site or device: a header row above each group's changes (see grouping.py)."""

from urllib.parse import quote

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_tables2.utils import AttributeDict

from ..choices import ChangeGroupChoices
from ..grouping import GROUP_FIELDS
from .display import UNDECIDED, shown_records

__all__ = ('GROUP_DECISION_FORM', 'GROUP_FILTERS', 'ChangeGroups', 'group_by_of')

# The filter that takes a group's changes: its site's network, or its device's serial (see ChangeFilterSet).
GROUP_FILTERS = {ChangeGroupChoices.SITE: 'scope', ChangeGroupChoices.DEVICE: 'device'}
GROUP_KINDS = {ChangeGroupChoices.SITE: 'site', ChangeGroupChoices.DEVICE: 'device'}
GROUP_ICONS = {ChangeGroupChoices.SITE: 'mdi-map-marker', ChangeGroupChoices.DEVICE: 'mdi-router-network'}
UNGROUPED = {
    ChangeGroupChoices.SITE: _('No site: organization-wide objects'),
    ChangeGroupChoices.DEVICE: _('No device: sites, VLANs, prefixes and shared objects'),
}
# The form (in the run's changes page) a group's approve and reject buttons submit: the run and the list's filter.
GROUP_DECISION_FORM = 'change-group-decision'


def group_by_of(request):
    """The grouping a changes list asks for (`group_by`), or None."""
    group_by = request.GET.get('group_by')
    return group_by if group_by in ChangeGroupChoices.values() else None


class GroupCell:
    """Stands for the table's columns in a group's header row: its one cell spans them all."""

    def __init__(self, span):
        self.attrs = {'td': AttributeDict({'colspan': span, 'class': 'bg-body-tertiary py-1'})}


class GroupHeader:
    """A row above the changes of one site or device, as the table's template draws a row."""

    record = None

    def __init__(self, groups, key):
        self.groups, self.key = groups, key
        self.attrs = AttributeDict({'class': 'change-group', 'data-group': key or ''})

    def items(self):
        yield GroupCell(len(self.groups.table.columns)), self.groups.render(self.key)


class ChangeGroups:
    """The groups of a ChangeTable's page: where their headers go, what they count, how they read."""

    def __init__(self, table, group_by):
        self.table, self.group_by = table, group_by
        self.field = GROUP_FIELDS[group_by]

    def with_headers(self, rows):
        """The page's rows with a header row above each group's first."""
        shown, last = [], object()
        for row in rows:
            if (key := getattr(row.record, self.field)) != last:
                shown.append(GroupHeader(self, key))
                last = key
            shown.append(row)
        return shown

    @cached_property
    def counts(self):
        """{group: (changes, undecided changes)} of the page's groups, in the whole filtered list: one query."""
        keys = {getattr(record, self.field) for record in shown_records(self.table)}
        of_keys = Q(**{f'{self.field}__in': [key for key in keys if key is not None]})
        if None in keys:
            of_keys |= Q(**{f'{self.field}__isnull': True})
        rows = self.table.data.data.order_by().filter(of_keys).values(self.field).annotate(
            total=Count('pk'), undecided=Count('pk', filter=Q(state__in=UNDECIDED)),
        ).values_list(self.field, 'total', 'undecided')
        return {key: (total, undecided) for key, total, undecided in rows}

    def render(self, key):
        """A group's header: its site or device (a link to its changes alone), its counts, buttons deciding it."""
        request = getattr(self.table, 'context', {}).get('request')
        total, undecided = self.counts.get(key, (0, 0))
        icon = format_html('<i class="mdi {}" aria-hidden="true"></i>', GROUP_ICONS[self.group_by])
        count = ngettext('%(count)d change', '%(count)d changes', total) % {'count': total}
        if not key:
            return format_html('{} <strong>{}</strong> <span class="badge text-bg-secondary">{}</span>', icon,
                               UNGROUPED[self.group_by], count)
        name = self.table.reference_names.get((GROUP_KINDS[self.group_by], key)) or key
        title = format_html('<strong title="Meraki {}">{}</strong>', key, name)
        field = GROUP_FILTERS[self.group_by]
        if request is not None:
            query = request.GET.copy()
            query[field] = key
            query.pop('page', None)
            title = format_html('<a href="?{}">{}</a>', query.urlencode(), title)
        buttons = ''
        if getattr(self.table, 'reviewable', False) and undecided and request is not None:
            buttons = self.decision_buttons(request, field, key, name, undecided)
        return format_html('{} {} <span class="badge text-bg-secondary">{}</span>{}', icon, title, count, buttons)

    @staticmethod
    def decision_buttons(request, field, key, name, undecided):
        """Approve and reject the group's undecided changes: they submit the page's GROUP_DECISION_FORM."""
        suffix = f'?return_url={quote(request.get_full_path())}'
        hint = ngettext(
            'the %(count)d undecided change of %(name)s that the filter shows',
            'the %(count)d undecided changes of %(name)s that the filter shows', undecided,
        ) % {'count': undecided, 'name': name}
        return format_html(
            '<span class="float-end text-nowrap">'
            '<button type="submit" form="{form}" formaction="{approve}" name="{field}" value="{key}" '
            'class="btn btn-sm btn-outline-green py-0" title="{approve_title}">'
            '<i class="mdi mdi-check-all" aria-hidden="true"></i> {approve_label}</button> '
            '<button type="submit" form="{form}" formaction="{reject}" name="{field}" value="{key}" '
            'class="btn btn-sm btn-outline-red py-0" title="{reject_title}">'
            '<i class="mdi mdi-close-box-multiple-outline" aria-hidden="true"></i> {reject_label}</button></span>',
            form=GROUP_DECISION_FORM, field=field, key=key,
            approve=reverse('plugins:netbox_meraki:change_bulk_approve') + suffix,
            reject=reverse('plugins:netbox_meraki:change_bulk_reject') + suffix,
            approve_title=_('Approve {changes}').format(changes=hint),
            reject_title=_('Reject {changes}').format(changes=hint),
            approve_label=_('Approve {count}').format(count=undecided),
            reject_label=_('Reject {count}').format(count=undecided),
        )
