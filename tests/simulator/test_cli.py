import signal
import subprocess
import sys

import httpx

from meraki_sim.cli import parser


def test_serve_prints_the_base_url_and_key_and_stops_on_sigterm():
    command = [
        sys.executable,
        '-m',
        'meraki_sim',
        'serve',
        '--port',
        '0',
        '--seed',
        '3',
        '--devices',
        '20',
        '--api-key',
        'cli-key',
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        base_url = process.stdout.readline().strip().partition('=')[2]
        api_key = process.stdout.readline().strip().partition('=')[2]
        assert base_url.startswith('http://127.0.0.1:') and base_url.endswith('/api/v1')
        assert api_key == 'cli-key'
        response = httpx.get(f'{base_url}/organizations', headers={'Authorization': f'Bearer {api_key}'}, timeout=10)
        assert response.status_code == 200
        org_id = response.json()[0]['id']
        devices = httpx.get(f'{base_url}/organizations/{org_id}/devices', headers={'X-Cisco-Meraki-API-Key': api_key})
        assert len(devices.json()) == 20
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_scale_options_are_parsed():
    args = parser().parse_args(
        ['serve', '--scale', 'medium', '--networks', '5', '--rate-limit', '0', '--latency-ms', '50']
    )
    assert (args.scale, args.networks, args.rate_limit, args.latency_ms) == ('medium', 5, 0, 50)
