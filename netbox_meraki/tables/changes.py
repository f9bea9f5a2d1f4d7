from functools import cache, cached_property

import django_tables2 as tables
from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from netbox.tables import NetBoxTable, columns
from utilities.views import get_viewname

from ..choices import ChangeActionChoices, ChangeStateChoices
from ..grouping import grouped
from ..kinds import KINDS, kind_in_text, kind_name, references
from ..models import Change
from .display import EMPTY, UNDECIDED, reference_names, render_field_changes, shown_records
from .groups import ChangeGroups, group_by_of
from .rows import ROW_ATTRS, ChangeRow, cell_attributes, cell_renderers, decidable, page_url

__all__ = (
    'ChangeTable', 'REMOVALS', 'UNDECIDED', 'cascade_summary', 'identities_named', 'object_url', 'render_cascade',
)


def object_url(change):
    """The NetBox page of the object a change is about, while that object exists."""
    spec = KINDS.get(change.kind)
    if not change.object_id or spec is None:
        return None
    if change.action == ChangeActionChoices.DELETE and change.state == ChangeStateChoices.APPLIED:
        return None
    try:
        return page_url(get_viewname(spec.model), change.object_id)
    except NoReverseMatch:
        return None


# Actions whose change carries what NetBox would delete with the object (a mark: what deleting it would have taken).
REMOVALS = (ChangeActionChoices.DELETE, ChangeActionChoices.MARK)


@cache
def model_names():
    """
    NetBox's model names, singular and plural, by either one in lower case ("ip address" and "ip addresses" ->
    ("IP address", "IP addresses")): the engine names a listed object's type in the singular and a count of more
    in the plural.
    """
    names = {'object': ('object', 'objects'), 'objects': ('object', 'objects')}
    for model in apps.get_models():
        pair = (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
        names.setdefault(pair[0].lower(), pair)
        names.setdefault(pair[1].lower(), pair)
    return names


def singular(kind):
    return model_names().get(kind.lower(), (kind, None))[0]


def type_label(kind, number):
    """A NetBox type, plural unless there is one: `IP addresses`, `prefix`."""
    name, plural = model_names().get(kind.lower(), (kind, f'{kind}s'))
    return name if number == 1 else plural


def count_label(kind, number):
    """`3 IP addresses`, `1 prefix`: a number of objects of a NetBox type."""
    return f'{number} {type_label(kind, number)}'


def cascade_totals(cascade):
    """
    What a deletion takes with it, counted: ({type: number} in the order met, number not owned by the plugin,
    number not listed). The engine lists at most 50 objects and counts the rest in a last {"type", "more"} entry,
    whose ownership is not known.
    """
    per_type, not_owned, unlisted = {}, 0, 0
    for item in cascade or []:
        kind = singular(item.get('type') or 'object')
        number = item['more'] if 'more' in item else 1
        per_type[kind] = per_type.get(kind, 0) + number
        if 'more' in item:
            unlisted += number
        elif not item.get('owned'):
            not_owned += 1
    return per_type, not_owned, unlisted


def not_owned_label(not_owned, unlisted):
    if unlisted:
        return _('at least {count} not owned by the plugin').format(count=not_owned)
    return _('{count} not owned by the plugin').format(count=not_owned)


def cascade_parts(change):
    """
    What a delete or mark change takes with it, in words: (`3 IP addresses, 1 prefix`, `2 not owned by the plugin`
    or ''), or ('', '') when it takes nothing.
    """
    if change.action not in REMOVALS or not change.cascade:
        return '', ''
    per_type, not_owned, unlisted = cascade_totals(change.cascade)
    objects = ', '.join(count_label(kind, number) for kind, number in per_type.items())
    return objects, not_owned_label(not_owned, unlisted) if not_owned else ''


def cascade_summary(change):
    """`3 IP addresses, 1 prefix (2 not owned by the plugin)`: what a delete or mark change takes with it, or ''."""
    objects, not_owned = cascade_parts(change)
    return f'{objects} ({not_owned})' if not_owned else objects


def linkable(url):
    # Only the object's own page (a path, or this NetBox's absolute URL) is linked.
    return isinstance(url, str) and url.startswith(('/', 'https://', 'http://')) and not url.startswith('//')


def render_cascade_item(item):
    if 'more' in item:
        return format_html(
            '<li class="text-secondary">{}</li>',
            _('and {number} more {objects}, not listed').format(
                number=item['more'], objects=type_label(item.get('type') or 'object', item['more']),
            ),
        )
    name = item.get('name') or f'#{item.get("id")}'
    if linkable(item.get('url')):
        name = format_html('<a href="{}">{}</a>', item['url'], name)
    if item.get('owned'):
        badge = format_html('<span class="badge text-bg-secondary">{}</span>', _('owned by the plugin'))
        return format_html(
            '<li class="cascade-owned">{} <span class="text-secondary">{}</span> {}</li>', badge, item.get('type', ''),
            name,
        )
    badge = format_html(
        '<span class="badge text-bg-red"><i class="mdi mdi-alert" aria-hidden="true"></i> {}</span>', _('not owned'),
    )
    return format_html(
        '<li class="cascade-not-owned fw-bold">{} <span class="text-secondary">{}</span> {}</li>', badge,
        item.get('type', ''), name,
    )


def render_cascade_summary(change):
    """The summary in HTML, with the objects the plugin does not own standing out: they are what a person would lose."""
    objects, not_owned = cascade_parts(change)
    if not not_owned:
        return objects
    return format_html(
        '{} <span class="text-danger fw-bold"><i class="mdi mdi-alert" aria-hidden="true"></i> ({})</span>',
        objects, not_owned,
    )


def render_cascade(change):
    """
    A change's detail of what a delete or mark change takes with it: the summary, and the full list, each object
    linked and badged "owned by the plugin" or "not owned". The objects not owned come first and open the list.
    """
    if change.action not in REMOVALS or not change.cascade:
        return ''
    _per_type, not_owned, _unlisted = cascade_totals(change.cascade)
    if change.action == ChangeActionChoices.DELETE:
        lead = _('Also deletes:')
    else:
        lead = _('Deleting it would also delete:')
    # Objects the plugin does not own first, the engine's order kept otherwise; the "more" entry last.
    items = sorted(change.cascade, key=lambda item: ('more' in item, bool(item.get('owned'))))
    return format_html(
        '<details class="change-cascade mt-1"{}><summary>{} {}</summary><ul class="list-unstyled ms-3 mb-0">{}</ul>'
        '</details>',
        mark_safe(' open') if not_owned else '', lead, render_cascade_summary(change),
        format_html_join('', '{}', ((render_cascade_item(item),) for item in items)),
    )


class DecisionColumn(tables.Column):
    """Approve and reject buttons for one change, inside the table's form; shown while the run awaits review."""

    attrs = {'td': {'class': 'text-end text-nowrap noprint p-1'}}
    empty_values = ()

    def header(self):
        return ''

    def render(self, record, table):
        if not decidable(record, table):
            return ''
        # Without a page reload (htmx): the decision is posted, and the row is replaced by the same row of the page
        # the decision leads back to (gone when the list's filter no longer shows it); the toast comes with it. What
        # is replaced is said by the row (see rows.ROW_ATTRS). Without JavaScript, the buttons submit the table's
        # form, whose return_url is the page (see syncrun/changes.html).
        return format_html(table.decision_buttons, pk=record.pk)


def identities_named(text, named):
    """
    `device Berlin-AP-1: Meraki Q2XX-...; ...`: the Meraki identity of each object a reason names (`kind name`, as the
    engine writes them) among `named` ({(kind, Meraki identity): name}), for the reason's tooltip.
    """
    labels = {f'{kind_in_text(kind)} {name}': meraki_id for (kind, meraki_id), name in named.items() if name}
    return '; '.join(f'{label}: Meraki {meraki_id}' for label, meraki_id in sorted(labels.items()) if label in text)


class ChangeTable(NetBoxTable):
    id = tables.Column(verbose_name=_('ID'), linkify=True)
    run = tables.Column(verbose_name=_('Run'), linkify=True)
    sequence = tables.Column(verbose_name=_('Order'))
    action = columns.ChoiceFieldColumn(verbose_name=_('Action'))
    kind = tables.Column(verbose_name=_('Object type'))
    object_repr = tables.Column(verbose_name=_('Object'))
    meraki_id = tables.Column(verbose_name=_('Meraki identity'))
    object_id = tables.Column(verbose_name=_('NetBox object ID'))
    scope = tables.Column(verbose_name=_('Network'))
    # Long values (a device's Dashboard URL) break rather than widen the table past a laptop's window.
    fields = tables.Column(verbose_name=_('Before → after'), accessor='pk', orderable=False,
                           attrs={'td': {'class': 'text-break', 'style': 'min-width: 12rem'}})
    state = columns.ChoiceFieldColumn(verbose_name=_('State'))
    cascade = tables.Column(verbose_name=_('Also deletes'), orderable=False, empty_values=())
    # A reason wraps in a column of its own width, however long it is.
    reason = tables.Column(verbose_name=_('Reason'), attrs={'td': {'class': 'text-break', 'style': 'min-width: 10rem'}})
    actions = DecisionColumn()

    class Meta(NetBoxTable.Meta):
        model = Change
        fields = (
            'pk', 'id', 'run', 'sequence', 'action', 'kind', 'object_repr', 'meraki_id', 'object_id', 'scope', 'fields',
            'cascade', 'state', 'reason',
        )
        # A removal's cascade is summed up and listed under its fields; the column is there for exports. A run's own
        # changes hide the run column.
        # At a laptop's 1366 px the decision buttons and the reason fit: the Meraki identity is the object's tooltip.
        default_columns = ('id', 'run', 'action', 'kind', 'object_repr', 'fields', 'state', 'reason')
        row_attrs = ROW_ATTRS

    # How the list is grouped (see groups.py): set by configure() from the request.
    groups = None

    @cached_property
    def decision_buttons(self):
        """The approve and reject buttons of a row, but its change's id (`{pk}`): the same on every row of a page."""
        approve = reverse('plugins:netbox_meraki:change_bulk_approve')
        reject = reverse('plugins:netbox_meraki:change_bulk_reject')
        button = ('<button type="submit" class="btn btn-sm btn-{color}" formaction="{url}" hx-post="{url}" '
                  'name="change" value="{{pk}}" title="{label}" aria-label="{label}"><i class="mdi mdi-{icon}"></i>'
                  '</button>')
        return ' '.join(
            button.format(color=color, url=escape(url), label=escape(label), icon=icon)
            for color, url, label, icon in (('green', approve, _('Approve'), 'check'),
                                            ('red', reject, _('Reject'), 'close'))
        )

    def configure(self, request):
        if group_by := group_by_of(request):
            # A grouped list is in the order of its groups: its columns do not sort it.
            self.groups = ChangeGroups(self, group_by)
            self.orderable = False
            self.data.data = grouped(self.data.data, group_by)
        super().configure(request)
        if getattr(self, 'page', None):
            rows = [ChangeRow(record, self) for record in self.page.object_list.data]
            self.page.object_list = self.groups.with_headers(rows) if self.groups else rows

    @cached_property
    def row_cells(self):
        """
        (column, its cells' attributes, renderer) of each column shown, in order, for ChangeRow: the renderer draws a
        change's cell, or is None where the cell is drawn as django-tables2 draws it. Read as the page is drawn, once
        the view has chosen the columns.
        """
        renderers = cell_renderers(self)
        cells = []
        for column in self.columns:
            if render := renderers.get(column.name):
                cells.append((column, cell_attributes(column), render))
            else:
                cells.append((column, None, None))
        return cells

    def render_kind(self, value):
        return kind_name(value)

    def value_kind(self, value):
        return value

    def render_object_repr(self, value, record):
        # Long names (a cable's two ends) are cut short on the page; the whole name and the identity are the tooltip.
        title = f'{value} (Meraki {record.meraki_id})'
        if url := object_url(record):
            value = format_html('<a href="{}">{}</a>', url, value)
        return format_html('<span class="d-inline-block text-truncate align-bottom" style="max-width: 14rem" '
                           'title="{}">{}</span>', title, value)

    # Exports carry the plain values, not the links and colours of the page.
    def value_object_repr(self, value):
        return value

    def value_reason(self, value):
        return value

    @cached_property
    def reference_names(self):
        """The names of what the changes shown refer to (see reference_names()): this page's, looked up at once."""
        return reference_names(shown_records(self))

    def render_fields(self, record):
        # A removal's detail: the fields it sees, then everything NetBox would delete with the object.
        return format_html(
            '{}{}', render_field_changes(record, self.reference_names), render_cascade(record),
        ) or EMPTY

    def render_cascade(self, record):
        summary = render_cascade_summary(record)
        if not summary:
            return EMPTY
        if record.action == ChangeActionChoices.MARK:
            return format_html('<span class="text-secondary">{}</span> {}', _('if deleted:'), summary)
        return summary

    def value_cascade(self, record):
        return cascade_summary(record)

    def value_fields(self, record):
        return '; '.join(
            f'{name}: {record.before.get(name)!r} -> {record.after.get(name)!r}' for name in record.fields
        )

    def render_reason(self, value, record):
        css = 'text-danger' if record.state in (ChangeStateChoices.FAILED, ChangeStateChoices.CONFLICT) else ''
        # The objects the reason names are named as NetBox names them; their Meraki identities are the tooltip.
        if title := identities_named(value, self.named_objects(record)):
            return format_html('<span class="{}" title="{}">{}</span>', css, title, value)
        return format_html('<span class="{}">{}</span>', css, value)

    def named_objects(self, record):
        """{(kind, Meraki identity): name} of what a change's reason may name: its object, site and references."""
        wanted = references(record.before) | references(record.after) | {('site', record.scope)}
        named = {key: self.reference_names[key] for key in wanted if key in self.reference_names}
        named[record.kind, record.meraki_id] = record.object_repr
        return named
