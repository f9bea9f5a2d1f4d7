"""The simulator in-process, for tests: a server on a free port in a background thread, and its controls."""

import threading

from .app import Backend
from .generator import generate
from .server import SimulatorServer
from .webhooks import alert_payload, post_webhook

__all__ = ('Simulator',)


class Simulator:
    """A simulated Dashboard API served on a local port.

    Use it as a context manager::

        with Simulator(seed=1, scale='small', rate_limit=10, latency_ms=0, api_key='test-key') as sim:
            dashboard = meraki.DashboardAPI(sim.api_key, base_url=sim.base_url, ...)

    ``api_keys`` maps extra keys to the organization ids each may see (None: all); ``api_key`` is always valid
    and sees every organization unless ``api_keys`` says otherwise. ``rate_limit`` is requests per second per
    organization (0 turns rate limiting off), ``burst`` how many more may come at once (default: as many as the
    rate), ``ip_rate_limit`` the limit per client address (default 100, or off when rate_limit is 0).
    """

    def __init__(
        self,
        seed=0,
        scale='small',
        rate_limit=10,
        latency_ms=0,
        api_key='test-key',
        api_keys=None,
        burst=None,
        ip_rate_limit=None,
        host='127.0.0.1',
        port=0,
        dashboard=None,
    ):
        self.dashboard = dashboard if dashboard is not None else generate(seed, scale)
        keys = {api_key: None}
        keys.update(api_keys or {})
        self.api_key = api_key
        self.backend = Backend(self.dashboard, keys, rate_limit, burst, ip_rate_limit, latency_ms)
        self.host = host
        self.port = port
        self._server = None
        self._thread = None

    def start(self):
        """Start serving; returns the simulator."""
        self._server = SimulatorServer((self.host, self.port), self.backend)
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={'poll_interval': 0.1},
            name=f'meraki-sim:{self.port}',
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and release the port; requests held by a timeout fault are let go."""
        if self._server is None:
            return
        self.backend.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def base_url(self):
        """Base URL of the API, e.g. http://127.0.0.1:PORT/api/v1."""
        return f'http://{self.host}:{self.port}/api/v1'

    @property
    def control_url(self):
        """Base URL of the control API."""
        return f'http://{self.host}:{self.port}/_sim'

    @property
    def org_ids(self):
        """Organization ids."""
        return self.dashboard.org_ids

    def client(self, **options):
        """A meraki.DashboardAPI for this simulator (needs the meraki package); ``options`` override defaults."""
        import meraki

        api_key = options.pop('api_key', self.api_key)
        settings = {
            'base_url': self.base_url,
            'output_log': False,
            'print_console': False,
            'suppress_logging': True,
            'caller': 'NetBoxMeraki/0.1 netbox-meraki',
            'smart_flow_enabled': False,
            'smart_flow_cache_path': '',
            'nginx_429_retry_wait_time': 1,
            'retry_4xx_error_wait_time': 1,
            'maximum_retries': 3,
            'single_request_timeout': 10,
        }
        settings.update(options)
        return meraki.DashboardAPI(api_key, **settings)

    # Counting.

    def counts(self):
        """Requests per endpoint template, e.g. {'GET /organizations/{organizationId}/devices': 3}."""
        return self.backend.counts()

    def counts_429(self):
        """429 answers per endpoint template."""
        return self.backend.counts_429()

    def total_requests(self):
        """All requests counted, 429s included."""
        return sum(self.counts().values())

    def count_429s(self):
        """All 429 answers."""
        return sum(self.counts_429().values())

    def reset_counts(self):
        """Start counting from zero."""
        self.backend.reset_counts()

    # Faults and settings.

    def inject(
        self, kind, endpoint=None, network_id=None, count=None, share=1.0, status=None, seconds=None, retry_after=1,
        message=None,
    ):
        """Activate a fault (see faults.KINDS); returns it. ``endpoint`` is a counted template or None for all."""
        return self.backend.faults.add(
            kind,
            endpoint=endpoint,
            network_id=network_id,
            count=count,
            share=share,
            status=status,
            seconds=seconds,
            retry_after=retry_after,
            message=message,
        )

    def faults(self):
        """The faults in force."""
        return self.backend.faults.active()

    def clear_faults(self):
        """Drop every fault."""
        self.backend.faults.clear()

    def revoke_key(self, key, after=None):
        """Answer 401 to this key from now on, or once it has made ``after`` more requests."""
        self.backend.revoke_key(key, after=after)

    def configure(self, rate_limit=None, burst=None, ip_rate_limit=None, latency_ms=None):
        """Change rate limits or latency while running."""
        self.backend.configure(rate_limit, burst, ip_rate_limit, latency_ms)

    def state(self):
        """Summary of the data and settings, as GET /_sim/state answers."""
        return self.backend.state()

    # Mutations: each returns what it changed.

    def rename_device(self, serial, name):
        """Rename a device; returns the device."""
        return self.backend.mutate('rename_device', serial=serial, name=name)

    def remove_device(self, serial):
        """Remove a device from its network (it stays in the inventory); returns the device as it was."""
        return self.backend.mutate('remove_device', serial=serial)

    def add_device(self, network_id, model='MS120-8LP', name=None, status='online'):
        """Claim a new device into a network; returns its serial."""
        return self.backend.mutate('add_device', network_id=network_id, model=model, name=name, status=status)

    def move_device(self, serial, network_id):
        """Move a device to another network, of its organization or of another one; returns the device."""
        return self.backend.mutate('move_device', serial=serial, network_id=network_id)

    def rename_network(self, network_id, name):
        """Rename a network; returns the network."""
        return self.backend.mutate('rename_network', network_id=network_id, name=name)

    def remove_network(self, network_id):
        """Delete a network; returns {'network': ..., 'unassigned': [serials]}."""
        return self.backend.mutate('remove_network', network_id=network_id)

    def add_network(self, org_id, name, product_types, time_zone='America/Los_Angeles', tags=()):
        """Create an empty network; returns its id."""
        return self.backend.mutate(
            'add_network', org_id=org_id, name=name, product_types=product_types, time_zone=time_zone, tags=tags
        )

    def set_vlan_subnet(self, network_id, vlan_id, subnet, appliance_ip=None):
        """Change an appliance VLAN's subnet; returns the VLAN."""
        return self.backend.mutate(
            'set_vlan_subnet', network_id=network_id, vlan_id=vlan_id, subnet=subnet, appliance_ip=appliance_ip
        )

    def disable_ssid(self, network_id, number):
        """Disable an SSID; returns the SSID."""
        return self.backend.mutate('disable_ssid', network_id=network_id, number=number)

    def rename_ssid(self, network_id, number, name):
        """Rename an SSID; returns the SSID."""
        return self.backend.mutate('rename_ssid', network_id=network_id, number=number, name=name)

    def set_port_vlans(self, serial, port_id, vlan=None, allowed_vlans=None, type=None):
        """Change a switch port's VLAN settings; returns the port."""
        return self.backend.mutate(
            'set_port_vlans', serial=serial, port_id=port_id, vlan=vlan, allowed_vlans=allowed_vlans, type=type
        )

    def create_switch_stack(self, network_id, name, serials):
        """Stack switches of a network, in the order given; returns the stack."""
        return self.backend.mutate('create_switch_stack', network_id=network_id, name=name, serials=serials)

    def delete_switch_stack(self, network_id, stack_id):
        """Delete a switch stack; returns it as it was."""
        return self.backend.mutate('delete_switch_stack', network_id=network_id, stack_id=stack_id)

    def rename_switch_stack(self, network_id, stack_id, name):
        """Rename a switch stack; returns the stack."""
        return self.backend.mutate('rename_switch_stack', network_id=network_id, stack_id=stack_id, name=name)

    def remove_switch_from_stack(self, network_id, stack_id, serial):
        """Take a switch out of a stack; returns the stack."""
        return self.backend.mutate('remove_switch_from_stack', network_id=network_id, stack_id=stack_id, serial=serial)

    def recable(self, serial_a, port_a, serial_b, port_b):
        """Connect two ports, replacing their links; returns the new link."""
        return self.backend.mutate('recable', serial_a=serial_a, port_a=port_a, serial_b=serial_b, port_b=port_b)

    def remove_link(self, serial, port_id):
        """Unplug a port; returns the links removed."""
        return self.backend.mutate('remove_link', serial=serial, port_id=port_id)

    def connect_neighbour(self, serial, port_id, system_name, remote_port, **advertised):
        """
        Connect a switch port to a device that is not Meraki's, advertising `system_name` and `remote_port` (and
        `platform`, `description`, `capabilities`, `management_address`); returns the new link.
        """
        return self.backend.mutate(
            'connect_neighbour', serial=serial, port_id=port_id, system_name=system_name, remote_port=remote_port,
            **advertised,
        )

    def set_device_status(self, serial, status):
        """Set a device's availability status; returns {'serial', 'status', 'previous'}."""
        return self.backend.mutate('set_device_status', serial=serial, status=status)

    def bind_network(self, network_id, template_id):
        """Bind a network to a configuration template; returns the network."""
        return self.backend.mutate('bind_network', network_id=network_id, template_id=template_id)

    def unbind_network(self, network_id):
        """Unbind a network from its configuration template; returns the network."""
        return self.backend.mutate('unbind_network', network_id=network_id)

    def rename_template(self, org_id, template_id, name):
        """Rename a configuration template; returns it."""
        return self.backend.mutate('rename_template', org_id=org_id, template_id=template_id, name=name)

    def remove_template(self, org_id, template_id):
        """Delete a configuration template, unbinding its networks; returns {'template', 'unbound'}."""
        return self.backend.mutate('remove_template', org_id=org_id, template_id=template_id)

    def edit_device(self, serial, **fields):
        """Set fields of a device as given, unchecked (odd data: '' or 255-character names, unknown models)."""
        return self.backend.mutate('edit_device', serial=serial, **fields)

    def edit_network(self, network_id, **fields):
        """Set fields of a network as given, unchecked (duplicate or non-ASCII names, ...)."""
        return self.backend.mutate('edit_network', network_id=network_id, **fields)

    def edit_vlan(self, network_id, vlan_id, **fields):
        """Set fields of an appliance VLAN as given, unchecked (id 0 or 4095, a subnet that does not parse)."""
        return self.backend.mutate('edit_vlan', network_id=network_id, vlan_id=vlan_id, **fields)

    def edit_ssid(self, network_id, number, **fields):
        """Set fields of an SSID as given, unchecked (VLAN tagging, availability tags); returns the SSID."""
        return self.backend.mutate('edit_ssid', network_id=network_id, number=number, **fields)

    def add_vlan(self, network_id, vlan_id, name, subnet, appliance_ip=None):
        """Add an appliance VLAN as given, unchecked; returns it."""
        return self.backend.mutate(
            'add_vlan', network_id=network_id, vlan_id=vlan_id, name=name, subnet=subnet, appliance_ip=appliance_ip
        )

    # Webhooks.

    def send_webhook(self, url, shared_secret, alert_type_id='settings_changed', network_id=None, device_serial=None,
                     organization_id=None, alert_data=None, timeout=10):
        """POST one alert to ``url`` as Meraki's webhooks do; returns a WebhookDelivery (status, body).

        The body follows Meraki's default "Meraki" payload template, ``sharedSecret`` included; the network and
        organization follow from the device, the organization from the network, when not given.
        """
        payload = alert_payload(self.dashboard, shared_secret, alert_type_id, organization_id=organization_id,
                                network_id=network_id, device_serial=device_serial, alert_data=alert_data)
        return post_webhook(url, payload, timeout=timeout)
