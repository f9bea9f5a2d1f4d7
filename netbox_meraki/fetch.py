"""
Fetch: read a Meraki organization through the official SDK into a plain Snapshot. Knows nothing of NetBox.

Every endpoint is fetched on its own: one that fails is recorded in `Snapshot.errors` and its data stays None,
so later steps can tell "Meraki says there is nothing" from "we could not ask" and never delete on the latter.
"""

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import meraki
from rq.timeouts import BaseTimeoutException

from . import __version__

__all__ = (
    'DashboardClient', 'FetchError', 'Snapshot', 'fetch_organization', 'list_organizations', 'network_reads',
)

logger = logging.getLogger('netbox_meraki.fetch')

# Meraki asks integrations to identify themselves in the User-Agent (the SDK checks the syntax).
CALLER = f'NetBoxMeraki/{__version__} netbox-meraki'
# Largest page each org-wide endpoint allows: fewer requests for the same data.
PER_PAGE = {
    'networks': 1000,
    'devices': 5000,
    'availabilities': 1000,
    'uplinks': 1000,
    'switch_ports': 50,
    'topology': 20,
    'inventory': 1000,
    'configuration_changes': 5000,
}
# Per-network calls run in parallel: latency, not bandwidth, bounds a sequential client.
NETWORK_WORKERS = 8
# What a change-driven read reuses for a network whose configuration has not changed: the per-network endpoints and
# the org-wide ones that can be asked for some networks only. Devices, their availability and their uplink addresses
# change without a configuration change (a DHCP lease, a power cut): they are read in full every time.
PER_NETWORK = ('vlans', 'single_lan', 'ssids', 'stacks')
NETWORK_SCOPED = ('switch_ports', 'topology')
# What a change-driven read may read again for a network ('vlans' stands for its addressing: VLANs or single LAN).
# LLDP/CDP is not configuration: a configuration change does not make its topology worth reading again. Switch stacks
# are configuration: Meraki logs their creation, deletion and changes.
SOURCES = ('vlans', 'ssids', 'stacks', 'switch_ports', 'topology')
CONFIGURATION_SOURCES = ('vlans', 'ssids', 'stacks', 'switch_ports')
# Stored reads of another layout are read again, not misread.
READ_FORMAT = 1
# Meraki's change log and this host's clock may disagree a little: a change logged this long before a network's
# last read counts as made after it. Reading a network once more costs a call; missing a change costs drift.
CLOCK_MARGIN = timedelta(minutes=5)
# More changed networks than this, and the network-scoped endpoints are read in full (fewer, fuller pages).
MAXIMUM_NETWORK_FILTER = 100
# A read reports its progress at most this often (seconds): a run's page needs no more, and each report is a write.
REPORT_INTERVAL = 1.0


class FetchError(Exception):
    """A Dashboard API call failed after the SDK's retries. The message never contains the API key."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status

    @property
    def key_refused(self):
        """Meraki refused the API key (wrong, or revoked): nothing more can be read with it."""
        return self.status == 401


class RateLimiter:
    """
    A token bucket shared by every thread of one client: keeps a run under its share of the org's limit. The limit
    is the organization's, shared with every other tool using it: when Meraki answers 429, every thread holds its
    requests until the Retry-After has passed (not only the one that was refused) and the rate halves; it grows back
    by one request per second for each second of answered requests, up to the share.
    """

    def __init__(self, rate):
        self.share = self.rate = float(rate)
        self.tokens = self.rate
        self.updated = time.monotonic()
        self.paused_until = 0.0
        self.waited = 0.0  # seconds requests were held back for 429s
        self.lock = threading.Lock()

    def acquire(self):
        with self.lock:
            now = time.monotonic()
            start = max(now, self.paused_until)
            self.tokens = min(self.rate, self.tokens + max(0.0, start - self.updated) * self.rate)
            self.updated = start
            self.tokens -= 1
            wait = start - now + (-self.tokens / self.rate if self.tokens < 0 else 0)
        if wait > 0:
            time.sleep(wait)

    def refused(self, retry_after):
        """Meraki answered 429: pause every thread for `retry_after` seconds, and halve the rate."""
        with self.lock:
            now = time.monotonic()
            until = now + retry_after
            if until > self.paused_until:
                self.waited += until - max(self.paused_until, now)
                self.paused_until = until
            self.rate = max(1.0, self.rate / 2)
            # No burst when the pause ends: nothing accrues while it lasts.
            self.tokens = min(self.tokens, 0.0)
            self.updated = max(self.updated, until)

    def answered(self):
        with self.lock:
            self.rate = min(self.share, self.rate + 1 / self.rate)


def retry_after_seconds(response):
    """The wait a 429 asks for: Meraki sends Retry-After in whole seconds; 1 s when it is missing or unreadable."""
    try:
        return min(60.0, max(0.0, float(response.headers.get('Retry-After', 1))))
    except ValueError:
        return 1.0


class ReadProgress:
    """
    What a read has done so far, per endpoint: pages answered of an org-wide endpoint (Meraki does not say how many
    there will be), networks done of those to read of a per-network one. The client's threads count; the thread that
    reads sends it to `report` ([[label, done, total or None, unit], ...]) while it waits for them, at most every
    REPORT_INTERVAL seconds and only when something moved: a few writes a minute, whatever the organization's size.
    """

    def __init__(self, report):
        self.report = report
        self.rows = {}  # label -> [label, done, total, unit]
        self.reading = threading.local()  # the endpoint this thread reads: its answers are its pages
        self.lock = threading.Lock()
        self.sent = None

    def start(self, label, total=None, unit='pages'):
        with self.lock:
            self.rows[label] = [label, 0, total, unit]

    def advance(self, label):
        with self.lock:
            self.rows[label][1] += 1

    def finish(self, label):
        """All of an endpoint's pages are in: their number is its total."""
        with self.lock:
            self.rows[label][2] = self.rows[label][1]

    def page_answered(self):
        label = getattr(self.reading, 'label', None)
        if label is not None:
            self.advance(label)

    def send(self):
        with self.lock:
            rows = [list(row) for row in self.rows.values()]
        if rows != self.sent:
            self.sent = rows
            self.report(rows)

    def wait(self, futures):
        """Wait for the futures, sending the progress every REPORT_INTERVAL seconds meanwhile, and once at the end."""
        pending = set(futures)
        while pending:
            _done, pending = wait(pending, timeout=REPORT_INTERVAL)
            self.send()


class DashboardClient:
    """The SDK's DashboardAPI configured for a server, counting every HTTP request it sends."""

    def __init__(self, api_key, base_url, timeout=30, retries=4, requests_per_second=8):
        if not api_key:
            raise FetchError('No Meraki API key is configured (PLUGINS_CONFIG["netbox_meraki"]["api_key"]).')
        self.calls = 0
        self.rate_limited = 0
        self._count_lock = threading.Lock()
        self._limiter = RateLimiter(requests_per_second)
        # Set for a read whose progress is reported (see ReadProgress).
        self.progress = None
        self.dashboard = meraki.DashboardAPI(
            api_key,
            base_url=base_url,
            single_request_timeout=timeout,
            maximum_retries=retries,
            wait_on_rate_limit=True,
            nginx_429_retry_wait_time=2,
            retry_4xx_error=False,
            output_log=False,
            print_console=False,
            suppress_logging=True,
            caller=CALLER,
            # Smart flow adds look-up calls and writes a cache file under $HOME: our own limiter does its job.
            smart_flow_enabled=False,
        )
        http = self.dashboard._session._client
        http.event_hooks = {'request': [self._on_request], 'response': [self._on_response]}

    def _on_request(self, request):
        self._limiter.acquire()
        with self._count_lock:
            self.calls += 1

    def _on_response(self, response):
        if response.status_code == 429:
            with self._count_lock:
                self.rate_limited += 1
            self._limiter.refused(retry_after_seconds(response))
        else:
            self._limiter.answered()
            if self.progress:
                self.progress.page_answered()

    @property
    def waited(self):
        """Seconds this client held its requests back because Meraki answered 429."""
        return self._limiter.waited

    def close(self):
        self.dashboard._session.close()


@dataclass
class Snapshot:
    """What one organization looked like, endpoint by endpoint. None means the endpoint could not be read."""

    organization: dict
    networks: list | None = None
    devices: list | None = None
    availabilities: list | None = None
    uplinks: list | None = None
    switch_ports: list | None = None
    topology: list | None = None
    inventory: list | None = None
    config_templates: list | None = None
    # Per network: appliance VLANs (networks with VLANs on), single-LAN settings (VLANs off), SSIDs.
    vlans: dict = field(default_factory=dict)
    single_lan: dict = field(default_factory=dict)
    ssids: dict = field(default_factory=dict)
    # Per network with switches: its switch stacks. None when stacks are not read (the setting is off).
    stacks: dict | None = None
    network_ids: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    # source ('vlans', 'ssids', 'stacks') -> {network id: error}: what one network's calls could not read.
    network_errors: dict = field(default_factory=dict)
    invalid: list = field(default_factory=list)
    # When the read started, and (change-driven reads) {network id: sources} read again now; None when every network
    # was read in full.
    read_at: datetime | None = None
    networks_read: dict | None = None
    # Why a change-driven read read every network after all (the change log could not be read).
    full_read_reason: str = ''

    def network_failed(self, source, network_id):
        return network_id in self.network_errors.get(source, {})

    @property
    def failed_networks(self):
        """The networks one of whose per-network calls failed."""
        return {network_id for errors in self.network_errors.values() for network_id in errors}

    def device_networks(self):
        """{serial: network id} of the devices read (none when they could not be)."""
        return {device['serial']: device.get('networkId') for device in self.devices or ()}

    def switch_networks(self):
        """The networks that have switches, as the devices read say (none when they could not be read)."""
        return {device.get('networkId') for device in self.devices or () if device.get('productType') == 'switch'}

    def reads(self, network_id, source):
        """Whether this read asks Meraki for the network's `source` (one of SOURCES), rather than reuse it."""
        return self.networks_read is None or source in self.networks_read.get(network_id, ())

    @property
    def complete(self):
        return not self.errors


def describe_error(exc):
    """A one-line reason for a failed call, safe to show and store (the SDK's messages hold no key)."""
    if isinstance(exc, meraki.APIError):
        message = exc.message
        if isinstance(message, dict) and message.get('errors'):
            message = '; '.join(str(item) for item in message['errors'])
        return f'HTTP {exc.status} {exc.reason}: {message}'.strip().rstrip(':')
    return f'{type(exc).__name__}: {exc}'


def call(description, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except BaseTimeoutException:
        raise  # the job's time limit ends the run, not this call
    except Exception as exc:
        raise FetchError(f'{description} failed: {describe_error(exc)}', getattr(exc, 'status', None)) from None


def refuse_on_key_error(failures, organization_id):
    """A refused key fails the whole run: every later call would fail too, and a half-read organization is useless."""
    for failure in failures:
        if failure.key_refused:
            raise FetchError(
                f'Organization {organization_id}: the Meraki API key was refused while reading it ({failure}).', 401,
            )


def list_organizations(client):
    """Every organization the API key can see."""
    return call('getOrganizations', client.dashboard.organizations.getOrganizations, total_pages='all')


# Each list endpoint with the key every item must carry: an item without it is reported, not synced.
ENDPOINTS = {
    'networks': ('getOrganizationNetworks', 'id'),
    'devices': ('getOrganizationDevices', 'serial'),
    'availabilities': ('getOrganizationDevicesAvailabilities', 'serial'),
    'uplinks': ('getOrganizationDevicesUplinksAddressesByDevice', 'serial'),
    'switch_ports': ('getOrganizationSwitchPortsBySwitch', 'serial'),
    'topology': ('getOrganizationSwitchPortsTopologyDiscoveryByDevice', 'serial'),
    'inventory': ('getOrganizationInventoryDevices', 'serial'),
    'configuration_changes': ('getOrganizationConfigurationChanges', 'ts'),
    'config_templates': ('getOrganizationConfigTemplates', 'id'),
}
# What a run's page calls each endpoint while it is read (per-network ones by their source).
LABELS = {
    'networks': 'networks',
    'devices': 'devices',
    'availabilities': 'device availabilities',
    'uplinks': 'uplink addresses',
    'switch_ports': 'switch ports',
    'topology': 'LLDP/CDP topology',
    'inventory': 'inventory',
    'configuration_changes': 'configuration change log',
    'config_templates': 'configuration templates',
    'vlans': 'appliance VLANs or LAN',
    'ssids': 'SSIDs',
    'stacks': 'switch stacks',
}


def fetch_organization(client, organization_id, network_ids=None, inventory=False, previous=None, stacks=False,
                       progress=None):
    """
    Read one organization: org-wide calls for networks, configuration templates, devices, availabilities, uplink
    addresses, switch ports, LLDP/CDP neighbours (and unassigned inventory when asked), all concurrently;
    then per-network calls only where Meraki has no org-wide endpoint (appliance VLANs, SSIDs), for the
    networks whose products need them, and the switch stacks of networks with switches when `stacks` is on. Never
    per-device calls. Raises FetchError only when the organization
    itself cannot be read; any other failure is recorded in the snapshot.

    `previous` ({network id: {'read_at': datetime, 'data': what network_reads() gave}}) makes the read change-driven:
    Meraki's configuration change log says which networks changed since their last read, and only those (and networks
    without a usable previous read) are read again per network and in the network-scoped endpoints (see
    sources_to_read); for the rest, their last read is reused. Every other endpoint is read in full.

    `progress`, when given, is called with what has been read so far, endpoint by endpoint (see ReadProgress).
    """
    client.progress = ReadProgress(progress) if progress else None
    try:
        return read_organization(client, organization_id, network_ids, inventory, previous, stacks)
    finally:
        client.progress = None


def read_organization(client, organization_id, network_ids, inventory, previous, stacks):
    """fetch_organization(), once the client reports its progress or not."""
    api = client.dashboard.organizations
    switch = client.dashboard.switch
    read_at = datetime.now(UTC)
    try:
        organization = call('getOrganization', api.getOrganization, organization_id)
    except FetchError as exc:
        hint = ' Check the id, and that the API key can see this organization.' if exc.status == 404 else ''
        raise FetchError(f'Organization {organization_id} could not be read: {exc}.{hint}', exc.status) from None
    snapshot = Snapshot(
        organization=organization, network_ids=list(network_ids or []), read_at=read_at, stacks={} if stacks else None,
    )
    network_filter = {'networkIds': list(network_ids)} if network_ids else {}
    requests = {
        'networks': (api.getOrganizationNetworks, {}),
        # One call for the whole organization, read every time: templates are renamed without a network changing.
        'config_templates': (api.getOrganizationConfigTemplates, {}),
        'devices': (api.getOrganizationDevices, network_filter),
        'availabilities': (api.getOrganizationDevicesAvailabilities, network_filter),
        'uplinks': (api.getOrganizationDevicesUplinksAddressesByDevice, network_filter),
        'switch_ports': (switch.getOrganizationSwitchPortsBySwitch, network_filter),
        'topology': (switch.getOrganizationSwitchPortsTopologyDiscoveryByDevice, network_filter),
    }
    if inventory:
        requests['inventory'] = (api.getOrganizationInventoryDevices, {'usedState': 'unused'})
    previous = {
        network_id: entry for network_id, entry in (previous or {}).items()
        if entry.get('data', {}).get('format') == READ_FORMAT
    }
    if previous and not network_ids:
        # The network-scoped endpoints wait until the change log has said which networks to read.
        scoped = {name: requests.pop(name) for name in NETWORK_SCOPED}
        since = min(entry['read_at'] for entry in previous.values()) - CLOCK_MARGIN
        requests['configuration_changes'] = (
            api.getOrganizationConfigurationChanges, {'t0': since.strftime('%Y-%m-%dT%H:%M:%SZ')},
        )
    else:
        scoped = None

    def fetch(name, **extra):
        function, filters = requests[name] if name in requests else scoped[name]
        operation, key = ENDPOINTS[name]
        # The configuration templates come in one answer: the endpoint is not paginated.
        paging = {'total_pages': 'all', 'perPage': PER_PAGE[name]} if name in PER_PAGE else {}
        with reading(client.progress, LABELS[name]):
            items = call(operation, function, organization_id, **paging, **filters, **extra)
        if isinstance(items, dict) and isinstance(items.get('items'), list):
            items = items['items']  # the newer endpoints answer {"items": [...], "meta": {...}}
        if not isinstance(items, list):
            raise FetchError(f'{operation} answered {type(items).__name__}, not a list')
        valid = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get(key), str) and item[key]:
                valid.append(item)
            else:
                snapshot.invalid.append(f'{operation}: item without {key}: {str(item)[:100]}')
        return valid

    failures = []
    changes = None
    with ThreadPoolExecutor(max_workers=len(requests), thread_name_prefix='meraki-fetch') as pool:
        futures = {name: pool.submit(fetch, name) for name in requests}
        if client.progress:
            client.progress.wait(futures.values())
        for name, future in futures.items():
            try:
                result = future.result()
            except FetchError as exc:
                if name == 'configuration_changes':
                    snapshot.full_read_reason = f'the configuration change log could not be read ({exc})'
                else:
                    snapshot.errors[name] = str(exc)
                failures.append(exc)
                continue
            if name == 'configuration_changes':
                changes = result
            else:
                setattr(snapshot, name, result)
    refuse_on_key_error(failures, organization_id)

    if snapshot.networks is not None and network_ids:
        wanted = set(network_ids)
        snapshot.networks = [network for network in snapshot.networks if network['id'] in wanted]
    stored = {}
    if scoped is not None:
        if snapshot.networks is not None and snapshot.devices is not None and changes is not None:
            snapshot.networks_read = sources_to_read(snapshot.networks, snapshot.devices, previous, changes)
            if stacks:
                # Stacks not stored yet (the setting was off when the network was read): read them once, and store them.
                for network_id in sorted(snapshot.switch_networks() & set(previous)):
                    if 'stacks' not in previous[network_id]['data']:
                        snapshot.networks_read.setdefault(network_id, set()).add('stacks')
            stored = {network_id: entry['data'] for network_id, entry in previous.items()}
        read_network_scoped(snapshot, fetch, scoped, stored)
        if client.progress:
            client.progress.send()
    if snapshot.networks is not None:
        fetch_networks(client, snapshot, stored)
    return snapshot


@contextmanager
def reading(progress, label):
    """While this thread reads one org-wide endpoint, the pages answered are that endpoint's."""
    if progress is None:
        yield
        return
    progress.start(label)
    progress.reading.label = label
    try:
        yield
    finally:
        progress.reading.label = None
        progress.finish(label)


def sources_to_read(networks, devices, previous, changes):
    """
    {network id: sources to read again} for the networks a change-driven read reads again:
    - every source of a network without a previous read, or whose devices are not the ones it had then (a device
      added, removed or moved: what its switches see over LLDP and CDP changes too);
    - the configuration sources of a network with a configuration change logged since its read, in the network or in
      the configuration template it is bound to; only its SSIDs when every such change names an SSID.
    """
    logged = {}  # network or template id -> [(moment, names an SSID)]
    for change in changes:
        try:
            moment = datetime.fromisoformat(change['ts'].replace('Z', '+00:00'))
        except ValueError:
            moment = datetime.max.replace(tzinfo=UTC)  # an unreadable time counts as recent
        if change.get('networkId'):
            logged.setdefault(change['networkId'], []).append((moment, change.get('ssidNumber') is not None))
    members = {}
    for device in devices:
        members.setdefault(device.get('networkId'), set()).add(device['serial'])
    to_read = {}
    for network in networks:
        entry = previous.get(network['id'])
        if entry is None or set(entry['data'].get('devices', ())) != members.get(network['id'], set()):
            to_read[network['id']] = set(SOURCES)
            continue
        since = entry['read_at'] - CLOCK_MARGIN
        recent = [
            ssid for key in (network['id'], network.get('configTemplateId')) if key
            for moment, ssid in logged.get(key, ()) if moment >= since
        ]
        if recent:
            to_read[network['id']] = {'ssids'} if all(recent) else set(CONFIGURATION_SOURCES)
    return to_read


def read_network_scoped(snapshot, fetch, scoped, stored):
    """
    Switch ports and LLDP/CDP topology of a change-driven read: asked for the networks that need them read again, and
    taken from `stored` ({network id: stored read}) for the others. A stored entry counts only for a device still in
    the network it was read in (a network whose devices changed is read again).
    """
    if snapshot.devices is None:
        for name in scoped:
            snapshot.errors[name] = f'{ENDPOINTS[name][0]} was not read: the devices could not be'
        return
    device_network = snapshot.device_networks()
    for name in scoped:
        # None: the change log could not be read, and every network is read (nothing stored is used).
        wanted = None if snapshot.networks_read is None else {
            network_id for network_id, sources in snapshot.networks_read.items() if name in sources
        }
        try:
            if wanted is None or len(wanted) > MAXIMUM_NETWORK_FILTER:
                fresh = fetch(name)
            elif wanted:
                fresh = fetch(name, networkIds=sorted(wanted))
            else:
                fresh = []
        except FetchError as exc:
            snapshot.errors[name] = str(exc)
            continue
        seen = {entry['serial'] for entry in fresh}
        kept = [
            entry for network_id, data in stored.items() if network_id not in (wanted or ())
            for entry in data.get(name, [])
            if device_network.get(entry['serial']) == network_id and entry['serial'] not in seen
        ]
        setattr(snapshot, name, fresh + kept)


def network_reads(snapshot):
    """
    What to store of this read for the next change-driven one: {network id: data} for each network read now (what was
    read again, and what was reused of it), unless one of its calls failed. The other networks keep their stored read.
    """
    if snapshot.networks is None or snapshot.devices is None or any(
        snapshot.errors.get(name) for name in NETWORK_SCOPED
    ):
        return {}
    device_network = snapshot.device_networks()
    failed = snapshot.failed_networks
    reads = {
        network['id']: {'format': READ_FORMAT, 'devices': [], **{source: [] for source in NETWORK_SCOPED}}
        for network in snapshot.networks
        if network['id'] not in failed and (snapshot.networks_read is None or network['id'] in snapshot.networks_read)
    }
    # Each network's devices, and its devices' entries in each network-scoped endpoint.
    for serial in sorted(device_network):
        if device_network[serial] in reads:
            reads[device_network[serial]]['devices'].append(serial)
    for source in NETWORK_SCOPED:
        for entry in getattr(snapshot, source):
            if device_network.get(entry['serial']) in reads:
                reads[device_network[entry['serial']]][source].append(entry)
    for network_id, data in reads.items():
        for source in PER_NETWORK:
            if network_id in (getattr(snapshot, source) or {}):
                data[source] = getattr(snapshot, source)[network_id]
    return reads


def fetch_networks(client, snapshot, stored=None):
    """
    Appliance VLANs (or the single LAN), SSIDs and switch stacks (when asked for), per network, in parallel within the
    rate limit; what `stored` ({network id: stored read}) holds of a network this read does not read again.
    """
    stored = stored or {}
    appliance, wireless, switch = client.dashboard.appliance, client.dashboard.wireless, client.dashboard.switch
    # Stacks only where there are switches to stack: a network that may hold switches but has none costs no call.
    switch_networks = snapshot.switch_networks()

    def addressing(network_id):
        if 'single_lan' not in stored.get(network_id, {}):
            try:
                return 'vlans', appliance.getNetworkApplianceVlans(network_id)
            except meraki.APIError as exc:
                failure = FetchError(
                    f'getNetworkApplianceVlans of {network_id} failed: {describe_error(exc)}', exc.status,
                )
                if exc.status != 400:
                    raise failure from None
        else:
            failure = None  # last read, it ran a single LAN: its settings say whether it still does
        # Meraki answers 400 when the network runs a single LAN instead of VLANs, but also for other reasons: its
        # VLAN settings say which, by value (the error's wording is not part of the API).
        settings = call(
            f'getNetworkApplianceVlansSettings of {network_id}', appliance.getNetworkApplianceVlansSettings, network_id,
        )
        if failure is None and isinstance(settings, dict) and settings.get('vlansEnabled') is True:
            return 'vlans', call(
                f'getNetworkApplianceVlans of {network_id}', appliance.getNetworkApplianceVlans, network_id,
            )
        if not isinstance(settings, dict) or settings.get('vlansEnabled') is not False:
            raise failure or FetchError(f'getNetworkApplianceVlansSettings of {network_id} answered {settings!r:.100}')
        return 'single_lan', call(
            f'getNetworkApplianceSingleLan of {network_id}', appliance.getNetworkApplianceSingleLan, network_id,
        )

    def ssids(network_id):
        return 'ssids', call(f'getNetworkWirelessSsids of {network_id}', wireless.getNetworkWirelessSsids, network_id)

    def stacks(network_id):
        return 'stacks', call(f'getNetworkSwitchStacks of {network_id}', switch.getNetworkSwitchStacks, network_id)

    per_network = [
        ('appliance', 'vlans', addressing, ('vlans', 'single_lan')),
        ('wireless', 'ssids', ssids, ('ssids',)),
    ]
    if snapshot.stacks is not None:
        per_network.append(('switch', 'stacks', stacks, ('stacks',)))

    tasks = []
    for network in snapshot.networks:
        network_id, products = network['id'], network.get('productTypes') or []
        kept = stored.get(network_id, {})
        for product, source, task, kinds in per_network:
            if product not in products or (source == 'stacks' and network_id not in switch_networks):
                continue
            if not snapshot.reads(network_id, source) and any(kind in kept for kind in kinds):
                for kind in kinds:
                    if kind in kept:
                        getattr(snapshot, kind)[network_id] = kept[kind]
            else:
                tasks.append((source, network_id, task))
    progress = client.progress
    if progress:
        for source, number in Counter(source for source, _network_id, _task in tasks).items():
            progress.start(LABELS[source], total=number, unit='networks')

    def read(source, network_id, task):
        try:
            return task(network_id)
        finally:
            if progress:
                progress.advance(LABELS[source])

    failures = []
    with ThreadPoolExecutor(max_workers=NETWORK_WORKERS, thread_name_prefix='meraki-network') as pool:
        futures = [(source, network_id, pool.submit(read, source, network_id, task))
                   for source, network_id, task in tasks]
        if progress:
            progress.wait(future for _source, _network_id, future in futures)
        for source, network_id, future in futures:
            try:
                kind, data = future.result()
            except FetchError as exc:
                snapshot.network_errors.setdefault(source, {})[network_id] = str(exc)
                failures.append(exc)
                continue
            expected = dict if kind == 'single_lan' else list
            if not isinstance(data, expected):
                snapshot.network_errors.setdefault(source, {})[network_id] = (
                    f'{kind} of {network_id}: answered {type(data).__name__}, not a {expected.__name__}'
                )
                continue
            getattr(snapshot, kind)[network_id] = data
    refuse_on_key_error(failures, snapshot.organization.get('id', ''))
