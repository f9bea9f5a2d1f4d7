"""The Meraki API key never leaves NetBox: no REST or GraphQL response carries it, not even an error."""

import pytest

from netbox_meraki.models import SyncRun


@pytest.fixture
def leaky_run(meraki_config):
    """A run whose stored text holds the key, as an engine that forgot to redact would have written it."""
    key = meraki_config['api_key']
    return SyncRun.objects.create(
        organization_id='1001', mode='auto', trigger='api', status='failed',
        error=f'Request with key {key} failed', log=[{'time': '', 'level': 'error', 'message': f'key={key}'}],
    )


def assert_no_key(response, key):
    assert response.status_code < 500, response.content
    assert key.encode() not in response.content, response.request['PATH_INFO']
    assert all(key not in str(value) for value in response.headers.values())


def test_no_response_carries_the_api_key(admin_api, meraki_config, review_run, leaky_run,
                                         django_capture_on_commit_callbacks):
    key = meraki_config['api_key']
    change = review_run.changes.order_by('sequence').first()
    client = admin_api.client
    responses = [
        admin_api.get('/'),
        admin_api.get('/runs/'),
        admin_api.get('/runs/', brief=1),
        admin_api.get(f'/runs/{review_run.pk}/'),
        admin_api.get(f'/runs/{leaky_run.pk}/'),
        admin_api.get(f'/runs/{review_run.pk}/changes/'),
        admin_api.get('/changes/'),
        admin_api.get(f'/changes/{change.pk}/'),
        admin_api.get('/settings/'),
        client.get('/api/plugins/meraki/runs/', {'format': 'api'}),
        client.get('/api/plugins/meraki/settings/', {'format': 'api'}),
        client.options('/api/plugins/meraki/settings/'),
        admin_api.patch('/settings/', {'deletion_threshold': 30}),
        admin_api.post('/settings/test-connection/'),
        admin_api.post(f'/changes/{change.pk}/reject/'),
        admin_api.post(f'/runs/{review_run.pk}/approve/'),
    ]
    with django_capture_on_commit_callbacks():
        responses.append(admin_api.post(f'/runs/{review_run.pk}/apply/'))
        responses.append(admin_api.post('/runs/sync/', {'organization_ids': ['5555']}))
    started = responses[-1].json()['runs'][0]['id']
    responses += [
        admin_api.post(f'/runs/{started}/cancel/'),
        admin_api.post(f'/runs/{leaky_run.pk}/cancel/'),
        client.post('/graphql/', {'query': '{ meraki_sync_run_list { id error log changes { before after } } }'},
                    format='json'),
    ]
    for response in responses:
        assert_no_key(response, key)
    assert responses[4].json()['error'] == 'Request with key [redacted] failed'
    assert '[redacted]' in responses[-1].content.decode()


def test_a_rejected_key_is_not_echoed_in_errors(admin_api, meraki_config):
    wrong = 'wrong-key-1234567890abcdef1234567890abcdef'
    meraki_config['api_key'] = wrong
    for response in (admin_api.post('/runs/sync/'), admin_api.post('/settings/test-connection/')):
        assert wrong.encode() not in response.content
        assert 'HTTP 401' in response.json()['detail']
