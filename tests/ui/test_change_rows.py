"""
A changes list draws its rows itself (tables/rows.py) rather than through django-tables2's machinery per cell: each
cell, in every column a user may pick, must be what the column draws, with the same attributes.
"""

import pytest
from django.urls import reverse, set_script_prefix
from django_tables2.rows import BoundRow
from django_tables2.utils import AttributeDict

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices
from netbox_meraki.tables import ChangeTable
from netbox_meraki.tables.rows import page_url

pytestmark = pytest.mark.django_db


def cell_attributes(column):
    # A column the row draws itself stands in its cells as its attributes alone (see rows.cell_attributes()).
    return column['attrs']['td']['as_html'] if isinstance(column, dict) else column.attrs['td'].as_html()


def test_each_cell_is_drawn_as_its_column_draws_it(rf, admin_user, review_run):
    # Changes of every shape: an update with a value to escape, held with a reason; a removal that failed, taking an
    # object not owned with it; a mark; one without a name or network.
    update, removal, mark, unnamed = review_run.changes.order_by('pk')[:4]
    update.action, update.state, update.reason = ChangeActionChoices.UPDATE, ChangeStateChoices.HELD, 'Held: <why>'
    update.before, update.after = {'name': 'a & b', 'status': 'active'}, {'name': 'c', 'serial': None}
    removal.action, removal.state = ChangeActionChoices.DELETE, ChangeStateChoices.FAILED
    removal.cascade = [{'type': 'interface', 'id': 7, 'name': 'eth0', 'owned': False}, {'type': 'cable', 'more': 3}]
    mark.action, mark.cascade = ChangeActionChoices.MARK, [{'type': 'prefix', 'id': 8, 'name': '10.0.0.0/24'}]
    unnamed.object_repr, unnamed.scope, unnamed.object_id = '', '', None
    for change in (update, removal, mark, unnamed):
        change.save()

    request = rf.get('/', {'per_page': 100})
    request.user = admin_user
    table = ChangeTable(review_run.changes.select_related('run'))
    table.configure(request)
    table.reviewable = True
    table.columns.show('pk')
    for name in ChangeTable.Meta.fields:
        table.columns.show(name)

    rows = list(table.page.object_list)
    assert rows and len(rows) == review_run.changes.count()
    for row in rows:
        drawn = [(cell_attributes(column), str(cell)) for column, cell in row.items()]
        expected = [(column.attrs['td'].as_html(), str(cell)) for column, cell in BoundRow(row.record, table).items()]
        assert drawn == expected, row.record
        # All but the class, which alternates with the rows drawn (even, odd).
        assert {**row.attrs, 'class': ''} == {**BoundRow(row.record, table).attrs, 'class': ''}
        assert row.attrs['id'] == f'change-{row.record.pk}'
        assert row.attrs.as_html() == AttributeDict(row.attrs).as_html()
    # Undecided rows carry what a decision from their buttons replaces; the failed removal has no buttons.
    assert {row.record.pk for row in rows if row.attrs['hx-select']} == set(
        review_run.changes.exclude(state=ChangeStateChoices.FAILED).values_list('pk', flat=True))


@pytest.mark.parametrize('prefix', ['/', '/netbox/'])
def test_a_page_url_is_the_url_django_reverses(prefix):
    # Also under a BASE_PATH, which NetBox serves as the script prefix.
    set_script_prefix(prefix)
    try:
        for viewname in ('plugins:netbox_meraki:change', 'dcim:device', 'ipam:ipaddress'):
            for pk in (1, 10, 12345):
                assert page_url(viewname, pk) == reverse(viewname, kwargs={'pk': pk})
    finally:
        set_script_prefix('/')
