"""The control API under /_sim/: counts, faults, keys, settings and mutations over HTTP (no auth, no limits)."""

import json
import re
from urllib.parse import urlsplit

from .app import json_response

__all__ = ('handle',)

PREFIX = '/_sim'


def _snake(name):
    return re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()


def _arguments(body):
    data = json.loads(body or b'{}')
    if not isinstance(data, dict):
        raise ValueError('The body must be a JSON object')
    return {_snake(key): value for key, value in data.items()}


def handle(backend, method, target, body):
    """Answer a control API request."""
    path = urlsplit(target).path.rstrip('/')
    try:
        return _dispatch(backend, method, path, body)
    except LookupError as error:
        return json_response(404, {'errors': [str(error).strip("'")]})
    except (ValueError, TypeError) as error:
        return json_response(400, {'errors': [str(error)]})


def _dispatch(backend, method, path, body):
    if (method, path) == ('GET', f'{PREFIX}/counts'):
        counts, counts_429 = backend.counts(), backend.counts_429()
        return json_response(
            200,
            {
                'counts': counts,
                'total': sum(counts.values()),
                'counts429': counts_429,
                'total429': sum(counts_429.values()),
            },
        )
    if (method, path) == ('POST', f'{PREFIX}/counts/reset'):
        backend.reset_counts()
        return json_response(200, {'reset': True})
    if (method, path) == ('GET', f'{PREFIX}/state'):
        return json_response(200, backend.state())
    if (method, path) == ('GET', f'{PREFIX}/faults'):
        return json_response(200, [fault.as_dict() for fault in backend.faults.active()])
    if (method, path) == ('POST', f'{PREFIX}/faults'):
        options = _arguments(body)
        fault = backend.faults.add(options.pop('kind', None), **options)
        return json_response(201, fault.as_dict())
    if (method, path) == ('DELETE', f'{PREFIX}/faults'):
        backend.faults.clear()
        return json_response(200, {'cleared': True})
    if method == 'DELETE' and path.startswith(f'{PREFIX}/faults/'):
        if not backend.faults.remove(int(path.rsplit('/', 1)[1])):
            raise LookupError('No such fault')
        return json_response(200, {'removed': True})
    if (method, path) == ('POST', f'{PREFIX}/keys/revoke'):
        arguments = _arguments(body)
        backend.revoke_key(arguments['key'], after=arguments.get('after'))
        return json_response(200, {'revoked': True})
    if (method, path) == ('POST', f'{PREFIX}/settings'):
        backend.configure(**_arguments(body))
        return json_response(200, backend.state())
    if method == 'POST' and (path == f'{PREFIX}/mutations' or path.startswith(f'{PREFIX}/mutations/')):
        arguments = _arguments(body)
        name = path.rsplit('/', 1)[1] if path != f'{PREFIX}/mutations' else arguments.pop('op', None)
        if path == f'{PREFIX}/mutations':
            arguments = {_snake(k): v for k, v in (arguments.pop('args', None) or {}).items()}
        return json_response(200, {'result': backend.mutate(name, **arguments)})
    return json_response(404, {'errors': [f'No control endpoint {method} {path}']})
