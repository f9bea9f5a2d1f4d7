"""The endpoints are documented in NetBox's OpenAPI schema and listed in its browsable API."""


def test_openapi_schema_generates_and_documents_the_endpoints(admin_api):
    response = admin_api.client.get('/api/schema/', {'format': 'json'})
    assert response.status_code == 200
    schema = response.json()
    paths = schema['paths']
    for path in (
        '/api/plugins/meraki/runs/', '/api/plugins/meraki/runs/{id}/', '/api/plugins/meraki/runs/{run_pk}/changes/',
        '/api/plugins/meraki/runs/sync/', '/api/plugins/meraki/runs/{id}/cancel/',
        '/api/plugins/meraki/runs/{id}/approve/', '/api/plugins/meraki/runs/{id}/reject/',
        '/api/plugins/meraki/runs/{id}/apply/', '/api/plugins/meraki/changes/', '/api/plugins/meraki/changes/{id}/',
        '/api/plugins/meraki/changes/{id}/approve/', '/api/plugins/meraki/changes/{id}/reject/',
        '/api/plugins/meraki/settings/', '/api/plugins/meraki/settings/test-connection/',
    ):
        assert path in paths, path

    # Actions are POST only, and their bodies and answers are described.
    sync = paths['/api/plugins/meraki/runs/sync/']
    assert set(sync) - {'parameters'} == {'post'}
    body = sync['post']['requestBody']['content']['application/json']['schema']['$ref'].rsplit('/', 1)[1]
    assert set(schema['components']['schemas'][body]['properties']) == {
        'mode', 'organization_ids', 'network_ids', 'full_read',
    }
    assert {'202', '409'} <= set(sync['post']['responses'])
    settings = paths['/api/plugins/meraki/settings/']
    assert {'get', 'put', 'patch'} <= set(settings)
    # The list filters are documented.
    parameters = {parameter['name'] for parameter in paths['/api/plugins/meraki/runs/']['get']['parameters']}
    assert {'status', 'mode', 'trigger', 'organization_id', 'q'} <= parameters
    parameters = {parameter['name'] for parameter in paths['/api/plugins/meraki/changes/']['get']['parameters']}
    assert {'run_id', 'kind', 'action', 'state', 'q'} <= parameters


def test_the_plugin_api_root_lists_runs_changes_and_settings(admin_api):
    response = admin_api.get('/')
    assert response.status_code == 200
    assert set(response.json()) == {'runs', 'changes', 'settings'}
    assert response.json()['settings'].endswith('/api/plugins/meraki/settings/')
    browsable = admin_api.client.get('/api/plugins/meraki/runs/', {'format': 'api'})
    assert browsable.status_code == 200
    assert b'Sync Run List' in browsable.content or b'Runs' in browsable.content
