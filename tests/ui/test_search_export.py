"""
Runs and changes in NetBox's own machinery: the global search, exports, table columns, saved filters, and the bulk
delete of runs.
"""

import csv
import io
import json

import pytest
from django.db.models.signals import post_save
from django.urls import reverse

from core.models import ObjectChange, ObjectType
from dcim.models import Device
from extras.models import ExportTemplate, SavedFilter
from utilities.testing.utils import disable_warnings

from netbox_meraki.choices import (
    ChangeActionChoices,
    ChangeStateChoices,
    RunStatusChoices,
    RunTriggerChoices,
    SyncModeChoices,
)
from netbox_meraki.models import Change, SyncedObject, SyncRun

from .conftest import run_sync

pytestmark = pytest.mark.django_db

SEARCH = reverse('search')
RUNS = reverse('plugins:netbox_meraki:syncrun_list')
CHANGES = reverse('plugins:netbox_meraki:change_list')
BULK_DELETE = reverse('plugins:netbox_meraki:syncrun_bulk_delete')


def make_run(organization, status=RunStatusChoices.COMPLETED, **fields):
    return SyncRun.objects.create(
        organization_id=organization[0], organization_name=organization[1], mode=SyncModeChoices.AUTO,
        trigger=RunTriggerChoices.MANUAL, status=status, **fields,
    )


def exported(response):
    """The rows of a CSV export, as dicts by column header."""
    assert response['Content-Type'].startswith('text/csv'), response['Content-Type']
    return list(csv.DictReader(io.StringIO(b''.join(response).decode())))


def found(client, query):
    return client.get(SEARCH, {'q': query}).content.decode()


#
# Search
#

def test_a_run_is_found_by_netbox_search_and_indexed_a_few_times_not_per_progress_step(
    admin_client, meraki_config, org_id, django_capture_on_commit_callbacks,
):
    saves = []

    def count(sender, instance, **kwargs):
        saves.append(instance.status)

    post_save.connect(count, sender=SyncRun, dispatch_uid='test_search_counts_run_saves')
    try:
        # NetBox indexes an object once the transaction that saved it commits.
        with django_capture_on_commit_callbacks(execute=True):
            run = run_sync(org_id, SyncModeChoices.REVIEW)
    finally:
        post_save.disconnect(sender=SyncRun, dispatch_uid='test_search_counts_run_saves')

    # NetBox reindexes a run on each save: created, then finished. The progress of every phase is written without a
    # save, so it costs no reindexing.
    assert saves == [RunStatusChoices.PENDING, RunStatusChoices.AWAITING_REVIEW]
    assert run.organization_name

    link = f'href="{run.get_absolute_url()}"'
    for query in (run.organization_name, org_id, str(run.pk), str(run.request_id)):
        assert link in found(admin_client, query), query
    # Its status is shown next to it, read from the run as it is now.
    assert 'Awaiting review' in found(admin_client, str(run.request_id))
    assert link not in found(admin_client, 'no such organization')


def test_search_shows_runs_only_to_users_who_may_see_them(
    user, user_client, grant, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        run = make_run(('555001', 'Searchable Org'), error='Dashboard answered 500 on getOrganizationDevices')
    link = f'href="{run.get_absolute_url()}"'

    assert link not in found(user_client, 'Searchable Org')
    grant(user, 'netbox_meraki.view_syncrun')
    assert link in found(user_client, 'Searchable Org')
    assert link in found(user_client, 'getOrganizationDevices')


#
# Exports, columns and saved filters
#

def test_the_runs_list_exports_the_current_view_or_every_column_as_csv(admin_client, django_user_model):
    run = make_run(('555002', 'Export Org'), error='x' * 300, network_ids=['N_1', 'N_2'],
                   counts={'site': {'create': 2}, 'device': {'create': 3, 'update': 1}})

    applied, failed = ChangeStateChoices.APPLIED, ChangeStateChoices.FAILED
    for sequence, state in enumerate((applied, applied, failed)):
        Change.objects.create(run=run, sequence=sequence, kind='site', action=ChangeActionChoices.CREATE,
                              meraki_id=f'N_{sequence}', object_repr=f'Site {sequence}', state=state)
    (row,) = exported(admin_client.get(RUNS, {'export': 'table'}))
    assert list(row) == ['ID', 'Organization', 'Mode', 'Status', 'Trigger', 'User', 'Created', 'Duration',
                         'Planned', 'Outcome', 'API calls']
    assert row['Organization'] == 'Export Org' and row['Status'] == 'Completed'
    assert row['Planned'] == 'create=5 update=1'
    assert row['Outcome'] == 'applied=2 failed=1'

    # "All data": every column, as plain values.
    (row,) = exported(admin_client.get(RUNS, {'export': ''}))
    assert row['Request ID'] == str(run.request_id)
    assert row['Networks'] == 'N_1, N_2'
    assert row['Error'] == 'x' * 300
    assert row['Total changes'] == '6'

    # The columns a user picks are the ones the page shows and "Current view" exports.
    admin = django_user_model.objects.get(username='admin')
    admin.config.set('tables.SyncRunTable.columns', ['id', 'status', 'request_id'], commit=True)
    page = admin_client.get(RUNS).content.decode()
    assert run.get_changelog_url() in page
    (row,) = exported(admin_client.get(RUNS, {'export': 'table'}))
    assert list(row) == ['ID', 'Status', 'Request ID']


def test_full_read_is_a_column_a_user_may_pick(admin_client, django_user_model):
    make_run(('555003', 'Full Org'), full_read=True)
    # Not shown by default (the default columns are pinned above).
    assert 'Full read' not in exported(admin_client.get(RUNS, {'export': 'table'}))[0]
    admin = django_user_model.objects.get(username='admin')
    admin.config.set('tables.SyncRunTable.columns', ['id', 'full_read'], commit=True)
    (row,) = exported(admin_client.get(RUNS, {'export': 'table'}))
    assert list(row) == ['ID', 'Full read']
    assert row['Full read'] == 'True'


def test_the_changes_list_exports_plain_values_with_the_run(admin_client):
    run = make_run(('555003', 'Changes Org'))
    Change.objects.create(run=run, sequence=1, kind='site', action=ChangeActionChoices.UPDATE, meraki_id='N_9',
                          object_id=41, object_repr='Branch 9', before={'name': 'Old'}, after={'name': 'Branch 9'})

    (row,) = exported(admin_client.get(CHANGES, {'export': 'table'}))
    assert row['Run'] == str(run) and row['Object'] == 'Branch 9'
    assert row['Before → after'] == "name: 'Old' -> 'Branch 9'"
    (row,) = exported(admin_client.get(CHANGES, {'export': ''}))
    assert row['NetBox object ID'] == '41' and row['Meraki identity'] == 'N_9'


def test_an_export_template_renders_the_filtered_runs(admin_client):
    make_run(('555004', 'Templated Org'), status=RunStatusChoices.FAILED, error='Invalid API key')
    make_run(('555005', 'Other Org'))
    template = ExportTemplate.objects.create(
        name='Failed runs', mime_type='text/plain', file_extension='txt',
        template_code='{% for run in queryset %}{{ run.organization_name }}: {{ run.error }}\n{% endfor %}',
    )
    template.object_types.set([ObjectType.objects.get_for_model(SyncRun)])

    assert 'Failed runs' in admin_client.get(RUNS).content.decode()  # offered in the Export menu
    response = admin_client.get(RUNS, {'export': 'Failed runs', 'status': 'failed'})
    assert response.status_code == 200
    assert b''.join(response).decode() == 'Templated Org: Invalid API key\n'


@pytest.mark.parametrize('list_url, model, parameters, shown, hidden', [
    (RUNS, SyncRun, {'status': ['failed']}, 'Failing Org', 'Fine Org'),
    (CHANGES, Change, {'action': ['delete']}, 'Gone site', 'New site'),
])
def test_a_saved_filter_is_offered_saved_and_applied(admin_client, list_url, model, parameters, shown, hidden):
    failed = make_run(('555004', 'Failing Org'), status=RunStatusChoices.FAILED)
    make_run(('555005', 'Fine Org'))
    Change.objects.create(run=failed, sequence=1, kind='site', action=ChangeActionChoices.DELETE, meraki_id='N_1',
                          object_repr='Gone site')
    Change.objects.create(run=failed, sequence=2, kind='site', action=ChangeActionChoices.CREATE, meraki_id='N_2',
                          object_repr='New site')
    object_type = ObjectType.objects.get_for_model(model)

    page = admin_client.get(list_url, parameters).content.decode()
    assert 'id="saved-filter-select"' in page
    assert f'{reverse("extras:savedfilter_add")}?object_types={object_type.pk}&amp;parameters=' in page

    # Saved as NetBox's "Save" link leads to it.
    response = admin_client.post(reverse('extras:savedfilter_add'), {
        'name': f'Only {shown}', 'slug': f'only-{model._meta.model_name}', 'object_types': [object_type.pk],
        'parameters': json.dumps(parameters), 'weight': 100, 'enabled': True, 'shared': True,
    })
    assert response.status_code == 302, response.content.decode()
    saved = SavedFilter.objects.get(object_types=object_type)

    page = admin_client.get(list_url, {'filter_id': saved.pk}).content.decode()
    assert shown in page and hidden not in page


#
# Bulk delete of runs
#

@pytest.fixture
def deleter(user, user_client, grant):
    grant(user, 'netbox_meraki.view_syncrun', 'netbox_meraki.delete_syncrun')
    return user_client


def test_bulk_delete_keeps_runs_that_are_running_or_awaiting_review(deleter, hold_organization_lock):
    hold_organization_lock('555007')
    done = make_run(('555006', 'Done Org'))
    running = make_run(('555007', 'Busy Org'), status=RunStatusChoices.RUNNING)
    waiting = make_run(('555008', 'Waiting Org'), status=RunStatusChoices.AWAITING_REVIEW)
    Change.objects.create(run=done, sequence=1, kind='site', action=ChangeActionChoices.CREATE, meraki_id='N_1',
                          object_repr='A site')
    selected = [done.pk, running.pk, waiting.pk]

    assert 'Delete Selected' in deleter.get(RUNS).content.decode()
    confirm = deleter.post(BULK_DELETE, {'pk': selected, '_delete': ''}, follow=True).content.decode()
    assert f'Runs #{running.pk}, #{waiting.pk} are kept' in confirm
    # Only the run that may go is listed for confirmation.
    assert 'Done Org' in confirm and 'Busy Org' not in confirm and 'Waiting Org' not in confirm

    response = deleter.post(BULK_DELETE, {'pk': selected, '_confirm': '', 'confirm': True}, follow=True)
    assert 'Deleted 1 sync runs' in response.content.decode()
    assert set(SyncRun.objects.values_list('pk', flat=True)) == {running.pk, waiting.pk}
    assert not Change.objects.exists()

    # Nothing left that may go: NetBox says nothing was selected, and why.
    page = deleter.post(BULK_DELETE, {'pk': [waiting.pk], '_delete': ''}, follow=True).content.decode()
    assert f'Run #{waiting.pk} is kept' in page and 'No sync runs were selected' in page


def test_bulk_delete_needs_the_delete_permission(user, user_client, grant):
    grant(user, 'netbox_meraki.view_syncrun')
    run = make_run(('555009', 'Kept Org'))
    assert 'Delete Selected' not in user_client.get(RUNS).content.decode()
    with disable_warnings('django.request'):
        response = user_client.post(BULK_DELETE, {'pk': [run.pk], '_confirm': '', 'confirm': True})
    assert response.status_code == 403
    assert SyncRun.objects.filter(pk=run.pk).exists()


def test_deleting_a_real_run_leaves_netbox_objects_and_their_changelog(deleter, meraki_config, org_id):
    run = run_sync(org_id, SyncModeChoices.AUTO)
    devices = set(Device.objects.values_list('pk', 'name'))
    changelog = ObjectChange.objects.filter(request_id=run.request_id).count()
    owned = SyncedObject.objects.count()
    assert devices and changelog and owned

    deleter.post(BULK_DELETE, {'pk': [run.pk], '_confirm': '', 'confirm': True})

    assert not SyncRun.objects.filter(pk=run.pk).exists()
    assert set(Device.objects.values_list('pk', 'name')) == devices
    assert ObjectChange.objects.filter(request_id=run.request_id).count() == changelog
    # The plugin still owns its objects; they only lose their link to the deleted run.
    assert SyncedObject.objects.count() == owned
    assert not SyncedObject.objects.filter(last_run__isnull=False).exists()
