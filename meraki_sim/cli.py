"""Command line: ``python -m meraki_sim serve`` runs the simulator until interrupted."""

import argparse
import dataclasses
import gc
import signal
import sys

from .app import Backend
from .generator import SCALES, generate
from .server import SimulatorServer

__all__ = ('main',)


def parser():
    """The argument parser."""
    root = argparse.ArgumentParser(prog='python -m meraki_sim', description='Simulator of the Meraki Dashboard API v1')
    commands = root.add_subparsers(dest='command', required=True)
    serve = commands.add_parser('serve', help='serve a generated Dashboard until SIGINT or SIGTERM')
    serve.add_argument('--host', default='127.0.0.1')
    serve.add_argument('--port', type=int, default=0, help='0 picks a free port (default)')
    serve.add_argument('--seed', type=int, default=0)
    serve.add_argument('--scale', choices=sorted(SCALES), default='small')
    serve.add_argument('--organizations', type=int, help='override the scale: organizations')
    serve.add_argument('--networks', type=int, help='override the scale: networks per organization')
    serve.add_argument('--devices', type=int, help='override the scale: devices per organization')
    serve.add_argument('--rate-limit', type=float, default=10, help='requests/s per organization; 0 disables')
    serve.add_argument('--burst', type=float, help='extra requests allowed at once (default: the rate)')
    serve.add_argument('--ip-rate-limit', type=float, help='requests/s per client IP (default 100; 0 disables)')
    serve.add_argument('--latency-ms', type=float, default=0, help='added to every API response')
    serve.add_argument('--api-key', default='meraki-sim-key')
    return root


def serve(args):
    """Run the server in the foreground."""
    overrides = {
        name: getattr(args, name)
        for name in ('organizations', 'networks', 'devices')
        if getattr(args, name) is not None
    }
    scale = dataclasses.replace(SCALES[args.scale], **overrides)
    dashboard = generate(args.seed, scale)
    # The generated data lives as long as the process: keep the garbage collector from rescanning it.
    gc.freeze()
    backend = Backend(dashboard, {args.api_key: None}, args.rate_limit, args.burst, args.ip_rate_limit, args.latency_ms)
    server = SimulatorServer((args.host, args.port), backend)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    host = args.host if ':' not in args.host else f'[{args.host}]'
    print(f'MERAKI_SIM_BASE_URL=http://{host}:{server.port}/api/v1')
    print(f'MERAKI_SIM_API_KEY={args.api_key}')
    devices = sum(len(org.devices) for org in dashboard.orgs.values())
    print(f'# {len(dashboard.orgs)} organization(s), {devices} devices; control API at /_sim/', flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        backend.stopping.set()
        server.server_close()
    return 0


def main(argv=None):
    """Entry point of ``python -m meraki_sim``."""
    args = parser().parse_args(argv)
    if args.command == 'serve':
        return serve(args)
    return 2


if __name__ == '__main__':
    sys.exit(main())
