"""
The rows of a changes list, drawn directly: each cell of the usual columns as its column draws it, without the work
django-tables2 does again for every cell (resolving the accessor, inspecting the renderer's signature, computing the
column's attributes, building the link), which at 1,000 changes a page took most of the page's time.
"""

from functools import cache

from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django_tables2.rows import BoundRow
from django_tables2.utils import AttributeDict

from .display import UNDECIDED, escape

__all__ = ('ROW_ATTRS', 'ChangeRow', 'cell_attributes', 'cell_renderers', 'decidable', 'page_url', 'row_id')


def page_url(viewname, pk):
    """reverse(viewname, kwargs={'pk': pk}), with the view's URL reversed once: a page of 1,000 changes links 2,000."""
    head, tail = url_around_pk(viewname, get_script_prefix())
    return f'{head}{pk}{tail}'


@cache
def url_around_pk(viewname, prefix):
    """(what comes before the pk, what comes after) in the URL of a view of one object, under a script prefix."""
    head, _, tail = reverse(viewname, kwargs={'pk': 0}).rpartition('/0/')
    return f'{head}/', f'/{tail}'


def decidable(record, table):
    """Whether a change's row has approve and reject buttons: in a list of a run awaiting review, while undecided."""
    return getattr(table, 'reviewable', False) and record.state in UNDECIDED


# Arguments named `record` and `table`: django-tables2 passes Meta.row_attrs' functions their arguments by name.
def row_id(record, table=None):
    """The id of a change's row, which its decision buttons replace without a page reload (see DecisionColumn)."""
    return f'change-{record.pk}'


def while_decidable(value):
    """A row attribute only rows with decision buttons have: value(record) for them (see decidable())."""
    return lambda record, table: value(record) if decidable(record, table) else None


# A decision from a row's buttons (htmx) replaces the row by the same row of the answer (see views.decided_row()). It is
# said once on the row rather than on each button, as a page of 1,000 rows would say it 2,000 times: the buttons
# inherit it, since NetBox's table passes down only its hx-swap, not its hx-target and hx-select.
ROW_ATTRS = {
    'id': row_id,
    'hx-target': while_decidable(lambda record: 'this'),
    'hx-select': while_decidable(lambda record: f'#{row_id(record)}'),
    'hx-swap': while_decidable(lambda record: 'outerHTML'),
}


def cell_attributes(bound_column):
    """
    What stands for a column in its cells, where the table's template reads its attributes (column.attrs.td.as_html):
    rendered once a page rather than once a cell, and read as plain keys. Only for columns whose cell attributes do not
    depend on the cell.
    """
    return {'attrs': {'td': {'as_html': bound_column.attrs['td'].as_html()}}}


class RowAttributes(AttributeDict):
    """A row's attributes, drawn as django-tables2 draws them, without format_html() for each: 5,000 on a page."""

    def as_html(self):
        return mark_safe(' '.join(f'{escape(name)}="{escape(value)}"' for name, value in self._iteritems()))


class ChangeRow(BoundRow):
    """A row of a ChangeTable: the cells of the columns cell_renderers() knows drawn by them, the others as usual."""

    @property
    def attrs(self):
        attrs = {name: value(record=self.record, table=self.table) for name, value in ROW_ATTRS.items()}
        return RowAttributes({**attrs, 'class': self.get_even_odd_css_class()})

    def items(self):
        for column, attributes, render in self.table.row_cells:
            if render is not None:
                yield attributes, render(self.record)
                continue
            # As django-tables2 draws a cell: its column's attributes may depend on the cell.
            column.current_value = self.get_cell(column.name)
            column.current_record = self.record
            yield column, column.current_value


def cell_renderers(table):
    """
    {column name: function(change) -> the column's cell} of the columns a ChangeTable draws through ChangeRow. Each
    cell is what django-tables2 would draw: its column's renderer, or the column's default for an empty value.
    """
    columns = table.columns

    def or_default(name, render):
        """render(value, change), or the column's default where the change's value is empty."""
        empty, default = columns[name].column.empty_values, columns[name].default

        def cell(change):
            value = getattr(change, name)
            return default if value in empty else render(value, change)
        return cell

    def badge(name):
        """A choice's badge (see ChoiceFieldColumn): the same for every change of the same value, drawn once."""
        bound_column, badges = columns[name], {}

        def cell(change):
            value = getattr(change, name)
            if value not in badges:
                display = getattr(change, f'get_{name}_display')()
                badges[value] = bound_column.column.render(change, bound_column, display)
            return badges[value]
        return cell

    def plain(value, change):
        return value

    # NetBox's ToggleColumn names a row's checkbox after its object.
    select = _('Select {object}')
    return {
        'pk': lambda change: format_html(
            '<input type="checkbox" name="pk" value="{}" class="form-check-input" aria-label="{}" />',
            change.pk, select.format(object=change),
        ),
        'id': lambda change: format_html(
            '<a href="{}">{}</a>', page_url('plugins:netbox_meraki:change', change.pk), change.pk),
        'sequence': or_default('sequence', plain),
        'action': badge('action'),
        'kind': or_default('kind', lambda value, change: table.render_kind(value)),
        'object_repr': or_default('object_repr', table.render_object_repr),
        'meraki_id': or_default('meraki_id', plain),
        'object_id': or_default('object_id', plain),
        'scope': or_default('scope', plain),
        'fields': table.render_fields,
        'cascade': table.render_cascade,
        'state': badge('state'),
        'reason': or_default('reason', table.render_reason),
        'actions': lambda change: columns['actions'].column.render(change, table),
    }
