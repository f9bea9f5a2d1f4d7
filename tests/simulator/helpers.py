"""Helpers shared by the simulator tests."""

import httpx
import meraki

CALLER = 'NetBoxMeraki/0.1 netbox-meraki'

# One client for all raw requests: creating an httpx client per request is slow.
CLIENT = httpx.Client(timeout=10)


def make_api(sim, api_key=None, **options):
    """The official SDK pointed at a simulator, with short retry waits so tests stay fast."""
    settings = {
        'base_url': sim.base_url,
        'output_log': False,
        'print_console': False,
        'suppress_logging': True,
        'caller': CALLER,
        'smart_flow_enabled': False,
        'smart_flow_cache_path': '',
        'nginx_429_retry_wait_time': 1,
        'retry_4xx_error_wait_time': 1,
        'maximum_retries': 3,
        'single_request_timeout': 5,
    }
    settings.update(options)
    return meraki.DashboardAPI(api_key or sim.api_key, **settings)


def raw_get(sim, path, api_key=None, headers=None, **params):
    """A plain GET below the API base, for what the SDK hides (headers, raw bodies, status codes)."""
    if headers is None:
        headers = {'Authorization': f'Bearer {api_key or sim.api_key}'}
    url = path if path.startswith('http') else sim.base_url + path
    return CLIENT.get(url, params=params or None, headers=headers)
