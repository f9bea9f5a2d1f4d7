"""
Benchmark of the sync engine (run by `make bench`): for organizations of growing size served by the Meraki
simulator in its own process (realistic latency, Meraki's 10 requests/s limit), a dry run on the empty NetBox
(fetch and plan only), a first sync, a second sync with nothing changed reading every network (a full read), then
change-driven syncs: nothing changed ('next'), and one network's SSID renamed ('1 net'). Each is measured in API
calls, database queries, writes and time. A size given as `<devices>:plan` is measured by dry runs only: the full
one, then the two change-driven ones.
"""

import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request

import django

django.setup()

from django.db import connection  # noqa: E402

from core.models import ObjectChange  # noqa: E402

from netbox_meraki.choices import SyncModeChoices  # noqa: E402
from netbox_meraki.models import NetworkRead  # noqa: E402
from netbox_meraki.sync import MerakiSyncService  # noqa: E402

API_KEY = 'bench-key-0123456789abcdef0123456789abcdef'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def start_simulator(devices, latency_ms):
    port = free_port()
    process = subprocess.Popen(
        # One network per 16 devices, as in the simulator's medium and large organizations.
        [sys.executable, '-m', 'meraki_sim', 'serve', '--port', str(port), '--seed', '1', '--devices', str(devices),
         '--networks', str(max(1, round(devices / 16))), '--latency-ms', str(latency_ms), '--rate-limit', '10',
         '--api-key', API_KEY],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base_url = process.stdout.readline().strip().partition('=')[2]
    for _ in range(100):
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, base_url


def rename_an_ssid(base_url, organization_id):
    """Through the simulator's control API: the first SSID of a wireless network gets a new name (a logged change)."""
    network_id = NetworkRead.objects.filter(organization_id=organization_id, data__has_key='ssids').order_by(
        'network_id').values_list('network_id', flat=True).first()
    body = json.dumps({'network_id': network_id, 'number': 0, 'name': 'Renamed for the benchmark'}).encode()
    control = base_url.split('/api/v1')[0] + '/_sim'
    urllib.request.urlopen(urllib.request.Request(f'{control}/mutations/rename_ssid', data=body, method='POST'))


def measure(organization_id, mode=SyncModeChoices.AUTO, full_read=False):
    queries = QueryCounter()
    start = time.monotonic()
    with connection.execute_wrapper(queries):
        (run,) = MerakiSyncService().sync_all(mode=mode, organization_ids=[organization_id], background=False,
                                              full_read=full_read)
    wall = time.monotonic() - start
    fetch = run.timings.get('fetch', 0)
    return {
        'status': run.status,
        'planned': run.changes.count(),
        'api_calls': run.api_calls,
        'api_floor_s': run.api_calls / 10,
        'wall_s': wall,
        'fetch_s': fetch,
        'outside_api_s': wall - fetch,
        'apply_s': run.timings.get('apply', 0),
        'queries': queries.count,
        'writes': (writes := run.changes.filter(state='applied').count()),
        'apply_obj_s': writes / run.timings['apply'] if run.timings.get('apply') else 0.0,
        'changelog': ObjectChange.objects.filter(request_id=run.request_id).count(),
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


COLUMNS = ('api_calls', 'api_floor_s', 'wall_s', 'fetch_s', 'outside_api_s', 'apply_s', 'apply_obj_s', 'queries',
           'planned', 'writes', 'changelog', 'peak_rss_mb')


def main():
    from django.conf import settings

    latency_ms = int(os.environ.get('BENCH_LATENCY_MS', '50'))
    if sys.argv[1] == '--header':
        print(f'latency {latency_ms} ms per request, Meraki limit 10 requests/s, plugin share 8/s')
        print(f"{'devices':>8} {'sync':>7} " + ' '.join(f'{c:>13}' for c in COLUMNS) + '  status')
        return
    size, _, only = sys.argv[1].partition(':')
    devices = int(size)
    config = settings.PLUGINS_CONFIG['netbox_meraki']
    config.update(api_key=API_KEY, requests_per_second=8)
    process, base_url = start_simulator(devices, latency_ms)
    try:
        config['base_url'] = base_url
        (organization_id, *_others), _calls = MerakiSyncService.visible_organizations()
        results = {'dry run': measure(organization_id, SyncModeChoices.DRY_RUN, full_read=True)}
        if only != 'plan':
            results.update(first=measure(organization_id, full_read=True),
                           second=measure(organization_id, full_read=True))
        # Change-driven: dry runs after the dry run alone (what they read does not depend on NetBox).
        mode = SyncModeChoices.DRY_RUN if only == 'plan' else SyncModeChoices.AUTO
        results['next'] = measure(organization_id, mode)
        rename_an_ssid(base_url, organization_id)
        results['1 net'] = measure(organization_id, mode)
    finally:
        process.terminate()
        process.wait()
    for name, figures in results.items():
        cells = ' '.join(
            f'{figures[c]:>13.2f}' if isinstance(figures[c], float) else f'{figures[c]:>13}' for c in COLUMNS
        )
        print(f'{devices:>8} {name:>7} {cells}  {figures["status"]}', flush=True)
    full, changed = results['second' if only != 'plan' else 'dry run'], results['next']
    print(f'{"":>8} change-driven read, nothing changed: {changed["api_calls"]} API calls '
          f'({changed["api_calls"] / full["api_calls"]:.3f} of a full read), read in {changed["fetch_s"]:.1f} s; '
          f'one changed network adds {results["1 net"]["api_calls"] - changed["api_calls"]} calls')
    if only == 'plan':
        return
    first, second = results['first'], results['second']
    print(f'{"":>8} first sync wall / (API floor + apply) = '
          f'{first["wall_s"] / (first["api_floor_s"] + first["apply_s"]):.2f}; '
          f'second sync outside the API / first = {second["outside_api_s"] / first["outside_api_s"]:.3f}')


if __name__ == '__main__':
    main()
