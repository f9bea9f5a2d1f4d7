import httpx

from .helpers import raw_get


def control(sim, method, path, body=None):
    return httpx.request(method, f'{sim.control_url}{path}', json=body, timeout=10)


def test_counts_and_reset(sim, org_id):
    raw_get(sim, f'/organizations/{org_id}/devices')
    raw_get(sim, f'/organizations/{org_id}/devices')
    counts = control(sim, 'GET', '/counts').json()
    assert counts['counts'] == {'GET /organizations/{organizationId}/devices': 2}
    assert counts['total'] == 2 and counts['total429'] == 0
    assert control(sim, 'POST', '/counts/reset').status_code == 200
    assert sim.counts() == {}


def test_control_calls_are_not_counted_or_authenticated(sim):
    assert control(sim, 'GET', '/state').status_code == 200
    assert sim.total_requests() == 0


def test_faults_over_http(sim, org_id):
    created = control(
        sim,
        'POST',
        '/faults',
        {'kind': 'server_error', 'endpoint': '/organizations/{organizationId}', 'status': 502, 'count': 1},
    )
    assert created.status_code == 201
    assert control(sim, 'GET', '/faults').json()[0]['id'] == created.json()['id']
    assert raw_get(sim, f'/organizations/{org_id}').status_code == 502
    assert raw_get(sim, f'/organizations/{org_id}').status_code == 200
    control(sim, 'POST', '/faults', {'kind': 'rate_limit_storm'})
    assert raw_get(sim, f'/organizations/{org_id}').status_code == 429
    assert control(sim, 'DELETE', '/faults').status_code == 200
    assert raw_get(sim, f'/organizations/{org_id}').status_code == 200
    assert control(sim, 'POST', '/faults', {'kind': 'nonsense'}).status_code == 400


def test_mutations_over_http(sim, org, org_id):
    serial = sorted(org.devices)[0]
    response = control(sim, 'POST', '/mutations', {'op': 'rename_device', 'args': {'serial': serial, 'name': 'x1'}})
    assert response.json()['result']['name'] == 'x1'
    response = control(sim, 'POST', '/mutations/set_device_status', {'serial': serial, 'status': 'alerting'})
    assert response.json()['result']['status'] == 'alerting'
    assert raw_get(sim, f'/devices/{serial}').json()['name'] == 'x1'
    assert (
        control(sim, 'POST', '/mutations/rename_device', {'serial': 'Q2XX-0000-0000', 'name': 'x'}).status_code == 404
    )
    assert control(sim, 'POST', '/mutations/teleport', {}).status_code == 404


def test_state_settings_and_key_revocation(sim, org_id):
    state = control(sim, 'GET', '/state').json()
    assert state['organizations'][0]['id'] == org_id
    assert state['organizations'][0]['devices'] == len(sim.dashboard.orgs[org_id].devices)
    state = control(sim, 'POST', '/settings', {'rateLimit': 5, 'latencyMs': 1}).json()
    assert (state['rateLimit'], state['latencyMs']) == (5, 1)
    control(sim, 'POST', '/keys/revoke', {'key': sim.api_key})
    assert raw_get(sim, '/organizations').status_code == 401
