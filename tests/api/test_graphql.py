"""Sync runs and changes through NetBox's GraphQL API, with NetBox's object permissions."""

from netbox_meraki.models import Change, SyncRun

RUNS = '''
{
  meraki_sync_run_list(filters: {status: {exact: STATUS_AWAITING_REVIEW}}) {
    id organization_id organization_name mode full_read status trigger duration api_calls counts log error job_id
    changes(filters: {state: {exact: STATE_HELD}}) { id kind action state object_repr reason }
  }
}
'''


def graphql(client, query):
    response = client.post('/graphql/', {'query': query}, format='json')
    assert response.status_code == 200, response.content
    body = response.json()
    assert 'errors' not in body, body['errors']
    return body['data']


def test_runs_and_their_changes_can_be_queried_and_filtered(api, runs):
    api.grant(SyncRun, 'view').grant(Change, 'view')
    awaiting = runs[1]
    (run,) = graphql(api.client, RUNS)['meraki_sync_run_list']
    assert int(run['id']) == awaiting.pk
    assert (run['organization_id'], run['mode'], run['status']) == ('1001', 'review', 'awaiting_review')
    assert run['duration'] == 12.5
    assert run['full_read'] is False
    assert run['counts'] == {'device': {'create': 2}}
    assert run['log'][0]['message'] == 'Planned 3 changes for Acme Retail.'
    assert [(change['kind'], change['action'], change['state']) for change in run['changes']] == [
        ('device', 'delete', 'held')
    ]

    change = awaiting.changes.get(kind='site')
    data = graphql(api.client, f'{{ meraki_change(id: {change.pk}) {{ id meraki_id after run {{ id }} }} }}')
    assert data['meraki_change'] == {
        'id': str(change.pk), 'meraki_id': 'N_1001', 'after': {'name': 'Acme Retail HQ'},
        'run': {'id': str(awaiting.pk)},
    }
    SyncRun.objects.filter(pk=runs[2].pk).update(full_read=True)
    full = graphql(api.client, '{ meraki_sync_run_list(filters: {full_read: {exact: true}}) { id full_read } }')
    assert full['meraki_sync_run_list'] == [{'id': str(runs[2].pk), 'full_read': True}]
    kinds = graphql(api.client, '{ meraki_change_list(filters: {kind: {exact: "site"}}) { kind } }')
    assert [change['kind'] for change in kinds['meraki_change_list']] == ['site'] * 3


def test_graphql_shows_only_what_the_user_may_view(api, runs):
    assert graphql(api.client, '{ meraki_sync_run_list { id } }')['meraki_sync_run_list'] == []
    api.grant(SyncRun, 'view', constraints={'organization_id': '2002'})
    listed = graphql(api.client, '{ meraki_sync_run_list { id changes { id } } }')['meraki_sync_run_list']
    # Changes need their own view permission.
    assert listed == [{'id': str(runs[2].pk), 'changes': []}]


def test_a_changes_cascade_can_be_queried(api, runs):
    api.grant(Change, 'view')
    cascade = [
        {'type': 'IP address', 'id': 41, 'name': '10.0.0.41/24', 'owned': False, 'url': '/ipam/ip-addresses/41/'},
        {'type': 'IP address', 'more': 3},
    ]
    removal = runs[1].changes.get(action='delete')
    Change.objects.filter(pk=removal.pk).update(cascade=cascade)
    data = graphql(api.client, f'{{ meraki_change(id: {removal.pk}) {{ action cascade }} }}')
    assert data['meraki_change'] == {'action': 'delete', 'cascade': cascade}
