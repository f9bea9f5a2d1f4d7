"""Sync runs and changes through NetBox's GraphQL API, with NetBox's object permissions."""

from django.utils import timezone

from dcim.models import Device, DeviceRole, DeviceType, Manufacturer, Site

from netbox_meraki.choices import ChangeActionChoices, ChangeStateChoices
from netbox_meraki.models import Change, SyncedObject, SyncRun

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


def test_changes_can_be_filtered_by_netbox_site_and_device(api, runs):
    api.grant(Change, 'view')
    manufacturer = Manufacturer.objects.create(name='Cisco Meraki', slug='cisco-meraki')
    device_type = DeviceType.objects.create(manufacturer=manufacturer, model='MS120-8', slug='ms120-8')
    role = DeviceRole.objects.create(name='Switch', slug='switch')
    sites = [Site.objects.create(name=f'Store {number}', slug=f'store-{number}') for number in (1, 2)]
    switch, ap = (Device.objects.create(name=name, site=sites[0], device_type=device_type, role=role)
                  for name in ('store-switch', 'store-ap'))
    for kind, meraki_id, obj in (('site', 'N_1', sites[0]), ('site', 'N_2', sites[1]),
                                 ('device', 'Q2AA-BBBB-CCCC', switch), ('device', 'Q2GG-HHHH-IIII', ap)):
        SyncedObject.objects.create(kind=kind, meraki_id=meraki_id, object=obj, last_synced=timezone.now())
    run = runs[0]
    Change.objects.filter(run=run).update(scope='N_1')
    made = Change.objects.bulk_create([
        Change(run=run, sequence=4, action=ChangeActionChoices.CREATE, kind='interface', meraki_id='Q2AA-BBBB-CCCC:1',
               object_repr='1', scope='N_1', state=ChangeStateChoices.PENDING),
        Change(run=run, sequence=5, action=ChangeActionChoices.CREATE, kind='ipaddress', meraki_id='10.0.0.2/24',
               object_repr='10.0.0.2/24', scope='N_1', after={'assigned_object': {'id': 'Q2GG-HHHH-IIII:wan1'}},
               state=ChangeStateChoices.PENDING),
        Change(run=run, sequence=6, action=ChangeActionChoices.CREATE, kind='device', meraki_id='Q2GG-HHHH-IIII',
               object_repr='other-ap', scope='N_2', state=ChangeStateChoices.PENDING),
    ])

    def listed(filters):
        query = f'{{ meraki_change_list(filters: {{{filters}}}) {{ id }} }}'
        return {int(change['id']) for change in graphql(api.client, query)['meraki_change_list']}

    first_site = set(run.changes.filter(scope='N_1').values_list('pk', flat=True))
    assert listed(f'site_id: [{sites[0].pk}]') == first_site
    assert listed(f'site_id: [{sites[1].pk}]') == {made[2].pk}
    of_switch = set(Change.objects.filter(meraki_id__startswith='Q2AA-BBBB-CCCC').values_list('pk', flat=True))
    assert made[0].pk in of_switch and len(of_switch) == 4
    assert listed('device: ["Q2AA-BBBB-CCCC"]') == of_switch
    assert listed(f'device_id: [{switch.pk}]') == of_switch
    # The address is the access point's by its interface.
    assert listed(f'device_id: [{ap.pk}]') == {made[1].pk, made[2].pk}
    assert listed(f'device_id: [{switch.pk}], site_id: [{sites[1].pk}]') == set()
    assert listed(f'OR: {{device: ["Q2AA-BBBB-CCCC"]}}, site_id: [{sites[1].pk}]') == of_switch | {made[2].pk}
