"""Reading sync runs and their planned changes: lists, details, filters, brief mode and object permissions."""

from netbox_meraki.models import Change, SyncRun

from .conftest import API


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(item['id'] for item in response.json()['results'])


def test_run_list_and_detail_show_what_a_run_did(api, runs):
    api.grant(SyncRun, 'view')
    response = api.get('/runs/')
    assert response.status_code == 200
    assert response.json()['count'] == 3

    run = runs[0]
    data = api.get(f'/runs/{run.pk}/').json()
    assert data['id'] == run.pk
    assert data['url'].endswith(f'{API}/runs/{run.pk}/')
    assert data['display_url'].endswith(run.get_absolute_url())
    assert data['display'] == str(run)
    assert data['organization_id'] == '1001'
    assert data['organization_name'] == 'Acme Retail'
    assert data['mode'] == {'value': 'auto', 'label': 'Auto (apply at once)'}
    assert data['status']['value'] == 'completed'
    assert data['trigger']['value'] == 'schedule'
    assert data['duration'] == 12.5
    assert data['api_calls'] == 7
    assert data['counts'] == {'device': {'create': 2}}
    assert data['timings'] == {'fetch': 1.5}
    assert data['log'][0]['message'] == 'Planned 3 changes for Acme Retail.'
    assert data['user'] is None and data['job'] is None
    assert data['full_read'] is False
    for field in ('network_ids', 'created', 'started', 'completed', 'phase', 'progress_done', 'progress_total',
                  'api_rate_limited', 'error', 'request_id'):
        assert field in data


def test_runs_filter_by_status_mode_trigger_organization_and_search(api, runs):
    api.grant(SyncRun, 'view')
    completed, awaiting, failed = runs
    assert ids(api.get('/runs/', status='awaiting_review')) == [awaiting.pk]
    assert ids(api.get('/runs/', status=['completed', 'failed'])) == sorted([completed.pk, failed.pk])
    assert ids(api.get('/runs/', mode='dry_run')) == [failed.pk]
    assert ids(api.get('/runs/', trigger='api')) == [awaiting.pk]
    assert ids(api.get('/runs/', organization_id='1001')) == sorted([completed.pk, awaiting.pk])
    assert ids(api.get('/runs/', q='globex')) == [failed.pk]
    assert ids(api.get('/runs/', organization_name__ic='acme')) == sorted([completed.pk, awaiting.pk])
    assert awaiting.pk in ids(api.get('/runs/', q=str(awaiting.pk)))
    assert ids(api.get('/runs/', q='404 not found')) == [failed.pk]
    assert ids(api.get('/runs/', status__n='completed')) == sorted([awaiting.pk, failed.pk])
    SyncRun.objects.filter(pk=failed.pk).update(full_read=True)
    assert ids(api.get('/runs/', full_read='true')) == [failed.pk]
    assert ids(api.get('/runs/', full_read='false')) == sorted([completed.pk, awaiting.pk])
    assert api.get('/runs/', status='no-such-status').status_code == 400


def test_brief_runs_and_changes_carry_only_their_brief_fields(api, runs):
    api.grant(SyncRun, 'view').grant(Change, 'view')
    run = api.get('/runs/', brief=1).json()['results'][0]
    assert sorted(run) == sorted(
        ['id', 'url', 'display', 'organization_id', 'organization_name', 'mode', 'status', 'created']
    )
    change = api.get('/changes/', brief=1).json()['results'][0]
    assert sorted(change) == sorted(['id', 'url', 'display', 'action', 'kind', 'object_repr', 'state'])


def test_run_changes_are_listed_in_apply_order_and_filterable(api, runs):
    api.grant(SyncRun, 'view').grant(Change, 'view')
    run = runs[1]
    response = api.get(f'/runs/{run.pk}/changes/')
    assert response.status_code == 200
    results = response.json()['results']
    assert [change['sequence'] for change in results] == [1, 2, 3]
    assert {change['run']['id'] for change in results} == {run.pk}
    assert results[1]['before'] == {'name': 'old'} and results[1]['after'] == {'name': 'branch-switch'}
    assert results[1]['action']['value'] == 'update'

    held = api.get(f'/runs/{run.pk}/changes/', state='held').json()['results']
    assert [change['object_repr'] for change in held] == ['gone-ap']
    assert held[0]['reason'].startswith('Removes more than 25%')
    devices = api.get(f'/runs/{run.pk}/changes/', kind='device', action='update').json()['results']
    assert [change['meraki_id'] for change in devices] == ['Q2AA-BBBB-CCCC']
    assert api.get('/runs/999999/changes/').status_code == 404


def test_changes_filter_by_run_kind_action_state_and_search(api, runs):
    api.grant(Change, 'view')
    first, second, _third = runs
    in_first = set(first.changes.values_list('pk', flat=True))
    assert set(ids(api.get('/changes/', run_id=first.pk))) == in_first
    assert len(ids(api.get('/changes/', run_id=[first.pk, second.pk]))) == 6
    assert len(ids(api.get('/changes/', kind='site'))) == 3
    assert len(ids(api.get('/changes/', action='delete', state='held'))) == 3
    assert len(ids(api.get('/changes/', q='branch-switch'))) == 3
    assert len(ids(api.get('/changes/', q='Q2DD'))) == 3
    detail = api.get(f'/changes/{first.changes.first().pk}/').json()
    assert detail['run']['id'] == first.pk
    assert detail['display_url'].endswith(f'/plugins/meraki/changes/{detail["id"]}/')


def test_reading_needs_the_view_permissions(api, runs):
    run = runs[0]
    change = run.changes.first()
    for path in ('/runs/', f'/runs/{run.pk}/', '/changes/', f'/changes/{change.pk}/'):
        assert api.get(path).status_code == 403, path
    api.grant(SyncRun, 'view')
    assert api.get(f'/runs/{run.pk}/').status_code == 200
    # Seeing a run's changes also needs the right to view changes.
    assert api.get(f'/runs/{run.pk}/changes/').status_code == 403
    api.grant(Change, 'view')
    assert api.get(f'/runs/{run.pk}/changes/').status_code == 200


def test_object_permission_constraints_limit_what_is_seen(api, runs):
    api.grant(SyncRun, 'view', constraints={'organization_id': '2002'})
    api.grant(Change, 'view', constraints={'kind': 'site'})
    other_org = runs[0]
    assert ids(api.get('/runs/')) == [runs[2].pk]
    assert api.get(f'/runs/{other_org.pk}/').status_code == 404
    assert api.get(f'/runs/{other_org.pk}/changes/').status_code == 404
    changes = api.get(f'/runs/{runs[2].pk}/changes/').json()['results']
    assert [change['kind'] for change in changes] == ['site']


def test_run_list_costs_the_same_queries_for_many_runs(api, runs, django_assert_max_num_queries):
    api.grant(SyncRun, 'view').grant(Change, 'view')
    with django_assert_max_num_queries(12):
        assert api.get('/runs/').status_code == 200
    with django_assert_max_num_queries(12):
        assert api.get('/changes/').status_code == 200


CASCADE = [
    {'type': 'IP address', 'id': 41, 'name': '10.0.0.41/24', 'owned': False, 'url': '/ipam/ip-addresses/41/'},
    {'type': 'interface', 'id': 7, 'name': 'gone-ap radio0', 'owned': True, 'url': '/dcim/interfaces/7/'},
    {'type': 'IP address', 'more': 3},
]


def test_a_removal_exposes_what_netbox_would_delete_with_it_read_only(api, runs):
    api.grant(SyncRun, 'view').grant(Change, 'view', 'change')
    removal = runs[1].changes.get(action='delete')
    Change.objects.filter(pk=removal.pk).update(action='mark', cascade=CASCADE)
    data = api.get(f'/changes/{removal.pk}/').json()
    assert data['cascade'] == CASCADE
    listed = api.get(f'/runs/{runs[1].pk}/changes/').json()['results']
    assert [change['cascade'] for change in listed] == [[], [], CASCADE]
    # The list is the engine's: the API has no way to write it.
    assert api.patch(f'/changes/{removal.pk}/', {'cascade': []}).status_code == 405
    assert Change.objects.get(pk=removal.pk).cascade == CASCADE
