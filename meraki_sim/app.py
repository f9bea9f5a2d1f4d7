"""The simulator's request handling, independent of the HTTP server: auth, limits, faults, counts, answers."""

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import ApiError, not_found
from .faults import FaultSet
from .mutations import MUTATIONS
from .pagination import Listing, paginate
from .ratelimit import RateLimiter
from .routes import match_route
from .views import Filters

__all__ = ('API_PREFIX', 'Backend', 'Response')

API_PREFIX = '/api/v1'
JSON_TYPE = 'application/json; charset=utf-8'


@dataclass
class Response:
    """An answer for the HTTP layer: status, body and headers, plus how to misbehave while sending it."""

    status: int
    body: bytes = b''
    headers: list = field(default_factory=list)
    delay: float = 0.0  # seconds to wait before answering
    truncate: bool = False  # send half the body, then close the connection


def json_response(status, body, headers=()):
    """A JSON response."""
    return Response(status, json.dumps(body).encode(), [('Content-Type', JSON_TYPE), *headers])


def error_response(error):
    """The response for an ApiError."""
    return json_response(error.status, error.body)


def _emptied(body):
    """A body with its data left out, for the empty_list fault."""
    if isinstance(body, list):
        return []
    if isinstance(body, dict):
        return {
            key: type(value)() if key in ('items', 'nodes', 'links', 'ports') else value for key, value in body.items()
        }
    return body


class Backend:
    """Answers Dashboard API requests from a Dashboard, and holds the simulator's run-time settings.

    ``api_keys`` maps each valid key to the organization ids it may see, or None for all of them.
    """

    def __init__(self, dashboard, api_keys, rate_limit=10, burst=None, ip_rate_limit=None, latency_ms=0):
        self.dashboard = dashboard
        self.api_keys = dict(api_keys)
        self.revoked = set()
        self.revoke_after = {}  # key -> requests it may still make before it is revoked
        if ip_rate_limit is None:
            ip_rate_limit = 100 if rate_limit else 0
        self.limiter = RateLimiter(rate_limit, burst, ip_rate_limit)
        self.faults = FaultSet()
        self.latency_ms = latency_ms
        self.stopping = threading.Event()  # wakes requests held by the timeout fault when the server stops
        self._counts = Counter()
        self._counts_429 = Counter()
        self._counts_lock = threading.Lock()

    # Run-time control, shared by the Python API and the control API.

    def counts(self):
        """Requests per endpoint, 429s included."""
        with self._counts_lock:
            return dict(self._counts)

    def counts_429(self):
        """429 answers per endpoint."""
        with self._counts_lock:
            return dict(self._counts_429)

    def reset_counts(self):
        """Start counting from zero."""
        with self._counts_lock:
            self._counts.clear()
            self._counts_429.clear()

    def configure(self, rate_limit=None, burst=None, ip_rate_limit=None, latency_ms=None):
        """Change the rate limits or the latency while running; None leaves a setting as it is."""
        if (rate_limit, burst, ip_rate_limit) != (None, None, None):
            if rate_limit is None:
                rate_limit = self.limiter.rate
                burst = self.limiter.burst if burst is None else burst
            self.limiter.configure(rate_limit, burst, ip_rate_limit)
        if latency_ms is not None:
            self.latency_ms = latency_ms

    def revoke_key(self, key, after=None):
        """Make a key invalid from now on, or once it has made `after` more requests (a key revoked mid-run)."""
        with self._counts_lock:
            if after:
                self.revoke_after[key] = int(after)
            else:
                self.revoked.add(key)

    def _spend_key(self, key):
        """Count one request of a key due to be revoked; revoke it when its requests are used up."""
        with self._counts_lock:
            if key in self.revoke_after:
                self.revoke_after[key] -= 1
                if self.revoke_after[key] < 0:
                    del self.revoke_after[key]
                    self.revoked.add(key)

    def mutate(self, operation, /, **arguments):
        """Apply a mutation by name (see mutations.MUTATIONS)."""
        try:
            mutation = MUTATIONS[operation]
        except KeyError:
            raise LookupError(f'Unknown mutation {operation!r}') from None
        with self.dashboard.lock:
            return mutation(self.dashboard, **arguments)

    def state(self):
        """A summary of the data and settings."""
        with self.dashboard.lock:
            orgs = [
                {
                    'id': org.id,
                    'name': org.organization['name'],
                    'networks': len(org.networks),
                    'devices': len(org.devices),
                    'inventory': len(org.inventory),
                    'links': len(org.links),
                    'version': org.version,
                }
                for org in self.dashboard.orgs.values()
            ]
        scale = self.dashboard.scale
        return {
            'seed': self.dashboard.seed,
            'scale': {
                'organizations': scale.organizations,
                'networks': scale.networks_per_org,
                'devices': scale.devices,
            },
            'organizations': orgs,
            'rateLimit': self.limiter.rate,
            'burst': self.limiter.burst,
            'ipRateLimit': self.limiter.ip_rate,
            'latencyMs': self.latency_ms,
            'faults': [fault.as_dict() for fault in self.faults.active()],
            'revokedKeys': len(self.revoked),
        }

    # Requests.

    def handle(self, method, target, headers, client_ip='127.0.0.1'):
        """Answer one Dashboard API request; ``target`` is the path with its query string."""
        url = urlsplit(target)
        path = unquote(url.path)
        if path != API_PREFIX and not path.startswith(API_PREFIX + '/'):
            return error_response(not_found())
        path = path[len(API_PREFIX) :] or '/'
        route, found = match_route(path)
        endpoint = f'{method} {route.template if route else found}'
        if method != 'GET':
            route = None  # the simulator serves reads only
        with self._counts_lock:
            self._counts[endpoint] += 1
        params = parse_qs(url.query, keep_blank_values=True)
        response = self._answer(route, found, path, params, headers, client_ip, endpoint)
        if response.status == 429:
            with self._counts_lock:
                self._counts_429[endpoint] += 1
        response.delay += self.latency_ms / 1000
        return response

    def _key(self, headers):
        authorization = headers.get('Authorization') or ''
        if authorization.startswith('Bearer '):
            return authorization[len('Bearer ') :].strip()
        return headers.get('X-Cisco-Meraki-API-Key')

    def _scope(self, route, args, visible):
        """The organization a request is about, and the networks it concerns; 404 if not visible."""
        dashboard = self.dashboard
        with dashboard.lock:
            if 'organizationId' in args:
                org = dashboard.orgs.get(args['organizationId'])
                networks = set()
            elif 'networkId' in args:
                org = dashboard.org_of_network(args['networkId'])
                networks = {args['networkId']}
            elif 'serial' in args:
                org = dashboard.org_of_device(args['serial'])
                device = org.devices.get(args['serial']) if org else None
                org = org if device else None
                networks = {device['networkId']} if device else set()
            else:
                return None, set()
        if org is None or (visible is not None and org.id not in visible):
            raise not_found()
        return org, networks

    def _answer(self, route, args, path, params, headers, client_ip, endpoint):
        key = self._key(headers)
        self._spend_key(key)
        if key is None or key not in self.api_keys or key in self.revoked:
            return json_response(401, {'errors': ['Invalid API key']})
        if route is None:
            return error_response(not_found())
        visible = self.api_keys[key]
        try:
            org, networks = self._scope(route, args, visible)
        except ApiError as error:
            return error_response(error)
        filters = Filters(params)
        networks = networks or filters.many('networkIds') or set()
        refusal = self._limit(org, networks, endpoint, client_ip)
        if refusal:
            return refusal
        hang = self.faults.trigger(('timeout',), endpoint, networks)
        failure = self.faults.trigger(('server_error', 'network_error'), endpoint, networks)
        if failure:
            message = failure.message or ('Internal server error' if failure.status >= 500 else 'Injected error')
            response = json_response(failure.status, {'errors': [message]})
        else:
            request = SimpleNamespace(dashboard=self.dashboard, org=org, args=args, filters=filters, visible=visible)
            response = self._respond(route, request, params, path, endpoint, networks)
        if hang:
            response.delay = hang.seconds
        return response

    def _limit(self, org, networks, endpoint, client_ip):
        """A 429 response if a storm or the rate limits refuse the request, else None."""
        storm = self.faults.trigger(('rate_limit_storm',), endpoint, networks)
        if storm:
            retry_after, message = storm.retry_after, 'API rate limit exceeded for organization'
        else:
            limited = self.limiter.check(org.id if org else None, client_ip)
            if not limited:
                return None
            retry_after, message = limited
        return json_response(429, {'errors': [message]}, [('Retry-After', str(retry_after))])

    def _respond(self, route, request, params, path, endpoint, networks):
        """The endpoint's answer, with the data faults applied."""
        headers = []
        with self.dashboard.lock:
            try:
                result = route.answer(request)
                if isinstance(result, Listing):
                    if self.faults.trigger(('empty_list',), endpoint, ()):
                        result = Listing([])
                    hidden = self.faults.scoped_empty(endpoint)
                    if hidden:
                        result = Listing([entry for entry in result.entries if entry[2] not in hidden], result.build)
                    drop_next = self.faults.trigger(('missing_link',), endpoint, networks) is not None
                    body, link = paginate(result, route.paging, params, path, drop_next)
                    headers.append(('Link', link))
                else:
                    body = result
                    if self.faults.trigger(('empty_list',), endpoint, networks):
                        body = _emptied(body)
            except ApiError as error:
                return error_response(error)
            # Serialised under the lock, so a concurrent mutation cannot change the data half-way.
            response = json_response(200, body, headers)
        if self.faults.trigger(('malformed_json',), endpoint, networks):
            # Valid JSON up to the end, then a stray comma: no JSON parser accepts it.
            response.body = response.body[:-1] + b',' + response.body[-1:]
        if self.faults.trigger(('truncated',), endpoint, networks):
            response.truncate = True
        return response
